"""Importing a NetCDF variable whose first dimension becomes an inner dimension of the cube: a
time-major file imported with time implicit, the usual case for climate data.

Read row by row of the cube, such a file would be walked once per block of rows, every chunk
of it visited again each time. Here the file is read once, in slabs along its first dimension
(whole chunks, in file order), each slab arranged in cube order on the configured threads. The
bands of cube rows of every slab are written straight into the band's part of the staged
array, slab after slab; a second pass reads each band back, joins its slabs and writes it over
itself in cube order. Both passes stay within the memory budget, and the array's pages are
written twice but allocated once.
"""

from __future__ import annotations

import contextlib

import numpy as np

from ophsh.engine.arrays import Staged
from ophsh.engine.context import OpContext
from ophsh.engine.kernels import blocks, map_blocks
from ophsh.engine.ops.netcdf_file import NC_LOCK

__all__ = ["import_by_slabs", "wants_slabs"]


def wants_slabs(plan) -> bool:
    """Whether ``plan`` (a :class:`~ophsh.engine.ops.netcdf_read.Plan`) moves the file's first
    dimension inwards, so that reading by slabs pays."""
    return len(plan.order) > 1 and plan.order[0] != 0 and all(plan.shape)


def import_by_slabs(ctx: OpContext, plan, dtype: np.dtype, label: str) -> Staged:
    """Stage the variable of ``plan`` in cube order, reading the file once in slabs."""
    shape = plan.shape
    along = plan.order.index(0)  # the cube axis of the file's first dimension
    steps = shape[along]
    row = int(np.prod(shape[1:], dtype=np.int64))  # elements of one cube row
    step = row * shape[0] // steps  # elements of one step along the file's first dimension
    budget, workers = ctx.settings.memory_bytes, ctx.settings.threads
    # map_blocks cuts the same ranges from these row costs (kernels.blocks): a band of cube rows
    # holds a row read back and its joined copy; a slab in flight holds what was read, its
    # arranged copy and the missing-value mask
    band_bytes, slab_bytes = row * dtype.itemsize, 3 * step * dtype.itemsize // 2
    bands = list(blocks(shape[0], 2 * band_bytes, budget, workers))
    slabs = list(blocks(steps, 2 * slab_bytes, budget, workers))
    with NC_LOCK, contextlib.suppress(RuntimeError, AttributeError):  # NetCDF3: no chunks
        # each chunk is read once, whole: HDF5's chunk cache would only copy it on its way
        plan.variable.set_var_chunk_cache(size=0, nelems=1, preemption=0)
    staged = ctx.store.arrays.stream(shape, dtype)
    written = iter(slabs)

    def arrange(raw: np.ndarray) -> np.ndarray:
        ctx.check_cancel()
        return plan.arrange(raw)

    def scatter(arranged: np.ndarray) -> None:
        """Each band of the arranged slab to its place in the band's part of the file."""
        start, _ = next(written)
        for a, b in bands:
            piece = memoryview(np.ascontiguousarray(arranged[a:b])).cast("B")
            staged.write_at((a * row + start * (b - a) * row // steps) * dtype.itemsize, piece)

    def join(a: int, b: int) -> np.ndarray:
        """Band ``a:b`` read back (one piece per slab) and its slabs joined in cube order."""
        ctx.check_cancel()
        flat = staged.read_at(a * row * dtype.itemsize, (b - a) * row)
        per_step = (b - a) * row // steps
        pieces = []
        for t0, t1 in slabs:
            piece_shape = [b - a, *shape[1:]]
            piece_shape[along] = t1 - t0
            pieces.append(flat[t0 * per_step : t1 * per_step].reshape(piece_shape))
        return np.concatenate(pieces, axis=along)

    reading, joining = f"{label} (reading)", f"{label} (arranging)"
    try:
        ctx.progress(reading, 0, steps)
        map_blocks(
            lambda t0, t1: plan.read_part(plan.file_dims[0], t0, t1),
            arrange,
            scatter,
            steps,
            slab_bytes,
            budget=budget,
            workers=workers,
            tick=lambda done: ctx.progress(reading, done, steps),
        )
        map_blocks(
            join,
            lambda block: block,
            staged.append,
            shape[0],
            band_bytes,
            budget=budget,
            workers=workers,
            tick=lambda done: ctx.progress(joining, done, shape[0]),
        )
    except BaseException:
        staged.discard()
        raise
    return staged
