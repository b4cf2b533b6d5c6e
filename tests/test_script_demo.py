"""The demo (the README's first command) tells a short story, not every reply."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO, SCRIPTS


def test_the_demo_says_what_ran_where_the_results_are_and_what_to_try(tmp_path):
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "demo.py"), "--dir", str(tmp_path / "d"), "--size", "64x48"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) < 50, result.stdout
    assert not any(line.startswith(("┌", "│")) for line in lines)  # no reply tables
    assert any("oph_importfits" in line and "completed" in line for line in lines)
    assert any(line.strip().startswith("calibrated_V_JOHN_11.fits") for line in lines)
    assert "Try it yourself" in result.stdout
    replies = tmp_path / "d" / "replies" / "calibrate.json"
    assert str(replies.parent) in result.stdout
    assert replies.read_text().lstrip().startswith("{")  # every reply kept, as -j prints it
