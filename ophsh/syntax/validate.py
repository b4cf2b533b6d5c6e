"""Check a parsed request against its operator's specification before anything runs."""

from __future__ import annotations

from dataclasses import dataclass

from ophsh.errors import UnknownCommandError, ValidationError
from ophsh.spec import OperatorSpec, ParamSpec, Specs, closest
from ophsh.syntax.parse import Request, is_group, parse_arguments, split_values

__all__ = [
    "MASSIVE_KINDS",
    "OperatorCall",
    "check_value",
    "missing_mandatory",
    "resolve_operator",
    "validate",
]

# Parameters whose value may be a bracket filter that selects many cubes or files.
MASSIVE_KINDS = frozenset({"cube", "file"})


@dataclass(frozen=True)
class OperatorCall:
    """A validated operator call: canonical name and ``key=value`` pairs in the order given."""

    operator: str
    args: tuple[tuple[str, str], ...]
    text: str = ""

    def get(self, key: str, default: str | None = None) -> str | None:
        for k, v in self.args:
            if k == key:
                return v
        return default

    def has(self, key: str) -> bool:
        return any(k == key for k, _ in self.args)

    def with_arg(self, key: str, value: str) -> OperatorCall:
        """A copy with ``key`` set (replaced in place, or appended)."""
        if self.has(key):
            args = tuple((k, value if k == key else v) for k, v in self.args)
        else:
            args = (*self.args, (key, value))
        return OperatorCall(self.operator, args, self.text)

    def to_line(self) -> str:
        body = ";".join(f"{k}={v}" for k, v in self.args)
        return f"{self.operator} {body};" if body else self.operator


def resolve_operator(word: str, specs: Specs) -> OperatorSpec:
    """The operator named by ``word`` (``oph_`` optional), or an error with a suggestion."""
    spec = specs.operator(word)
    if spec is not None:
        return spec
    names = list(specs.operators)
    guess = closest(word.lower(), names) or closest("oph_" + word.lower(), names)
    hint = f"did you mean {guess}?" if guess else "type help for the list of commands"
    raise UnknownCommandError(f"unknown command or operator '{word}'", hint=hint)


def validate(
    request: Request, specs: Specs, *, strict: bool = True
) -> tuple[OperatorCall, list[str]]:
    """Check names and values; return the call and the warnings for ignored parameters.

    ``strict`` (the shell, scripts) rejects unknown parameters with a suggestion; otherwise
    (requests from other clients through ``ophsh serve``) they are dropped with a warning, as
    Ophidia ignores them.
    """
    spec = resolve_operator(request.operator, specs)
    seen: set[str] = set()
    args: list[tuple[str, str]] = []
    warnings: list[str] = []
    for arg in request.arguments:
        key = arg.key.lower()
        if key in seen:
            raise ValidationError(f"{key} is given twice", operator=spec.name, param=key)
        seen.add(key)
        param = spec.param(key)
        if param is None:
            if strict:
                raise _unknown_param(spec, key)
            warnings.append(f"{spec.name} ignores unknown parameter '{arg.key}'")
            continue
        if arg.value == "":
            continue  # an empty value means "not given": `ll` sends path=;
        check_value(spec, param, arg.value, specs)
        args.append((key, arg.value))
    return OperatorCall(spec.name, tuple(args), request.text), warnings


def missing_mandatory(spec: OperatorSpec, call: OperatorCall) -> list[ParamSpec]:
    return [p for p in spec.params if p.mandatory and not call.has(p.name)]


def _unknown_param(spec: OperatorSpec, key: str) -> ValidationError:
    guess = closest(key, [p for p in spec.param_names]) or closest(
        key.replace(" ", "_"), list(spec.param_names), cutoff=0.8
    )
    hint = f"did you mean {guess}=?" if guess else f"see: man {spec.name}"
    return ValidationError(
        f"{spec.name} has no parameter '{key}'", operator=spec.name, param=key, hint=hint
    )


def check_value(spec: OperatorSpec, param: ParamSpec, value: str, specs: Specs) -> None:
    """Raise :class:`ValidationError` unless ``value`` suits ``param``."""
    if is_group(value):
        if param.kind not in MASSIVE_KINDS:
            raise ValidationError(
                f"{param.name} does not take a [filter]", operator=spec.name, param=param.name
            )
        _check_filter(spec, param, value[1:-1], specs)
        return
    items = split_values(value) if param.multivalue else [value]
    for item in items:
        if item.startswith(("@", "&")) or (param.kind in MASSIVE_KINDS and is_group(item)):
            continue  # workflow variables are checked when the workflow runs
        _check_item(spec, param, item)


def _check_item(spec: OperatorSpec, param: ParamSpec, item: str) -> None:
    where = {"operator": spec.name, "param": param.name}
    if param.type in ("int", "real") and item and item != param.default:
        # (a declared default such as missingvalue=- is how clients like PyOphidia say "none")
        try:
            number = int(item) if param.type == "int" else float(item)
        except ValueError:
            kind = "an integer" if param.type == "int" else "a number"
            raise ValidationError(f"{param.name} must be {kind}, not '{item}'", **where) from None
        if param.minvalue not in (None, "") and param.minvalue == param.maxvalue:
            return  # Ophidia forces such a parameter to its only value, whatever is given
        if param.minvalue not in (None, "") and number < float(param.minvalue):
            raise ValidationError(f"{param.name} must be at least {param.minvalue}", **where)
        if param.maxvalue not in (None, "") and number > float(param.maxvalue):
            raise ValidationError(f"{param.name} must be at most {param.maxvalue}", **where)
    if param.values and item not in param.values:
        allowed = ", ".join(param.values)
        guess = closest(item, list(param.values))
        hint = f"did you mean {guess}?" if guess else None
        raise ValidationError(
            f"{param.name}={item} is not allowed; choose one of: {allowed}", hint=hint, **where
        )


def _check_filter(spec: OperatorSpec, param: ParamSpec, body: str, specs: Specs) -> None:
    massive = specs.operators["oph_massive"]
    body = body.strip()
    if body in ("", "*", "all") or "=" not in body:
        return  # [*], [all], or a bare cube-id / path shorthand
    for arg in parse_arguments(body):
        key = arg.key.lower()
        fparam = massive.param(key)
        if fparam is None or key == "objkey_filter":
            guess = closest(key, [p for p in massive.param_names if p != "objkey_filter"])
            raise ValidationError(
                f"'{key}' is not a filter of {param.name}=[...]",
                operator=spec.name,
                param=param.name,
                hint=f"did you mean {guess}?" if guess else None,
            )
        if arg.value:
            check_value(massive, fparam, arg.value.lstrip("!"), specs)
