"""oph_apply: a primitive expression evaluated on every row's array.

The query is parsed, never executed: a small evaluator walks the expression and knows a
documented subset of Ophidia's primitives (see PRIMITIVES). ``measure`` is the row's array. With
``measure_type=manual`` each primitive starts with its input and output types
(``oph_sum_scalar('oph_double','oph_double',measure,-100)``); with ``auto`` they are left out.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable

import numpy as np

from ophsh.engine.ast_lock import AST_LOCK
from ophsh.engine.context import OpContext
from ophsh.engine.kernels import reduce_last
from ophsh.engine.model import MEASURE_DTYPES, Cube, dtype_of
from ophsh.engine.ops.reduction import collapse
from ophsh.engine.params import Params
from ophsh.errors import OperatorError, ValidationError

__all__ = ["PRIMITIVES", "apply", "evaluate"]

TYPES = {f"oph_{name}": name for name in MEASURE_DTYPES}

MATH = {
    "OPH_MATH_ABS": np.abs,
    "OPH_MATH_ACOS": np.arccos,
    "OPH_MATH_ASIN": np.arcsin,
    "OPH_MATH_ATAN": np.arctan,
    "OPH_MATH_CEIL": np.ceil,
    "OPH_MATH_COS": np.cos,
    "OPH_MATH_COT": lambda x: 1 / np.tan(x),
    "OPH_MATH_DEGREES": np.degrees,
    "OPH_MATH_EXP": np.exp,
    "OPH_MATH_FLOOR": np.floor,
    "OPH_MATH_LN": np.log,
    "OPH_MATH_LOG10": np.log10,
    "OPH_MATH_LOG2": np.log2,
    "OPH_MATH_RADIANS": np.radians,
    "OPH_MATH_ROUND": np.round,
    "OPH_MATH_SIGN": np.sign,
    "OPH_MATH_SIN": np.sin,
    "OPH_MATH_SQRT": np.sqrt,
    "OPH_MATH_TAN": np.tan,
}

_ARITHMETIC = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_COMPARE = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}
_COMPARE |= {"==": np.equal, "=": np.equal, "!=": np.not_equal}


def _x_expression(text: str, x: np.ndarray):
    """Evaluate an expression of ``x`` (numbers, + - * / ^, abs, nan) as Ophidia's predicates
    write them, e.g. 'x-500' or '2*x'."""
    try:
        with AST_LOCK:
            tree = ast.parse(text.replace("^", "**").strip(), mode="eval")
    except SyntaxError:
        raise ValidationError(f"'{text}' is not an expression of x") from None

    def walk(node):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.Name) and node.id.lower() in ("x", "nan", "inf"):
            return {"x": x, "nan": np.nan, "inf": np.inf}[node.id.lower()]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = walk(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
            return _ARITHMETIC[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "abs":
            return np.abs(walk(node.args[0]))
        raise ValidationError(f"'{text}': only x, numbers, + - * / ^ and abs() are allowed")

    return walk(tree)


def _predicate(measure, expression, condition, then, otherwise):
    value = _x_expression(str(expression), measure)
    cond = str(condition).strip()
    for symbol in sorted(_COMPARE, key=len, reverse=True):
        if cond.startswith(symbol):
            test = _COMPARE[symbol](value, float(_x_expression(cond[len(symbol) :], measure)))
            break
    else:
        raise ValidationError(f"oph_predicate: '{condition}' must look like >0, <=5, ==1 or !=0")
    return np.where(test, _x_expression(str(then), measure), _x_expression(str(otherwise), measure))


def _reduce(measure, operation, count=0, order=2.0):
    name = str(operation).lower().removeprefix("oph_")
    if int(count) not in (0, measure.shape[-1]):
        groups = measure.shape[-1] // int(count)
        grouped = measure.reshape(*measure.shape[:-1], groups, int(count))
        return reduce_last(grouped, name, order=float(order))
    return reduce_last(measure, name, order=float(order))[..., None]


def _math(measure, function):
    try:
        return MATH[str(function).upper()](measure)
    except KeyError:
        raise ValidationError(
            f"oph_math: unknown function '{function}'", hint=", ".join(sorted(MATH))
        ) from None


PRIMITIVES: dict[str, Callable] = {
    "oph_sum_scalar": lambda m, k=0: m + float(k),
    "oph_mul_scalar": lambda m, k=1: m * float(k),
    "oph_predicate": _predicate,
    "oph_abs": np.abs,
    "oph_math": _math,
    "oph_cast": lambda m: m,
    "oph_reduce": _reduce,
}


def evaluate(query: str, measure: np.ndarray) -> tuple[np.ndarray, str | None]:
    """The query's value on ``measure`` (rows along the last axis) and the output type the
    outermost primitive declares (None when the query gives no types)."""
    try:
        with AST_LOCK:
            tree = ast.parse(query.strip(), mode="eval")
    except SyntaxError as err:
        raise ValidationError(f"query is not a valid expression: {err.msg}") from None
    declared: list[str] = []

    def walk(node):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Name) and node.id == "measure":
            return measure
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id.lower()
            if name not in PRIMITIVES:
                raise ValidationError(
                    f"primitive '{node.func.id}' is not available in the embedded store",
                    hint="available: " + ", ".join(PRIMITIVES),
                )
            args = [walk(a) for a in node.args]
            if len(args) >= 2 and all(isinstance(a, str) and a.lower() in TYPES for a in args[:2]):
                declared.append(TYPES[args[1].lower()])
                args = args[2:]
            try:
                return PRIMITIVES[name](*args)
            except TypeError:
                raise ValidationError(f"{name}: wrong number of arguments") from None
        raise ValidationError(f"query: '{ast.unparse(node)}' is not a primitive call or value")

    with np.errstate(all="ignore"):
        result = np.asarray(walk(tree), dtype=np.float64)
    return result, (declared[-1] if declared else None)


def apply(ctx: OpContext, p: Params) -> None:
    cube = ctx.cube(p.str("cube"))
    if p.opt("dim_query"):
        raise OperatorError("dim_query is not available in the embedded store")
    query = p.str("query")
    implicit = cube.implicit_dims
    n_exp = len(cube.explicit_dims)
    row_shape = tuple(d.size for d in implicit)
    width = int(np.prod(row_shape))

    def rows(block: np.ndarray) -> np.ndarray:
        return np.asarray(block, dtype=np.float64).reshape(*block.shape[:n_exp], width)

    sample, declared = evaluate(
        query, rows(ctx.store.rows(cube, 0, 1) if cube.shape else np.asarray(ctx.store.data(cube)))
    )
    manual = p.str("measure_type") == "manual"
    kind = declared if manual and declared else cube.measure_type
    out_dtype = dtype_of(kind)
    out_width = sample.shape[-1] if sample.ndim else 1
    reduced = out_width != width

    def kernel(block: np.ndarray) -> np.ndarray:
        value, _ = evaluate(query, rows(block))
        value = np.broadcast_to(value, (*value.shape[:-1], out_width)) if value.ndim else value
        if not reduced:
            value = value.reshape(block.shape)
        return value.astype(out_dtype)

    dims = list(cube.dims)
    if reduced:
        dims = _reduced_dims(cube, out_width)
    out_shape = (
        *cube.shape[:n_exp],
        *(row_shape if not reduced else (out_width,) * (out_width > 1)),
    )
    if n_exp and cube.shape:
        staged = ctx.stream(
            out_shape,
            out_dtype,
            lambda a, b: ctx.store.rows(cube, a, b),
            lambda block: kernel(block).reshape(-1, *out_shape[1:]),
            label="apply",
            row_bytes=max(1, width) * 16,
        )
        ctx.derive(
            cube,
            dims=dims,
            staged=staged,
            objkey="apply",
            measure=p.opt("measure"),
            measure_type=kind,
            container=p.opt("container"),
            description=p.str("description"),
        )
        return
    ctx.check_cancel()
    data = kernel(np.asarray(ctx.store.data(cube))).reshape(out_shape)
    ctx.derive(
        cube,
        dims=dims,
        data=data,
        objkey="apply",
        measure=p.opt("measure"),
        measure_type=kind,
        container=p.opt("container"),
        description=p.str("description"),
    )


def _reduced_dims(cube: Cube, width: int):
    """After a reducing query: one implicit dimension of ``width`` values (1..n), or none."""
    implicit = cube.implicit_dims
    if width == 1:
        return collapse(cube.dims, {d.name for d in implicit})
    keep = implicit[0]
    dims = collapse(cube.dims, {d.name for d in implicit[1:]})
    return [
        d.with_(size=width, values=np.arange(1, width + 1).astype(np.asarray(d.values).dtype))
        if d.name == keep.name
        else d
        for d in dims
    ]
