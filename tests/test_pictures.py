"""Pictures of 2-D cubes: PNG files with the frame's orientation, and a terminal preview."""

from __future__ import annotations

import sys

import numpy as np
import pexpect
import pytest
from factories import write_fits
from PIL import Image


@pytest.fixture
def spot(run, tmp_path):
    """A 40x30 float frame, dark except one bright pixel at row 10, column 20."""
    data = np.random.default_rng(0).normal(100, 5, size=(40, 30)).astype(np.float32)
    data[10, 20] = 5000
    write_fits(tmp_path / "data" / "spot.fits", data)
    run("oph_createcontainer container=c;dim=NAXIS2|NAXIS1;dim_type=int|int")
    return tmp_path / "data"


@pytest.mark.parametrize(
    "layout", ["exp_dim=NAXIS2;imp_dim=NAXIS1", "exp_dim=NAXIS1;imp_dim=NAXIS2"]
)
def test_png_keeps_the_frames_orientation(spot, run, layout):
    run(f"oph_importfits src_path=spot.fits;container=c;{layout}")
    outcome = run("oph_explorecube output=spot.png;stretch=minmax")
    assert "picture written to" in outcome.text
    image = np.asarray(Image.open(spot / "spot.png"))
    assert image.shape == (40, 30)
    row, col = np.unravel_index(np.argmax(image), image.shape)
    assert (row, col) == (40 - 1 - 10, 20)  # first FITS row at the bottom, as ds9 draws it


def test_a_picture_needs_a_2d_cube(run, shell):
    run("cc r")
    run(
        "oph_randcube container=r;dim=lat|lon|time;dim_size=2|3|4;exp_ndim=2;nfrag=2;ntuple=3;"
        "measure=m;measure_type=double"
    )
    outcome = shell.run_line("oph_explorecube output=x.png")
    assert not outcome.ok and "2-D cube" in outcome.message


def test_show_previews_in_the_terminal(spot, tmp_path):
    import os

    from conftest import ophsh

    store = str(tmp_path / "store")
    done = ophsh(
        "--store",
        store,
        "-e",
        "oph_createcontainer container=c;dim=NAXIS2|NAXIS1;dim_type=int|int",
        cwd=spot,
    )
    assert done.returncode == 0
    ophsh("--store", store, "-e", "oph_importfits src_path=spot.fits;container=c", cwd=spot)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "ophsh", "--store", store, "-e", "show preview=yes"],
        cwd=str(spot),
        encoding="utf-8",
        dimensions=(60, 120),
        env={**os.environ, "TERM": "xterm-256color"},
    )
    child.expect(pexpect.EOF)
    assert child.before.count("▀") >= 30 * 20  # 30 columns, 40 rows as 20 lines of half blocks
