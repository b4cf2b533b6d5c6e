"""Operators that work block by block give the same cube with a tiny memory budget (many small
blocks, far-apart rows read one by one) as numpy on the whole array."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from ophsh.engine.settings import Settings


def values(run, pid: str) -> np.ndarray:
    grid = run(f"oph_explorecube cube={pid};base64=yes;limit_filter=0").reply.document.grid(
        "explorecube_data"
    )
    rows = [np.frombuffer(base64.b64decode(row[-1]), dtype=np.float64) for row in grid.rows]
    return np.stack(rows)


@pytest.fixture
def cube(shell, run) -> tuple[str, np.ndarray]:
    shell.backend.service.settings = Settings(memory_bytes=512, threads=2)
    run("oph_createcontainer container=c;dim=x|y|z;dim_type=int|int|int")
    pid = run(
        "oph_randcube container=c;dim=x|y|z;dim_size=40|3|4;exp_ndim=1;nfrag=1;ntuple=40;"
        "measure=m;measure_type=double"
    ).reply.document.output_cube
    return pid, values(run, pid).reshape(40, 3, 4)


def test_subset_by_range_and_by_stride(run, cube):
    pid, whole = cube
    ranged = run(f"oph_subset cube={pid};subset_dims=x|z;subset_filter=5:30|2:3").reply
    assert np.array_equal(
        values(run, ranged.document.output_cube), whole[4:30, :, 1:3].reshape(26, -1)
    )
    strided = run(f"oph_subset cube={pid};subset_dims=x;subset_filter=1:9:40").reply
    assert np.array_equal(values(run, strided.document.output_cube), whole[::9].reshape(5, -1))


def test_permute_reorders_each_row(run, cube):
    pid, whole = cube
    permuted = run(f"oph_permute cube={pid};dim_pos=2,1").reply.document.output_cube
    assert np.array_equal(values(run, permuted), np.transpose(whole, (0, 2, 1)).reshape(40, -1))
