"""Primitives that reduce, accumulate or reshape each row's array (whole blocks, numpy)."""

from __future__ import annotations

import itertools

import numpy as np

from ophsh.engine.kernels import REDUCTIONS, reduce_last
from ophsh.errors import ValidationError

__all__ = ["FUNCTIONS"]


def _operation(name) -> str:
    op = str(name).lower().removeprefix("oph_")
    if op not in REDUCTIONS:
        raise ValidationError(f"unknown operation '{name}'", hint=", ".join(REDUCTIONS).upper())
    return op


def _missing(missingvalue):
    return None if missingvalue is None or np.isnan(missingvalue) else float(missingvalue)


def reduce(m, operation="OPH_MAX", count=0, order=2.0, missingvalue=None):
    n = m.shape[-1]
    size = int(count) or n
    if n % size:
        raise ValidationError(f"oph_reduce: count {size} does not divide the length {n}")
    grouped = m.reshape(*m.shape[:-1], n // size, size)
    kw = {"order": float(order), "missing": _missing(missingvalue)}
    return reduce_last(grouped, _operation(operation), **kw)


def reduce2(m, operation="OPH_MAX", count=0, block_size=1, size=0, order=2.0, missingvalue=None):
    """Reduce groups of ``count`` values lying ``block_size`` apart (an outer dimension of an
    array whose inner dimensions hold block_size values); ``size`` caps the group."""
    n, block = m.shape[-1], int(block_size)
    if block < 1 or n % block:
        raise ValidationError(f"oph_reduce2: block_size {block} does not divide the length {n}")
    along = int(size) or n // block
    group = min(int(count) or n, along)
    if group < 1 or along % group or (n // block) % group:
        raise ValidationError(f"oph_reduce2: count {group} does not divide {n // block} values")
    shaped = m.reshape(*m.shape[:-1], n // (block * group), group, block)
    kw = {"order": float(order), "missing": _missing(missingvalue)}
    out = reduce_last(np.moveaxis(shaped, -2, -1), _operation(operation), **kw)
    return out.reshape(*m.shape[:-1], -1)


def _list(values, name: str) -> list[int]:
    """A list of positive integers given as an array (oph_to_bin) or as '1,2,3'."""
    try:
        if isinstance(values, str):
            items = [int(v) for v in values.split(",") if v.strip()]
        else:
            items = [int(v) for v in np.asarray(values).reshape(-1, np.shape(values)[-1])[0]]
    except (ValueError, IndexError):
        raise ValidationError(f"{name}: '{values}' is not a list of whole numbers") from None
    if not items or min(items) < 1:
        raise ValidationError(f"{name}: the list needs whole numbers of at least 1")
    return items


def reduce3(
    m, operation="OPH_MAX", counts=None, block_size=1, size=0, order=2.0, missingvalue=None
):
    """Like oph_reduce2 with groups of the sizes ``counts`` lists, repeated along the
    dimension (e.g. the days of each month of a year of days)."""
    n, block = m.shape[-1], int(block_size)
    if block < 1 or n % block:
        raise ValidationError(f"oph_reduce3: block_size {block} does not divide the length {n}")
    along = n // block
    sizes = _list(counts, "oph_reduce3") if counts is not None else [int(size) or along]
    total = sum(sizes)
    if along % total:
        raise ValidationError(f"oph_reduce3: the groups ({total} values) do not divide {along}")
    shaped = np.moveaxis(m.reshape(*m.shape[:-1], along // total, total, block), -2, -1)
    kw = {"order": float(order), "missing": _missing(missingvalue)}
    edges = np.cumsum([0, *sizes])
    parts = [
        reduce_last(shaped[..., a:b], _operation(operation), **kw)
        for a, b in itertools.pairwise(edges)
    ]
    return np.stack(parts, axis=-2).reshape(*m.shape[:-1], -1)


def operator(m, operation="OPH_MAX", hierarchy="OPH_ALL", order=2.0, missingvalue=None):
    if str(hierarchy).upper() != "OPH_ALL":
        raise ValidationError(f"oph_operator: hierarchy '{hierarchy}' (only OPH_ALL)")
    kw = {"order": float(order), "missing": _missing(missingvalue)}
    return reduce_last(m, _operation(operation), **kw)[..., None]


def moving_avg(m, param=1.0, operation="OPH_SMA"):
    """OPH_SMA: mean of the last ``param`` elements that are not missing (missing until the
    window is full); OPH_EWMA: exponential average with weight ``param`` on the newest element."""
    kind = str(operation).upper()
    if kind == "OPH_SMA":
        window = int(param)
        if window < 1:
            raise ValidationError("oph_moving_avg: the window must be at least 1")
        csum = np.cumsum(np.nan_to_num(m), axis=-1)
        counts = np.cumsum(~np.isnan(m), axis=-1)
        shifted = np.zeros_like(csum)
        shifted_counts = np.zeros_like(counts)
        shifted[..., window:] = csum[..., :-window]
        shifted_counts[..., window:] = counts[..., :-window]
        with np.errstate(all="ignore"):
            out = (csum - shifted) / (counts - shifted_counts)
        out[..., : window - 1] = np.nan
        return out
    if kind == "OPH_EWMA":
        from scipy.signal import lfilter

        alpha = float(param)
        if not 0 < alpha <= 1:
            raise ValidationError("oph_moving_avg: the OPH_EWMA weight must be in (0, 1]")
        start = m[..., :1] * (1 - alpha)
        out, _ = lfilter([alpha], [1, alpha - 1], m, axis=-1, zi=start)
        return out
    raise ValidationError(f"oph_moving_avg: unknown operation '{operation}' (OPH_SMA, OPH_EWMA)")


def accumulate(m, id_measure=None):
    return np.cumsum(m, axis=-1)


def deaccumulate(m, id_measure=None):
    return np.diff(m, axis=-1, prepend=0.0)


def get_subarray(m, start=1.0, size=0.0):
    first = int(start) - 1
    if not 0 <= first < m.shape[-1]:
        raise ValidationError(f"oph_get_subarray: start {int(start)} is outside 1..{m.shape[-1]}")
    stop = m.shape[-1] if int(size) <= 0 else first + int(size)
    return m[..., first:stop]


def get_subarray2(m, subset, *sizes):
    """The elements whose index along one dimension lies in ``subset`` (``1:3,5``, ``1:2:end``
    with the stride in the middle). ``sizes`` go from the innermost dimension out; the last
    one is the dimension subset (the whole array when none is given)."""
    shape = [int(v) for v in sizes] or [m.shape[-1]]
    block = int(np.prod(shape[:-1]))
    return _subset(m, [(str(subset), block, shape[-1])], "oph_get_subarray2")


def get_subarray3(m, *triples):
    """Elements kept by every (subset, block_size, size) triple: the index ``j // block_size %
    size`` must lie in the subset."""
    if len(triples) % 3:
        raise ValidationError("oph_get_subarray3: give subsets as (subset, block_size, size)")
    groups = [(str(t[0]), int(t[1]), int(t[2])) for t in zip(*[iter(triples)] * 3, strict=True)]
    return _subset(m, groups or [("1:end", 1, m.shape[-1])], "oph_get_subarray3")


def _subset(m, groups, name):
    n = m.shape[-1]
    positions = np.arange(n)
    keep = np.ones(n, dtype=bool)
    for text, block, size in groups:
        if block < 1 or size < 1:
            raise ValidationError(f"{name}: sizes must be positive")
        keep &= np.isin((positions // block) % size, _indices(text, size, name))
    return m[..., keep]


def _indices(text: str, n: int, name: str) -> np.ndarray:
    """0-based indices of a subset string: ``i``, ``i:j`` or ``i:stride:j`` joined by commas,
    1-based and inclusive, ``end`` for the last."""
    out: list[int] = []
    for piece in text.split(","):
        try:
            bits = [n if b.strip().lower() == "end" else int(b) for b in piece.split(":")]
        except ValueError:
            raise ValidationError(f"{name}: '{piece}' is not i, i:j or i:stride:j") from None
        start, stride, end = bits[0], bits[1] if len(bits) == 3 else 1, bits[-1]
        if len(bits) > 3 or stride < 1 or not 1 <= start <= end <= n:
            raise ValidationError(f"{name}: subset '{piece}' must lie within 1..{n}")
        out.extend(range(start, end + 1, stride))
    return np.asarray(out) - 1


def shift(m, offset=0.0, filling=0.0):
    k, n = int(offset), m.shape[-1]
    out = np.full_like(m, float(filling))
    if k >= 0:
        out[..., k:] = m[..., : max(n - k, 0)]
    else:
        out[..., : n + k] = m[..., -k:]
    return out


def rotate(m, offset=0.0):
    return np.roll(m, int(offset), axis=-1)


def reverse(m):
    return m[..., ::-1]


def concat(*arrays):
    return np.concatenate(_rows(arrays), axis=-1)


def _rows(arrays):
    rows = max(a.shape[0] for a in arrays)
    return [np.broadcast_to(a, (rows, a.shape[-1])) for a in arrays]


def extend(m, number=1.0, mode="a"):
    """The array repeated ``number`` times: whole (mode a) or each element in turn (mode i).
    ``number`` may be a value per row (``oph_count_array(measure)``) when it is one number."""
    counts = np.unique(np.asarray(number, dtype=np.float64))
    if counts.size != 1:
        raise ValidationError("oph_extend: the number of copies differs from row to row")
    times = int(counts[0])
    if str(mode).lower() not in ("a", "i"):
        raise ValidationError(f"oph_extend: mode '{mode}' is not a (append) or i (interlace)")
    if str(mode).lower() == "i":
        return np.repeat(m, times, axis=-1)
    return np.tile(m, (1,) * (m.ndim - 1) + (times,))


def padding(m, size=0.0, filling=0.0):
    extra = int(size) - m.shape[-1]
    if extra <= 0:
        return m
    pad = np.full((*m.shape[:-1], extra), float(filling))
    return np.concatenate([m, pad], axis=-1)


def interlace2(counts, *arrays):
    """Blocks of ``counts[i]`` elements of each array taken in turn."""
    sizes = _list(counts, "oph_interlace2")
    if len(sizes) != len(arrays):
        raise ValidationError("oph_interlace2: give one block size per array")
    rows = _rows(arrays)
    steps = {a.shape[-1] // k for a, k in zip(rows, sizes, strict=True)}
    if len(steps) != 1 or any(a.shape[-1] % k for a, k in zip(rows, sizes, strict=True)):
        raise ValidationError("oph_interlace2: the arrays do not hold the same number of blocks")
    step = steps.pop()
    blocks = [a.reshape(a.shape[0], step, k) for a, k in zip(rows, sizes, strict=True)]
    return np.concatenate(blocks, axis=-1).reshape(rows[0].shape[0], -1)


def permute(m, permutation, *sizes):
    """The dimensions of each array (``sizes`` from the innermost out) in a new order:
    ``permutation`` gives, outermost first, which old dimension (1-based) goes there."""
    dims = [int(v) for v in sizes][::-1] or [m.shape[-1]]
    try:
        order = [int(v) - 1 for v in str(permutation).split(",")]
    except ValueError:
        raise ValidationError(f"oph_permute: '{permutation}' is not a list like 2,1") from None
    if sorted(order) != list(range(len(dims))):
        raise ValidationError(f"oph_permute: '{permutation}' must order 1..{len(dims)}")
    if int(np.prod(dims)) != m.shape[-1]:
        raise ValidationError("oph_permute: the sizes do not multiply to the array's length")
    lead = m.shape[:-1]
    shaped = m.reshape(*lead, *dims)
    axes = [*range(len(lead)), *(len(lead) + k for k in order)]
    return shaped.transpose(axes).reshape(*lead, -1)


def extract(m, indices):
    """The elements at the 1-based positions ``indices`` lists (one list, or one per row)."""
    where = np.asarray(indices, dtype=np.float64)
    if np.isnan(where).any() or (where < 1).any() or (where > m.shape[-1]).any():
        raise ValidationError(f"oph_extract: positions must lie within 1..{m.shape[-1]}")
    where = np.broadcast_to(where.astype(np.int64) - 1, (*m.shape[:-1], where.shape[-1]))
    return np.take_along_axis(m, where, axis=-1)


def compare(a, b):
    """0 when the two arrays hold the same values (missing ones alike), else 1."""
    a, b = _rows([a, b])
    if a.shape != b.shape:
        return np.ones(a.shape[0])
    equal = (a == b) | (np.isnan(a) & np.isnan(b))
    return (~equal.all(axis=-1)).astype(np.float64)


def interlace(*arrays):
    rows = _rows(arrays)
    return np.stack(rows, axis=-1).reshape(rows[0].shape[0], -1)


FUNCTIONS = {
    "oph_reduce": reduce,
    "oph_reduce2": reduce2,
    "oph_operator": operator,
    "oph_moving_avg": moving_avg,
    "oph_accumulate": accumulate,
    "oph_deaccumulate": deaccumulate,
    "oph_get_subarray": get_subarray,
    "oph_get_subarray2": get_subarray2,
    "oph_get_subarray3": get_subarray3,
    "oph_shift": shift,
    "oph_rotate": rotate,
    "oph_reverse": reverse,
    "oph_concat": concat,
    "oph_append": concat,
    "oph_extend": extend,
    "oph_padding": padding,
    "oph_interlace": interlace,
    "oph_interlace2": interlace2,
    "oph_reduce3": reduce3,
    "oph_permute": permute,
    "oph_extract": extract,
    "oph_compare": compare,
    "oph_size_array": lambda m: np.full(m.shape[:-1], float(m.shape[-1])),
}
