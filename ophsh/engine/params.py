"""Typed access to an operator call's arguments, with Ophidia's defaults applied."""

from __future__ import annotations

from ophsh.errors import ValidationError
from ophsh.request import TaskRequest
from ophsh.spec import OperatorSpec
from ophsh.syntax import split_values

__all__ = ["NONE_VALUES", "Params"]

# Defaults Ophidia uses to mean "not given".
NONE_VALUES = frozenset({"-", "null", "none", "default", "auto", ""})


class Params:
    """The arguments of one request, read through the operator's specification."""

    def __init__(self, spec: OperatorSpec, request: TaskRequest) -> None:
        self.spec = spec
        self.call = request

    def given(self, name: str) -> bool:
        return self.call.has(name)

    def str(self, name: str) -> str:
        """The value as given, else the declared default ("" when there is none)."""
        value = self.call.get(name)
        if value is not None:
            return value
        param = self.spec.param(name)
        if param is None:
            raise KeyError(f"{self.spec.name} has no parameter {name}")
        return param.default or ""

    def opt(self, name: str) -> str | None:
        """The value, or None when it is absent or one of Ophidia's "nothing" defaults."""
        value = self.str(name)
        return None if value.strip().lower() in NONE_VALUES else value

    def list(self, name: str) -> list[str]:
        value = self.str(name)
        return [v for v in split_values(value)] if value else []

    def int(self, name: str) -> int:
        return int(self._number(name))

    def real(self, name: str) -> float:
        return float(self._number(name))

    def _number(self, name: str) -> float:
        param = self.spec.param(name)
        text = self.str(name)
        try:
            number = float(text) if param and param.type == "real" else int(text)
        except ValueError:
            raise ValidationError(f"{name} must be a number, not '{text}'", param=name) from None
        if param and param.minvalue not in (None, "") and param.minvalue == param.maxvalue:
            return float(param.minvalue)  # Ophidia forces such parameters to their only value
        return number

    def yes(self, name: str) -> bool:
        return self.str(name).strip().lower() == "yes"
