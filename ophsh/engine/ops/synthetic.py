"""oph_randcube: a cube of random values, for tests, demos and workflow examples."""

from __future__ import annotations

import math

import numpy as np

from ophsh.engine.context import OpContext
from ophsh.engine.model import Dim, dtype_of
from ophsh.engine.params import Params
from ophsh.errors import OperatorError, ValidationError

__all__ = ["randcube"]


def randcube(ctx: OpContext, p: Params) -> None:
    """Uniform values in [0, 1000] (algorithm=default) or smooth series around 15 (temperatures),
    drawn block by block within the memory budget.

    The first exp_ndim dimensions are explicit, the others implicit; the container must exist
    and declare every dimension; the explicit sizes multiply to nhost x nfrag x ntuple.
    """
    names = p.list("dim")
    try:
        sizes = [int(v) for v in p.list("dim_size")]
    except ValueError:
        raise ValidationError("dim_size must list whole numbers, e.g. 10|20|30") from None
    exp_ndim = p.int("exp_ndim")
    if len(names) != len(sizes):
        raise ValidationError(f"dim names {len(names)} dimension(s) but dim_size {len(sizes)}")
    if not 0 <= exp_ndim < len(names):
        raise ValidationError("exp_ndim must leave at least one implicit dimension")
    if any(s < 1 for s in sizes):
        raise ValidationError("every dim_size must be at least 1")
    hosts = max(p.int("nhost"), 1)
    rows = int(np.prod(sizes[:exp_ndim], dtype=np.int64))
    if rows != hosts * p.int("nfrag") * p.int("ntuple"):
        raise ValidationError(
            f"the explicit sizes give {rows} rows, but nhost x nfrag x ntuple = "
            f"{hosts * p.int('nfrag') * p.int('ntuple')}",
            hint="choose nfrag and ntuple whose product is the number of rows",
        )
    dtype = dtype_of(p.str("measure_type"))
    ctx.expect(sizes, dtype)  # before anything of that size is allocated
    container = ctx.container(p.str("container"))
    missing = [n for n in names if container.dim_type(n) is None]
    if missing:
        raise OperatorError(
            f"container '{container.name}' does not declare dimension(s) {', '.join(missing)}",
            hint="create it with oph_createcontainer dim=" + "|".join(names),
        )
    levels = p.list("concept_level") or ["c"]
    dims = []
    for i, (name, size) in enumerate(zip(names, sizes, strict=True)):
        explicit = i < exp_ndim
        kind = container.dim_type(name) or "double"
        dims.append(
            Dim(
                name=name,
                type=kind,
                size=size,
                explicit=explicit,
                level=(i if explicit else i - exp_ndim) + 1,
                values=np.arange(1, size + 1).astype(dtype_of(kind)),
                concept_level=levels[i] if i < len(levels) else levels[-1],
            )
        )
    seed = np.random.SeedSequence().entropy
    temperatures = p.str("algorithm") == "temperatures"

    def values(rows: tuple[int, int]) -> np.ndarray:
        """Rows start:stop, from a generator of their own (blocks run on several threads)."""
        rng = np.random.default_rng([seed, rows[0]])
        shape = (rows[1] - rows[0], *sizes[1:])
        if temperatures:
            return (15 + np.cumsum(rng.normal(0, 0.5, size=shape), axis=-1)).astype(dtype)
        return rng.uniform(0, 1000, size=shape).astype(dtype)

    staged = ctx.stream(
        tuple(sizes),
        dtype,
        lambda start, stop: (start, stop),
        values,
        label="randcube",
        row_bytes=math.prod(sizes[1:]) * 16,
    )
    ctx.make_cube(
        container=container,
        measure=p.str("measure"),
        measure_type=p.str("measure_type"),
        dims=dims,
        staged=staged,
        description=p.str("description"),
        objkey="randcube",
    )
