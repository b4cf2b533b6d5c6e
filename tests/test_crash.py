"""A process killed with SIGKILL in the middle of an import leaves a consistent store."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from ophsh.engine.store import Store

FRAMES = 40


@pytest.fixture(scope="module")
def raw_dir(tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw")
    rng = np.random.default_rng(3)
    for i in range(FRAMES):
        data = rng.integers(0, 65535, size=(384, 512), dtype=np.uint16)
        fits.PrimaryHDU(data).writeto(raw / f"frame{i:02d}.fits")
    return raw


def cube_count(store_dir) -> int:
    try:
        conn = sqlite3.connect(store_dir / "catalog.sqlite", timeout=5)
        try:
            return conn.execute("SELECT count(*) FROM cubes").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def start_import(store_dir, raw_dir):
    command = "oph_createcontainer container=c;dim=NAXIS2|NAXIS1;dim_type=int|int;"
    subprocess.run(
        [sys.executable, "-m", "ophsh", "--store", str(store_dir), "-e", command],
        check=True,
        capture_output=True,
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ophsh",
            "--store",
            str(store_dir),
            "-e",
            f"oph_importfits src_path=[path={raw_dir};file=*.fits];container=c",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def other_file_system() -> Path | None:
    """/dev/shm when it is not the file system of the temporary files (imports copy there)."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == Path(tempfile.gettempdir()).stat().st_dev:
        return None
    return shm


@pytest.fixture(params=["referenced", "copied"])
def where(request, tmp_path):
    """A store beside the raw frames (imports reference them) or on another file system."""
    if request.param == "referenced":
        yield request.param, tmp_path / "store"
        return
    if other_file_system() is None:
        pytest.skip("needs /dev/shm on a file system other than /tmp")
    with tempfile.TemporaryDirectory(dir=other_file_system()) as place:
        yield request.param, Path(place) / "store"


@pytest.mark.parametrize("after_cubes", [1, 7, 19])
def test_kill_during_a_massive_import(where, raw_dir, after_cubes):
    kind, store_dir = where
    links = {p.name: p.stat().st_nlink for p in raw_dir.iterdir()}  # other tests' stores too
    proc = start_import(store_dir, raw_dir)
    deadline = time.monotonic() + 60
    while cube_count(store_dir) < after_cubes and time.monotonic() < deadline:
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = cube_count(store_dir)
    assert after_cubes <= killed_at < FRAMES, "the import was not interrupted half-way"

    store = Store.open(store_dir)  # sweeps what the killed process left
    cubes = store.cubes()
    assert len(cubes) == killed_at
    files = {p.name for p in (store_dir / "data").iterdir()}
    assert files == {c.data_file for c in cubes}, "an orphan array or a cube without array"
    assert list((store_dir / "tmp").iterdir()) == []
    suffix = ".ref" if kind == "referenced" else ".npy"
    assert {os.path.splitext(name)[1] for name in files} == {suffix}
    referenced = {os.path.basename(c.source) for c in cubes} if kind == "referenced" else set()
    for name, count in links.items():  # the raw frames: all there, linked by the cubes kept
        assert (raw_dir / name).stat().st_nlink == count + (name in referenced), name
    for cube in cubes:
        source = raw_dir / os.path.basename(cube.source)
        assert np.array_equal(store.data(cube), fits.getdata(source)), cube.pid
        assert [d.name for d in cube.dims] == ["NAXIS2", "NAXIS1"]
    orphans = store.catalog.one(
        "SELECT count(*) FROM metadata WHERE cube NOT IN (SELECT id FROM cubes)"
    )[0]
    assert orphans == 0
    store.close()


def test_the_store_works_after_a_kill(tmp_path, raw_dir):
    store_dir = tmp_path / "store"
    proc = start_import(store_dir, raw_dir)
    while cube_count(store_dir) < 3:
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ophsh",
            "--store",
            str(store_dir),
            "-e",
            f"oph_importfits src_path=[path={raw_dir};file=frame0*.fits];container=c",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert cube_count(store_dir) >= 13
