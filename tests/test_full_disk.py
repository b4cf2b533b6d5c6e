"""A disk that fills up: one clear line, nothing half-made, and room can be made again.

The disk is real: a small tmpfs is mounted for the store (that needs root, as CI has)."""

from __future__ import annotations

import re
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import ophsh
from factories import write_fits
from test_server import Served

from ophsh.engine.arrays import ArrayFiles
from ophsh.errors import StoreFull

FRAMES = 10  # 2 MiB each: more than the small disk holds
# A cube refused before it is written, or a write that found no room.
NO_ROOM = re.compile(r"the store's disk has [\d.]+ \w+ free|the disk holding the store is full")


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MiB file system at tmp_path/small, unmounted afterwards."""
    where = tmp_path / "small"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode:
        pytest.skip("filling a disk for real needs a small tmpfs, and mounting one needs root")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def frames(directory: Path) -> None:
    rng = np.random.default_rng(3)
    for i in range(FRAMES):
        data = rng.integers(0, 60000, size=(1024, 1024), dtype=np.uint16)
        write_fits(directory / f"f{i}.fits", data, OBS_TYPE="BIAS")


def consistent(store: Path) -> None:
    """The catalog is whole and every array file belongs to a cube and the other way round."""
    with sqlite3.connect(store / "catalog.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        files = {row[0] for row in db.execute("SELECT data_file FROM cubes")}
    assert files == {p.name for p in (store / "data").iterdir()}
    assert not list((store / "tmp").iterdir())


def test_the_shell_on_a_full_disk_says_so_and_can_make_room(small_disk, tmp_path):
    frames(tmp_path / "raw")
    store = small_disk / "store"

    def run(line: str):
        return ophsh("-q", "--store", str(store), "-e", line, cwd=tmp_path)

    assert run("oph_createcontainer container=c;dim=NAXIS2|NAXIS1;dim_type=int|int").returncode == 0
    full = run("oph_importfits src_path=[path=raw;file=*.fits];container=c")
    assert full.returncode != 0
    assert NO_ROOM.search(full.stderr) and "Traceback" not in full.stderr
    consistent(store)
    assert run("oph_list level=2").returncode == 0
    freed = run("oph_delete cube=[*]")
    assert freed.returncode == 0, freed.stderr
    consistent(store)
    again = run("oph_importfits src_path=raw/f0.fits;container=c")
    assert again.returncode == 0, again.stderr
    consistent(store)


def test_the_server_on_a_full_disk_answers_and_can_make_room(tmp_path):
    root = tmp_path / "served"
    (root / "store").mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(root / "store")],
        capture_output=True,
    )
    if mounted.returncode:
        pytest.skip("filling a disk for real needs a small tmpfs, and mounting one needs root")
    server = Served(root)
    try:
        frames(server.data / "raw")
        client = server.client()
        client.submit("oph_createcontainer container=c;dim=NAXIS2|NAXIS1;dim_type=int|int;")
        assert client.submit("oph_importfits src_path=[path=raw;file=*.fits];container=c;") is None
        assert NO_ROOM.search(client.last_response)
        consistent(root / "store")
        client.submit("oph_delete cube=[*];")
        assert client.last_return_value == 0 and '"ERROR"' not in client.last_response
        client.submit("oph_importfits src_path=raw/f0.fits;container=c;")
        assert client.last_return_value == 0 and '"ERROR"' not in client.last_response
        consistent(root / "store")
    finally:
        server.stop()
        subprocess.run(["umount", "-l", str(root / "store")], check=False)


def test_a_write_that_finds_no_room_leaves_nothing_behind(small_disk):
    files = ArrayFiles(small_disk)
    with pytest.raises(StoreFull, match="the disk holding the store is full"):
        files.stage(np.zeros((3000, 1000)))  # 24 MB on a 16 MiB disk
    assert not list(files.tmp.iterdir())
    staged = files.stream((3000, 1000), np.dtype(np.float64))
    with pytest.raises(StoreFull):
        for _ in range(30):
            staged.append(np.ones((100, 1000)))
    assert not list(files.tmp.iterdir())
