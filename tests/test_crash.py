"""A process killed with SIGKILL in the middle of an import, while virtual cubes are made, or while
one is written before its input is deleted, leaves a consistent store."""

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
from factories import NO_OTHER_FILE_SYSTEM, other_file_system

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


@pytest.fixture(params=["referenced", "copied"])
def where(request, tmp_path):
    """A store beside the raw frames (imports reference them) or on another file system."""
    if request.param == "referenced":
        yield request.param, tmp_path / "store"
        return
    if other_file_system() is None:
        pytest.skip(NO_OTHER_FILE_SYSTEM)
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


# -- virtual cubes ----------------------------------------------------------------------------
PID = "http://localhost/ophidia/1/{}"
OPHSH = (sys.executable, "-m", "ophsh", "--store")


@pytest.fixture(scope="module")
def pair_dir(tmp_path_factory):
    """Two large frames, a.fits and b.fits (large enough that writing their difference takes a
    while)."""
    raw = tmp_path_factory.mktemp("pair")
    rng = np.random.default_rng(5)
    for name in ("a", "b"):
        data = rng.integers(0, 65535, size=(3000, 3000), dtype=np.uint16)
        fits.PrimaryHDU(data).writeto(raw / f"{name}.fits")
    return raw


def make_virtual(store_dir, raw, extra: str = "") -> None:
    """Cubes 1 and 2 imported from ``raw``, cube 3 = 1 - 2 (virtual), then ``extra`` lines."""
    script = store_dir.parent / "make.oph"
    script.write_text(
        "oph_createcontainer container=c;dim=NAXIS2|NAXIS1;dim_type=int|int\n"
        f"oph_importfits src_path=[path={raw};file=*.fits];container=c\n"
        f"oph_intercube cube={PID.format(1)};cube2={PID.format(2)};operation=sub\n" + extra
    )
    done = subprocess.run(
        [sys.executable, "-m", "ophsh", "--store", str(store_dir), str(script)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def assert_consistent(store_dir) -> Store:
    """Every cube readable, every array file a cube's, every recipe's inputs present."""
    store = Store.open(store_dir)
    cubes = store.cubes()
    files = {p.name for p in (store_dir / "data").iterdir()}
    assert files == {c.data_file for c in cubes if not c.virtual}
    assert not any((store_dir / "tmp").iterdir())
    ids = {c.id for c in cubes}
    for cube in cubes:
        store.rows(cube, 0, 3)
        recipe = store.recipes.get(cube.id, cube.shape, np.dtype(cube.storage))
        assert cube.virtual == (recipe is not None)
        assert recipe is None or set(recipe.inputs) <= ids
    return store


def wait_for(condition, proc) -> None:
    deadline = time.monotonic() + 60
    while not condition() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)


def written(store_dir, cube: int) -> bool:
    try:
        conn = sqlite3.connect(store_dir / "catalog.sqlite", timeout=5)
        try:
            row = conn.execute("SELECT data_file FROM cubes WHERE id = ?", (cube,)).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return row is not None and row[0] != ""


@pytest.mark.parametrize("moment", ["writing", "written"])
def test_kill_while_a_virtual_cube_is_written_before_its_input_goes(tmp_path, pair_dir, moment):
    store_dir = tmp_path / "store"
    make_virtual(store_dir, pair_dir)
    proc = subprocess.Popen(
        [*OPHSH, str(store_dir), "-e", f"oph_delete cube={PID.format(1)}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if moment == "writing":
        wait_for(lambda: any((store_dir / "tmp").iterdir()), proc)
        assert proc.poll() is None, "the delete ended before its dependent was written"
    else:
        wait_for(lambda: written(store_dir, 3), proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = assert_consistent(store_dir)
    a, b = (fits.getdata(pair_dir / f"{n}.fits").astype(np.int32) for n in "ab")
    assert np.array_equal(store.data(store.cube(3)), a - b)
    store.close()
    again = subprocess.run(
        [*OPHSH, str(store_dir), "-e", f"oph_delete cube={PID.format(1)}"],
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0 or "does not exist" in again.stdout + again.stderr
    store = assert_consistent(store_dir)
    assert np.array_equal(store.data(store.cube(3)), a - b)
    store.close()


def test_kill_while_virtual_cubes_are_made(tmp_path, pair_dir):
    store_dir = tmp_path / "store"
    make_virtual(store_dir, pair_dir)
    script = tmp_path / "chain.oph"
    script.write_text(
        "".join(
            f"oph_intercube cube={PID.format(3 + i)};cube2={PID.format(2)};operation=sum\n"
            for i in range(40)
        )
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "ophsh", "--store", str(store_dir), str(script)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: cube_count(store_dir) >= 8, proc)
    assert proc.poll() is None, "the script ended before the kill"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = assert_consistent(store_dir)
    assert 8 <= len(store.cubes()) < 43
    store.close()
