"""A damaged store is reported in one line, in the shell and by the server, never as a
traceback; a truncated array file is caught before anything of it is shown."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ophsh
from factories import raw_frame, write_fits


def test_a_damaged_catalog_is_one_line_in_the_shell_and_the_server(tmp_path):
    store = tmp_path / "store"
    assert ophsh("--store", str(store), "-e", "oph_list").returncode == 0
    catalog = store / "catalog.sqlite"
    catalog.write_bytes(b"\x13" * catalog.stat().st_size)  # same size, nothing readable
    shell = ophsh("--store", str(store), "-e", "oph_list")
    assert shell.returncode != 0 and "Traceback" not in shell.stderr
    assert "catalog.sqlite" in shell.stderr and len(shell.stderr.strip().splitlines()) == 1
    data = tmp_path / "data"
    data.mkdir()
    served = subprocess.run(
        [
            sys.executable,
            "-m",
            "ophsh",
            "serve",
            "--port",
            "0",
            "--store",
            str(store),
            "--data-dir",
            str(data),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert served.returncode != 0 and "Traceback" not in served.stderr
    assert "catalog.sqlite" in served.stderr


def test_a_truncated_array_is_refused_not_shown_in_part(shell, run):
    data, cards = raw_frame(shape=(40, 30))
    write_fits(shell.backend.store.root.parent / "data" / "f.fits", data, **cards)
    run("oph_createcontainer container=c;dim=NAXIS2|NAXIS1;dim_type=int|int")
    # axes swapped: the image is copied into an array file of the store, not referenced
    line = "oph_importfits src_path=f.fits;container=c;exp_dim=NAXIS1;imp_dim=NAXIS2"
    pid = run(line).reply.document.output_cube
    array = next((shell.backend.store.root / "data").iterdir())
    assert array.suffix == ".npy"
    os.truncate(array, array.stat().st_size // 2)
    outcome = shell.run_line(f"oph_explorecube cube={pid};limit_filter=2")
    assert not outcome.ok
    assert outcome.message.startswith(f"cube {pid} cannot be read: array file")
    assert "damaged" in outcome.message
