"""Every default alias expands to what oph_term's does and runs on the embedded store."""

from __future__ import annotations

import pytest
from factories import raw_frame, write_fits
from make_climate import make_climate

REFUSED = {
    # alias -> the clear refusal it meets here: nothing to act on, or an operator the
    # embedded store does not run
    "kill": "workflow 1 is not running in this session",
    "repeat": "container or folder 'c' already exists",  # workflow 1 made it
}


@pytest.fixture
def ready(shell, run, tmp_path):
    """A container with one cube, a folder and a directory, for the aliases to act on."""
    data, cards = raw_frame()
    write_fits(tmp_path / "data" / "f.fits", data, **cards)
    make_climate(tmp_path / "data" / "f.nc", years=1, grid=30)
    (tmp_path / "data" / "dir").mkdir()
    run("oph_createcontainer container=c;dim=NAXIS2|NAXIS1;dim_type=int|int")
    run("oph_importfits src_path=f.fits;container=c")
    run("mkdir folder")
    return shell


ARGS = {
    "ls": "",
    "ll": "",
    "lr": "/",
    "cd": "folder",
    "mkdir": "newfolder",
    "mvdir": "folder moved",
    "rmdir": "folder",
    "pwd": "",
    "mv": "c c2",
    "rm": "empty",
    "rmr": "c",
    "del": "$OPH_DATACUBE",
    "drop": "",
    "man": "oph_list",
    "cc": "latlon",
    "rc": "r 2 2 2",
    "kill": "1",
    "lsd": "",
    "cdd": "dir",
    "pdd": "",
    "mkdird": "newdir",
    "mvd": "dir dir2",
    "rmd": "dir",
    "getprogress": "1",
    "show": "",
    "new": "",
    "jobs": "",
    "ncdump": "f.nc",
    "repeat": "1",
}


def test_every_default_alias_is_exercised(specs):
    assert set(ARGS) == set(specs.aliases)


@pytest.mark.parametrize("alias", sorted(ARGS))
def test_alias_runs(ready, run, alias):
    shell = ready
    if alias == "rm":
        run("oph_createcontainer container=empty;dim=x")
    if alias == "rc":
        run("cc r")  # oph_randcube fills a container that declares its dimensions
    line = f"{alias} {ARGS[alias]}".strip()
    body = shell.state.aliases[alias]
    out = shell.run_line(line)
    if alias in REFUSED:
        assert not out.ok
        assert REFUSED[alias] in out.message
        return
    assert out.ok, out.message
    if body.startswith("getenv"):
        assert out.text == shell.state.get(body.split()[1])
    else:
        assert out.request.startswith(body.split()[0])
        shell.backend.service.wait()  # drop runs asynchronously, as in oph_term


def test_alias_effects(ready, run, tmp_path):
    run("mvdir folder moved")
    assert ["f", "moved/"] in [list(r) for r in run("ls").reply.document.grid("list").rows]
    run("mkdird newdir")
    assert (tmp_path / "data" / "newdir").is_dir()
    run("mvd newdir other")
    assert (tmp_path / "data" / "other").is_dir()
    run("rmd other")
    assert not (tmp_path / "data" / "other").exists()
    run("cc latlon")
    dims = run("oph_containerschema container=latlon").reply.document.grid(
        "containerschema_diminfo"
    )
    assert [r[:3] for r in dims.rows] == [
        ("lat", "double", "oph_base"),
        ("lon", "double", "oph_base"),
        ("time", "double", "oph_time"),
    ]
    jobs = run("jobs").reply.document.grid("loggingbk")
    assert any("oph_containerschema" in row[-1] for row in jobs.rows)
    run("oph_createcontainer container=twice;dim=x")
    made = run("oph_resume id=0").reply.document.grid("resume").rows[-1][2]
    run("oph_deletecontainer container=twice")
    again = run(f"repeat {made}")  # the stored request runs again as a new workflow
    assert again.ok, again.message
    assert any(row[1] == "twice" for row in run("ls").reply.document.grid("list").rows)
