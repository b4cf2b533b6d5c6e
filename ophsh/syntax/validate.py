"""Check a parsed request against its operator's specification before anything runs."""

from __future__ import annotations

from ophsh.errors import UnknownCommandError, ValidationError
from ophsh.request import TaskRequest
from ophsh.spec import OperatorSpec, ParamSpec, Specs, closest
from ophsh.syntax.parse import is_group, parse_arguments, split_values

__all__ = [
    "MASSIVE_KINDS",
    "check_value",
    "missing_mandatory",
    "resolve_operator",
    "validate",
]

# Parameters whose value may be a bracket filter that selects many cubes or files.
MASSIVE_KINDS = frozenset({"cube", "file"})


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
    request: TaskRequest, specs: Specs, *, strict: bool = True, complete: bool = True
) -> tuple[TaskRequest, list[str]]:
    """Check names and values; return the canonical request and warnings for ignored names.

    ``strict`` (the shell, scripts, workflow files) rejects unknown parameters with a
    suggestion; otherwise (requests from other clients through ``ophsh serve``) they are
    dropped with a warning, as Ophidia ignores them. ``complete`` also requires every mandatory
    parameter (off while a workflow task may still receive them from its dependencies).
    """
    spec = resolve_operator(request.operator, specs)
    seen: set[str] = set()
    args: list[tuple[str, str]] = []
    warnings: list[str] = []
    for raw_key, value in request.arguments:
        key = raw_key.lower()
        if key in seen:
            raise ValidationError(f"{key} is given twice", operator=spec.name, param=key)
        seen.add(key)
        if key in specs.reserved:
            raise ValidationError(
                f"{key} is set by the server and cannot be given", operator=spec.name, param=key
            )
        param = spec.param(key)
        if param is None:
            if strict:
                raise _unknown_param(spec, key)
            warnings.append(f"{spec.name} ignores unknown parameter '{raw_key}'")
            continue
        if value == "":
            continue  # an empty value means "not given": `ll` sends path=;
        check_value(spec, param, value, specs)
        args.append((key, value))
    checked = TaskRequest(spec.name, tuple(args), request.command)
    if complete:
        missing = missing_mandatory(spec, checked)
        if missing:
            name = missing[0].name
            raise ValidationError(f"{spec.name} needs {name}=", operator=spec.name, param=name)
    return checked, warnings


def missing_mandatory(spec: OperatorSpec, request: TaskRequest) -> list[ParamSpec]:
    return [p for p in spec.params if p.mandatory and not request.has(p.name)]


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
    for raw_key, value in parse_arguments(body):
        key = raw_key.lower()
        fparam = massive.param(key)
        if fparam is None or fparam.is_system:
            guess = closest(key, [p.name for p in massive.params if not p.is_system])
            raise ValidationError(
                f"'{key}' is not a filter of {param.name}=[...]",
                operator=spec.name,
                param=param.name,
                hint=f"did you mean {guess}?" if guess else None,
            )
        if value:
            check_value(massive, fparam, value.lstrip("!"), specs)
