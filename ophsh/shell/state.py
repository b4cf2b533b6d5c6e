"""The shell's own state: variables and aliases, and how a reply updates them."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from ophsh.backend import Reply, StartState
from ophsh.errors import NotFoundError, ValidationError
from ophsh.request import Context
from ophsh.spec import Specs
from ophsh.syntax import substitute

__all__ = ["ShellState", "check_name", "parse_assignment"]

HIDDEN = frozenset({"OPH_PASSWD"})
# Not kept across restarts: the backend resumes the first four, the others are secrets.
NOT_KEPT = frozenset(
    {"OPH_SESSION_ID", "OPH_CWD", "OPH_CDD", "OPH_DATACUBE", "OPH_PASSWD", "OPH_TOKEN"}
)
log = logging.getLogger(__name__)


def check_name(name: str, what: str, reserved: frozenset[str] = frozenset()) -> None:
    """Names may not start with oph_, '/' or '.', nor be all digits (as in oph_term)."""
    if not name or not name.replace("_", "a").isalnum():
        raise ValidationError(f"'{name}' is not a valid {what} name (letters, digits and _)")
    if name.startswith(("oph_", "/", ".")) or name.isdigit():
        raise ValidationError(f"a {what} name may not start with oph_ nor be a number: '{name}'")
    if name in reserved:
        raise ValidationError(f"'{name}' is a built-in command and cannot be a {what}")


def parse_assignment(text: str) -> tuple[str, str, bool]:
    """``NAME=value`` or ``NAME:=value`` -> (name, value, expand now?). Quotes are dropped."""
    text = text.strip()
    if "=" not in text:
        raise ValidationError(f"expected NAME=value, got '{text}'")
    name, _, value = text.partition("=")
    expand = name.endswith(":")
    name = name.rstrip(":").strip()
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return name, value, expand


class ShellState:
    """Variables (predefined and user) and aliases of one shell."""

    def __init__(
        self,
        specs: Specs,
        environ: Mapping[str, str] | None = None,
        *,
        kept: Path | None = None,
    ) -> None:
        """``kept`` is the file where ``setenv``/``unsetenv`` are remembered (None: nowhere);
        what it holds comes between the defaults and the environment, which wins."""
        self.specs = specs
        self.variables: dict[str, str] = {
            name: var.default for name, var in specs.variables.items() if var.default is not None
        }
        self.aliases: dict[str, str] = {name: a.body for name, a in specs.aliases.items()}
        self.kept_path = kept
        self._kept: dict[str, str | None] = self._read_kept()
        for name, value in self._kept.items():
            if value is None:
                self.variables.pop(name, None)
            else:
                self.variables[name] = value
        self._load_environment(os.environ if environ is None else environ)

    def _read_kept(self) -> dict[str, str | None]:
        if self.kept_path is None or not self.kept_path.exists():
            return {}
        try:
            data = json.loads(self.kept_path.read_text())
        except (OSError, ValueError):
            log.warning("cannot read the kept variables in %s", self.kept_path, exc_info=True)
            return {}
        if not isinstance(data, dict):
            return {}
        return {
            k: v
            for k, v in data.items()
            if isinstance(k, str) and k not in NOT_KEPT and (v is None or isinstance(v, str))
        }

    def keep(self, name: str) -> None:
        """Remember the variable's value (or that it was removed) for the next shell."""
        if self.kept_path is None or name in NOT_KEPT:
            return
        self._kept[name] = self.variables.get(name)
        tmp = self.kept_path.with_name(self.kept_path.name + ".tmp")
        try:
            self.kept_path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(self._kept, indent=1, sort_keys=True))
            tmp.replace(self.kept_path)
        except OSError:
            log.warning("cannot keep the variables in %s", self.kept_path, exc_info=True)

    def _load_environment(self, environ: Mapping[str, str]) -> None:
        for key, value in environ.items():
            if key in self.specs.variables:
                self.variables[key] = value
            elif key.startswith("OPH_TERM_USERVAR_") and "=" in value:
                name, _, val = value.partition("=")
                self.variables[name.strip()] = val
            elif key.startswith("OPH_TERM_ALIAS_") and "=" in value:
                name, _, val = value.partition("=")
                self.aliases[name.strip()] = val

    # -- variables ------------------------------------------------------------------------
    def get(self, name: str) -> str | None:
        return self.variables.get(name)

    def require(self, name: str) -> str:
        if name not in self.variables:
            raise NotFoundError(f"variable {name} not found")
        return self.variables[name]

    def set(self, name: str, value: str) -> None:
        self.variables[name] = value

    def unset(self, name: str) -> None:
        if self.variables.pop(name, None) is None:
            raise NotFoundError(f"variable {name} not found")

    def expand(self, text: str) -> str:
        return substitute(text, self.variables.get)

    def check_size(self, text: str, what: str) -> None:
        """Refuse what is larger than OPH_REQUEST_BUFFER kB, as oph_term does."""
        setting = self.variables.get("OPH_REQUEST_BUFFER") or ""
        if not setting:
            return  # unset: no limit
        try:
            limit = int(setting)
        except ValueError:
            raise ValidationError(f"OPH_REQUEST_BUFFER={setting} is not a number of kB") from None
        if limit <= 0:
            raise ValidationError(f"OPH_REQUEST_BUFFER={setting} must be more than 0 kB")
        size = len(text.encode())
        if size > limit * 1024:
            raise ValidationError(
                f"the {what} is {size} bytes: the request buffer is too small "
                f"(OPH_REQUEST_BUFFER={limit} kB)",
                hint="setenv OPH_REQUEST_BUFFER=N with N in kB",
            )

    def context(self) -> Context:
        """Where commands run: session, folders, current cube... as the variables say now."""
        return Context.from_variables(lambda name: self.expand(self.variables.get(name) or ""))

    def listing(self) -> list[tuple[str, str]]:
        """Predefined variables in their fixed order, then user ones; the password masked."""
        out = []
        for name in self.specs.variables:
            value = self.variables.get(name, "")
            out.append((name, "***" if name in HIDDEN and value else value))
        out += [(k, v) for k, v in self.variables.items() if k not in self.specs.variables]
        return out

    # -- following the backend ------------------------------------------------------------
    def resume(self, start: StartState) -> None:
        for name, value in (
            ("OPH_SESSION_ID", start.session),
            ("OPH_CWD", start.cwd or "/"),
            ("OPH_CDD", start.cdd or "/"),
            ("OPH_DATACUBE", start.datacube),
        ):
            if value:
                self.variables[name] = value
            else:
                self.variables.pop(name, None)

    def forget_cube(self, deleted: list[str]) -> None:
        """The current cube is no longer current once it is deleted."""
        if self.variables.get("OPH_DATACUBE") in deleted:
            self.variables.pop("OPH_DATACUBE")

    def follow(self, reply: Reply, *, massive: bool) -> None:
        """Update session, cwd, cdd and the current cube from a reply, as oph_term does."""
        session = reply.session
        if session:
            if session != self.variables.get("OPH_SESSION_ID"):
                self.variables["OPH_CWD"] = "/"
            self.variables["OPH_SESSION_ID"] = session
        doc = reply.document
        if doc is None:
            return
        if massive:
            self.variables.pop("OPH_DATACUBE", None)
        elif doc.output_cube:
            self.variables["OPH_DATACUBE"] = doc.output_cube
        if doc.cwd:
            self.variables["OPH_CWD"] = doc.cwd
        if doc.cdd:
            self.variables["OPH_CDD"] = doc.cdd
        token = doc.extra.get("access_token")
        if token:
            self.variables["OPH_TOKEN"] = token
