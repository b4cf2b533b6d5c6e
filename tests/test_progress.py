"""Progress bars: drawn while a script runs in a terminal, absent with -q or without one."""

from __future__ import annotations

import sys

import pexpect
import pytest
from conftest import ophsh
from factories import raw_frame, write_fits

ELAPSED = "0:00:0"  # the bar's elapsed-time column


@pytest.fixture
def script(tmp_path):
    """Six frames and a script that imports them all and takes their median."""
    for i in range(6):
        data, cards = raw_frame(shape=(40, 30), seed=i)
        write_fits(tmp_path / "raw" / f"f{i}.fits", data, **cards)
    path = tmp_path / "median.oph"
    path.write_text(
        "oph_createcontainer container=c;dim=NAXIS2|NAXIS1;dim_type=int|int\n"
        "oph_importfits src_path=[path=raw;file=*.fits];container=c\n"
        "oph_mergecubes2 cubes=[container=c];dim=z\n"
        "oph_reduce2 operation=quantile;order=0.5\n"
    )
    return path


def in_terminal(tmp_path, *args: str) -> str:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "ophsh", "--store", str(tmp_path / "store"), *args],
        cwd=str(tmp_path),
        encoding="utf-8",
        dimensions=(40, 160),
        timeout=60,
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    return child.before


def test_bars_show_in_a_terminal(tmp_path, script):
    screen = in_terminal(tmp_path, str(script))
    assert "importfits" in screen and "6/6" in screen and ELAPSED in screen


def test_quiet_draws_no_bar(tmp_path, script):
    screen = in_terminal(tmp_path, "-q", str(script))
    assert ELAPSED not in screen and "6/6" not in screen


def test_no_bar_when_output_is_not_a_terminal(tmp_path, script):
    result = ophsh("--store", str(tmp_path / "store"), str(script), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert ELAPSED not in result.stderr + result.stdout
