"""The tutorial's "Ophidia Terminal" section, end to end, as a new user runs it.

Once as the shipped script (scripts/tutorial_terminal.oph), once line by line with a fresh
``ophsh -e`` process per line (each one sees what the previous left in the store), and the
demo that the README's first command runs.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import numpy as np
from astropy.io import fits
from conftest import REPO, SCRIPTS, ophsh

FIRST = "LRS.2016-06-06T20-30-03.925.fits"


def listing(store, cwd) -> list[list[str]]:
    """The rows of ``oph_list level=2`` (what ``ll`` shows) from a new process."""
    result = ophsh("--store", str(store), "-j", "-e", "oph_list level=2", cwd=cwd)
    assert result.returncode == 0, result.stderr
    grid = json.loads(result.stdout)["response"]["response"][0]["objcontent"][0]
    return grid["rowvalues"]


def test_the_terminal_section_runs_as_one_script(night, tmp_path):
    store = tmp_path / "store"
    result = ophsh(
        "--store", str(store), str(SCRIPTS / "tutorial_terminal.oph"), str(night), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    header = fits.getheader(night / FIRST)
    # step 7 shows every header card as metadata, step 8 only the filter
    for key in ("OBS_TYPE", "FLT_ID", "EXPTIME", "DATE-OBS", "BZERO"):
        assert key in result.stdout
    assert header["DATE-OBS"] in result.stdout
    assert len(re.findall(rf"FLT_ID +│ text +│ {header['FLT_ID']} ", result.stdout)) == 2
    assert "Found 1 items" in result.stdout
    assert listing(store, tmp_path) == []  # deleted cube and container: an empty store


def test_the_terminal_section_runs_line_by_line(night, tmp_path):
    store = tmp_path / "store"

    def step(line: str, *flags: str) -> subprocess.CompletedProcess:
        result = ophsh("--store", str(store), *flags, "-e", line, cwd=tmp_path)
        assert result.returncode == 0, f"{line}: {result.stderr}"
        return result

    assert step("pdd").stdout.strip() == str(tmp_path)
    step("oph_createcontainer container=FITS2;dim=NAXIS2|NAXIS1;dim_type=int|int;")
    imported = step(
        f"oph_importfits src_path=[path={night};file={FIRST}];measure=mymeasure;"
        "exp_dim=NAXIS1;imp_dim=NAXIS2;container=FITS2",
        "-j",
    )
    document = json.loads(imported.stdout)["response"]
    pid = next(
        row[3]
        for obj in document["response"]
        if obj["objkey"] == "massive_list"
        for row in obj["objcontent"][0]["rowvalues"]
    )
    assert pid.startswith("http://localhost/ophidia/")
    assert any(pid in row for row in listing(store, tmp_path))  # `ll` in another process

    metadata = json.loads(step(f"oph_metadata mode=read;cube={pid};", "-j").stdout)
    rows = metadata["response"]["response"][1]["objcontent"][0]["rowvalues"]
    header = fits.getheader(night / FIRST)
    values = {row[2]: row[4] for row in rows}
    assert values["FLT_ID"] == header["FLT_ID"] and values["OBS_TYPE"] == header["OBS_TYPE"]
    assert float(values["EXPTIME"]) == header["EXPTIME"]

    only = json.loads(
        step(
            f"oph_metadata mode=read;cube={pid};"
            "metadata_key=FLT_ID;metadata_type=text;metadata_value=test_text;",
            "-j",
        ).stdout
    )
    assert [row[2:5] for row in only["response"]["response"][1]["objcontent"][0]["rowvalues"]] == [
        ["FLT_ID", "text", header["FLT_ID"]]
    ]
    step(f"oph_delete cube={pid};")
    step("oph_deletecontainer container=FITS2;")
    assert listing(store, tmp_path) == []


def test_the_garbled_pdf_line_points_to_the_right_command(night, tmp_path):
    line = (
        f"oph importfits src path=[path={night};file={FIRST}];measure=mymeasure;"
        "exp dim=NAXIS1;imp dim=NAXIS2;container=FITS2"
    )
    result = ophsh("-e", line, cwd=tmp_path)
    assert result.returncode != 0
    assert "oph_importfits src_path=" in result.stderr
    assert "exp_dim=NAXIS1;imp_dim=NAXIS2" in result.stderr


def test_the_demo_generates_frames_runs_the_tutorial_and_calibrates(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPTS / "demo.py"),
            "--dir",
            str(tmp_path / "demo"),
            "--size",
            "64x48",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    raw = sorted((tmp_path / "demo" / "raw").glob("LRS.*.fits"))
    assert raw and np.asarray(fits.getdata(raw[0])).shape == (48, 64)
    assert "Found 1 items" in result.stdout
    calibrated = tmp_path / "demo" / "calibrated"
    for filt in ("B_JOHN_10", "V_JOHN_11", "R_JOHN_12"):
        path = calibrated / f"calibrated_{filt}.fits"
        assert f"{path.name}" in result.stdout  # the user is told where the results are
        assert np.isfinite(fits.getdata(path)).all()
    assert "ds9" in result.stdout  # and how to look at them
    shutil.rmtree(tmp_path / "demo")
