"""Element-wise kernels: each value of the result depends on the values at the same position of
the inputs only, so any block of rows can be computed from the same rows of the inputs.

These serve oph_intercube, oph_intercube2, the element-wise oph_apply queries and the quantile
across the few frames of a stack (each pixel from the same pixel of every frame) both when they
write a cube and when a virtual cube (:mod:`ophsh.engine.recipes`) is read: one code path, hence
the same values bit for bit. ``KERNELS`` names them for the recipes; each takes the input blocks
and the recipe's parameters and returns the block in the cube's stored type.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ophsh.engine.kernels import quantile_across, reduce_last
from ophsh.engine.primitives import evaluate
from ophsh.engine.primitives.syntax import Call, Keyword, Literal, Node, parse_query
from ophsh.lazy import numpy as np
from ophsh.spec import load_specs

__all__ = [
    "ELEMENTWISE_PRIMITIVES",
    "KERNELS",
    "OPERATIONS",
    "apply_block",
    "elementwise_query",
    "intercube2_block",
    "intercube_block",
]


def _mask(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    fill = np.nan if a.dtype.kind == "f" else 0
    return np.where(b == 1, a, fill)


OPERATIONS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "sum": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.divide,
    "abs": np.hypot,
    "arg": lambda a, b: np.arctan2(b, a),
    "mask": _mask,
    "max": np.fmax,
    "min": np.fmin,
    "arg_max": lambda a, b: np.where(a >= b, 1, 2),
    "arg_min": lambda a, b: np.where(a <= b, 1, 2),
}

# oph_apply primitives that map every element on its own to one element (same length out);
# not oph_replace, which drops the values it matches when given no new value.
ELEMENTWISE_PRIMITIVES = frozenset(
    {
        "oph_sum_scalar",
        "oph_mul_scalar",
        "oph_affine",
        "oph_math",
        "oph_predicate",
        "oph_cast",
    }
)


def intercube_block(
    a: np.ndarray,
    b: np.ndarray,
    operation: str,
    compute: np.dtype,
    kept: np.dtype,
    missing: float | None,
) -> np.ndarray:
    """``operation`` of the values ``a`` and ``b`` (or a single value ``b``) in ``compute``
    type, stored as ``kept``; a division by zero gives NaN (0 for integers)."""
    a = np.asarray(a, dtype=compute)
    b = np.asarray(b, dtype=compute)
    with np.errstate(all="ignore"):
        result = np.asarray(OPERATIONS[operation](a, b))
    if operation == "div":
        zero = np.broadcast_to(b == 0, result.shape)
        if zero.any():
            result = np.where(zero, np.nan if compute.kind == "f" else 0, result)
    if missing is not None:
        result = np.where((a == missing) | (b == missing), missing, result)
    return result.astype(kept)


def _product(block: np.ndarray, missing: float | None) -> np.ndarray:
    valid = ~np.isnan(block) if block.dtype.kind == "f" else np.ones(block.shape, bool)
    if missing is not None:
        valid &= block != missing
    result = np.where(valid, block.astype(np.float64), 1.0).prod(axis=-1)
    return np.where(valid.any(axis=-1), result, np.nan)


def intercube2_block(
    blocks: Sequence[np.ndarray], operation: str, missing: float | None, out: np.dtype
) -> np.ndarray:
    """N blocks of one shape combined value by value (missing values left out)."""
    stacked = np.stack([np.asarray(b) for b in blocks], axis=-1)
    with np.errstate(all="ignore"):
        if operation == "mul":
            result = _product(stacked, missing)
        else:
            result = reduce_last(stacked, operation, missing=missing)
    return result.astype(out)


def apply_block(
    block: np.ndarray,
    query: str,
    *,
    n_exp: int,
    manual: bool,
    measure_type: str,
    check_type: bool,
    dimension: np.ndarray | None = None,
    primitives=None,
    all_rows: bool = False,
):
    """The query evaluated on the rows of ``block`` (an Evaluation: float64 rows);
    ``all_rows`` when the block is every row of the cube (aggregate primitives)."""
    width = int(np.prod(block.shape[n_exp:], dtype=np.int64))
    rows = np.asarray(block, dtype=np.float64).reshape(*block.shape[:n_exp], width)
    return evaluate(
        query,
        rows,
        primitives if primitives is not None else load_specs().primitives,
        manual=manual,
        measure_type=measure_type,
        check_type=check_type,
        dimension=dimension,
        all_rows=all_rows,
    )


def elementwise_query(query: str) -> bool:
    """True when every primitive of ``query`` is element-wise and only ``measure`` is read
    (no ``dimension``, no random numbers): such a query can be evaluated on any rows alone."""

    def walk(node: Node) -> bool:
        if isinstance(node, Literal):
            return not (isinstance(node.value, str) and "RAND" in node.value.upper())
        if isinstance(node, Keyword):
            return node.name == "measure"
        if isinstance(node, Call):
            return node.name in ELEMENTWISE_PRIMITIVES and all(walk(a) for a in node.args)
        return False

    return walk(parse_query(query))


def _intercube(blocks: list[np.ndarray], params: dict[str, Any], out: np.dtype) -> np.ndarray:
    a, b = blocks
    return intercube_block(
        a, b, params["operation"], np.dtype(params["compute"]), out, params["missing"]
    )


def _intercube2(blocks: list[np.ndarray], params: dict[str, Any], out: np.dtype) -> np.ndarray:
    return intercube2_block(blocks, params["operation"], params["missing"], out)


def _apply(blocks: list[np.ndarray], params: dict[str, Any], out: np.dtype) -> np.ndarray:
    (block,) = blocks
    values = apply_block(
        block,
        params["query"],
        n_exp=params["n_exp"],
        manual=params["manual"],
        measure_type=params["measure_type"],
        check_type=params["check_type"],
    ).values
    return values.reshape(block.shape).astype(out)


def _stack_quantile(blocks: list[np.ndarray], params: dict[str, Any], out: np.dtype) -> np.ndarray:
    (stacked,) = blocks  # rows of a stack: its frames along the last axis
    return quantile_across(list(np.moveaxis(stacked, -1, 0)), params["order"], out)


KERNELS: dict[str, Callable[[list[np.ndarray], dict[str, Any], np.dtype], np.ndarray]] = {
    "intercube": _intercube,
    "intercube2": _intercube2,
    "apply": _apply,
    "stack_quantile": _stack_quantile,
}
