"""Evaluate a parsed oph_apply query on a block of rows.

Checks what a user can get wrong before anything runs: unknown primitives (with a "did you
mean"), the input/output types measure_type=manual wants, the number of arguments, and with
check_type=yes that the declared input types match the cube and the nested primitives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ophsh.engine.primitives import (
    arithmetic,
    cluster,
    filters,
    gsl,
    layout,
    rows,
    series,
    wavelet,
)
from ophsh.engine.primitives.syntax import Call, Keyword, Literal, Node, parse_query
from ophsh.errors import ValidationError
from ophsh.spec import PrimitiveSpec, closest

__all__ = ["FUNCTIONS", "REFUSED", "TYPES", "Evaluation", "combines_rows", "evaluate"]

BASE_TYPES = ("byte", "short", "int", "long", "float", "double")
TYPES = {f"oph_{t}": t for t in BASE_TYPES} | {f"oph_complex_{t}": t for t in BASE_TYPES[2:]}


def _to_bin(values) -> np.ndarray:
    try:
        return np.array([[float(v) for v in str(values).split(",") if v.strip()]])
    except ValueError:
        raise ValidationError(f"oph_to_bin: '{values}' is not a list of numbers") from None


FUNCTIONS: dict[str, Callable] = {
    **arithmetic.FUNCTIONS,
    **series.FUNCTIONS,
    **gsl.FUNCTIONS,
    **wavelet.FUNCTIONS,
    **cluster.FUNCTIONS,
    **layout.FUNCTIONS,
    **filters.FUNCTIONS,
    **rows.FUNCTIONS,
    "oph_to_bin": _to_bin,
    "oph_value_to_bin": lambda v: np.array([[float(v)]]),
    "oph_convert_d": lambda m: m[..., 0],
    "oph_convert_l": lambda m: np.trunc(m[..., 0]),
}


_RESERVED = "is reserved: Ophidia applies it to stored arrays itself, and oph_apply refuses it"
_INTERNAL = "works on row identifiers inside Ophidia's operators; oph_apply refuses it"

# Primitives that Ophidia's oph_apply turns down, and why.
REFUSED = {
    "oph_compress": _RESERVED,
    "oph_uncompress": _RESERVED,
    "oph_dump": "gives text, not an array, so oph_apply refuses it (oph_explorecube shows values)",
    "oph_id_of_subset": _INTERNAL,
    "oph_id_to_index": _INTERNAL,
    "oph_id3": _INTERNAL,
}


@dataclass(frozen=True)
class Evaluation:
    values: np.ndarray  # (*rows, width) float64
    output_type: str | None  # the outermost primitive's declared type (manual mode)


@dataclass
class _Run:
    primitives: Mapping[str, PrimitiveSpec]
    measure: np.ndarray
    dimension: np.ndarray | None
    manual: bool
    measure_type: str | None
    check_type: bool
    all_rows: bool


def evaluate(
    query: str,
    measure: np.ndarray,
    primitives: Mapping[str, PrimitiveSpec],
    *,
    manual: bool = True,
    measure_type: str | None = None,
    check_type: bool = True,
    dimension: np.ndarray | None = None,
    all_rows: bool = False,
) -> Evaluation:
    """The query's value on ``measure`` (rows along the last axis). With ``all_rows`` the
    measure holds every row of the cube, and aggregate primitives combine them into one."""
    tree = parse_query(query)
    block = np.asarray(measure, dtype=np.float64).reshape(-1, measure.shape[-1])
    rows = (1,) if all_rows else measure.shape[:-1]
    run = _Run(primitives, block, dimension, manual, measure_type, check_type, all_rows)
    with np.errstate(all="ignore"):
        value, declared = _walk(tree, run)
    if isinstance(value, str):
        raise ValidationError("query: a string is not a value of the measure")
    array = np.asarray(value)
    if np.iscomplexobj(array):
        array = np.stack([array.real, array.imag], axis=-1).reshape(*array.shape[:-1], -1)
    count = int(np.prod(rows))
    if all_rows and array.ndim > 1 and array.shape[0] != 1:
        raise ValidationError(
            "query: a query that combines rows uses measure only inside the combining primitive"
        )
    array = np.broadcast_to(array, (count, *array.shape[1:])) if array.ndim else array
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim == 0:
        array = np.full((count, 1), float(array))
    out = np.asarray(array, dtype=np.float64).reshape(*rows, array.shape[-1])
    return Evaluation(out, TYPES.get(declared) if declared else None)


def combines_rows(query: str, primitives: Mapping[str, PrimitiveSpec]) -> bool:
    """Whether the query calls an aggregate primitive (which combines all the rows into one)."""
    return _any_aggregate(parse_query(query), primitives)


def _any_aggregate(node: Node, primitives: Mapping[str, PrimitiveSpec]) -> bool:
    if not isinstance(node, Call):
        return False
    spec = primitives.get(node.name)
    if spec is not None and spec.kind == "aggregate":
        return True
    return any(_any_aggregate(arg, primitives) for arg in node.args)


def _walk(node: Node, run: _Run):
    """(value, declared output type) of one node."""
    if isinstance(node, Literal):
        return node.value, None
    if isinstance(node, Keyword):
        if node.name == "dimension":
            if run.dimension is None:
                raise ValidationError("query: dimension needs a cube with one implicit dimension")
            return run.dimension[None, :], None
        return run.measure, None
    return _call(node, run)


def _call(node: Call, run: _Run):
    spec = run.primitives.get(node.name)
    if spec is None:
        guess = closest(node.name, list(run.primitives))
        raise ValidationError(
            f"unknown primitive '{node.name}'", hint=f"did you mean {guess}?" if guess else None
        )
    if spec.kind == "aggregate" and not run.all_rows:
        raise ValidationError(f"{node.name} combines rows: oph_apply gives it every row at once")
    if node.name in REFUSED:
        raise ValidationError(f"{node.name} {REFUSED[node.name]}")
    if node.name not in FUNCTIONS:
        raise ValidationError(f"primitive {node.name} is not available in the embedded store")
    args = list(node.args)
    types = _types(node, spec, args, run)
    if types is not None:
        args = args[2:]
    if len(args) < spec.min_args or (spec.max_args >= 0 and len(args) > spec.max_args):
        most = "or more" if spec.max_args < 0 else f"to {spec.max_args}"
        raise ValidationError(
            f"{node.name} takes {spec.min_args} {most} arguments after the types, not "
            f"{len(args)}: {spec.signature}"
        )
    inputs = types[0].split("|") if types else []
    values, position = [], 0
    for arg in args:
        value, declared = _walk(arg, run)
        if isinstance(arg, (Keyword, Call)) and inputs:
            wanted = inputs[min(position, len(inputs) - 1)].strip().lower()
            position += 1
            _check(node.name, wanted, arg, declared, run)
            if wanted.startswith("oph_complex") and not np.iscomplexobj(value):
                value = _pairs_to_complex(node.name, value)
        values.append(value)
    try:
        result = FUNCTIONS[node.name](*values)
    except ValidationError as err:
        text = err.message
        message = text if text.startswith(node.name) else f"{node.name}: {text}"
        raise ValidationError(message, hint=err.hint) from None
    except (ValueError, TypeError):
        raise ValidationError(
            f"{node.name}: an argument has the wrong type: {spec.signature}"
        ) from None
    return result, (types[1].strip().lower() if types else None)


def _types(node: Call, spec: PrimitiveSpec, args: list[Node], run: _Run):
    """The (input, output) types a call starts with, checked against measure_type."""
    given = [a.value for a in args[:2] if isinstance(a, Literal) and isinstance(a.value, str)]
    typed = len(given) == 2 and all(
        all(t.strip().lower() in TYPES or not t.strip() for t in g.split("|")) for g in given
    )
    if run.manual and not typed:
        raise ValidationError(
            f"{node.name}: measure_type=manual wants the input and output types first, as in "
            f"{node.name}('oph_double','oph_double',...)",
            hint="or set measure_type=auto and leave the types out",
        )
    if not run.manual and typed:
        raise ValidationError(
            f"{node.name}: measure_type=auto leaves the types out",
            hint="drop the first two arguments or set measure_type=manual",
        )
    return tuple(given) if typed else None


def _check(name: str, wanted: str, arg: Node, declared: str | None, run: _Run) -> None:
    if not run.check_type or not wanted:
        return
    if isinstance(arg, Keyword) and arg.name == "measure" and run.measure_type:
        have = f"oph_{run.measure_type}"
        if wanted != have:
            raise ValidationError(
                f"check_type: {name} reads {wanted} but the measure is {have}",
                hint="declare the measure's type or set check_type=no",
            )
    elif isinstance(arg, Call) and declared and declared != wanted:
        raise ValidationError(
            f"check_type: {name} reads {wanted} but {arg.name} gives {declared}",
            hint="make the types agree or set check_type=no",
        )


def _pairs_to_complex(name: str, value) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.shape[-1] % 2:
        raise ValidationError(f"{name}: a complex array needs an even number of values")
    pairs = array.reshape(*array.shape[:-1], -1, 2)
    return pairs[..., 0] + 1j * pairs[..., 1]
