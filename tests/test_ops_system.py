"""Operators about where things are kept and what made them, and those that need Ophidia's
cluster or the web: answers a user can read, in Ophidia's shapes."""

from __future__ import annotations

import pytest
from factories import raw_frame, write_fits

RANDCUBE = (
    "oph_randcube container=c;dim=x|y;dim_size=2|3;exp_ndim=1;nfrag=1;ntuple=2;"
    "measure={measure};measure_type=double"
)


@pytest.fixture
def cube(run) -> str:
    run("oph_createcontainer container=c;dim=x|y;dim_type=int|int")
    return run(RANDCUBE.format(measure="tas")).reply.document.output_cube


@pytest.mark.parametrize("level", [4, 5, 6, 7, 8])
def test_list_levels_4_to_8_tell_where_a_cube_is_kept(run, cube, level):
    grid = run(f"oph_list level={level};cube={cube}").reply.document.grid("list")
    assert grid.title == f"Ophidia Filesystem: cube {cube}"
    columns = ["CONTAINER PATH", "DATACUBE PID", "HOSTNAME", "ID DBMS", "DB NAME"]
    assert list(grid.keys) == [*columns, "FRAGMENT NAME"][: level - 2]
    assert grid.rows[0][:2] == ("/c", cube)


def test_list_filters_by_measure(run, cube):
    other = run(RANDCUBE.format(measure="pr")).reply.document.output_cube
    listed = run("oph_list level=3;measure_filter=pr").reply.document.grid("list")
    assert [row[2] for row in listed.rows if row[2]] == [other]
    assert listed.types[listed.keys.index("LEVEL")] == "int"


def test_fs_lists_folders_below_with_recursive_and_depth(run, tmp_path):
    (tmp_path / "data" / "a" / "b").mkdir(parents=True)
    (tmp_path / "data" / "a" / "b" / "deep.fits").write_bytes(b"")
    (tmp_path / "data" / "a" / "top.fits").write_bytes(b"")
    everything = run("oph_fs command=ls;dpath=a;recursive=yes").reply.document.grid("fs").rows
    assert everything == (("d", "b/"), ("f", "b/deep.fits"), ("f", "top.fits"))
    one = run("oph_fs command=ls;dpath=a;recursive=yes;depth=1").reply.document.grid("fs").rows
    assert one == (("d", "b/"), ("f", "top.fits"))


def test_tasks_list_what_made_each_cube(run, cube):
    reduced = run(f"oph_reduce cube={cube};operation=max").reply.document.output_cube
    grid = run("oph_tasks operator_filter=oph_red%").reply.document.grid("tasks")
    assert grid.title == "Task List" and grid.rows == (("oph_reduce", cube, reduced),)


def test_one_local_instance_and_no_cluster(shell, run):
    hosts = run("oph_instances level=1").reply.document
    assert hosts.grid("instances").rows[0][4] == "up"
    assert hosts.text_titled("Summary") == "Found 1 host instances"
    cluster = shell.run_line("oph_cluster action=info")
    assert not cluster.ok and "no cluster" in cluster.message


def test_operators_that_need_the_web_say_why(shell):
    outcome = shell.run_line("oph_b2drop src_path=x.fits")
    assert not outcome.ok
    assert outcome.message.startswith("oph_b2drop is not available here: it uploads to B2DROP")


def test_randcube2_and_an_empty_grid_list(run):
    run("oph_createcontainer container=c;dim=x|y;dim_type=int|int")
    assert run(RANDCUBE.replace("oph_randcube", "oph_randcube2").format(measure="t"))
    assert run("oph_showgrid container=c").reply.document.grid("showgrid_list").rows == ()


def test_import_with_run_no_tells_the_fragmentation_and_imports_nothing(run, tmp_path):
    data, cards = raw_frame(shape=(8, 5))
    write_fits(tmp_path / "data" / "f.fits", data, **cards)
    run("oph_createcontainer container=c;dim=NAXIS2|NAXIS1;dim_type=int|int")
    doc = run("oph_importfits src_path=f.fits;container=c;run=no;nfrag=4").reply.document
    assert doc.text_titled("Fragmentation parameters").splitlines() == [
        "Number of hosts: 1",
        "Number of fragments per database: 4",
        "Number of tuples per fragment: 2",
    ]
    assert not [row for row in run("oph_list level=2").reply.document.grid("list").rows if row[2]]


def test_cubeschema_adds_a_size_one_dimension_and_clears_reduced_ones(shell, run, cube):
    run("oph_createcontainer container=d;dim=x|y|band;dim_type=int|int|int")
    made = run(
        "oph_randcube container=d;dim=x|y;dim_size=2|3;exp_ndim=1;nfrag=1;ntuple=2;"
        "measure=m;measure_type=double"
    ).reply.document.output_cube
    before = run(f"oph_explorecube cube={made}").reply.document.grid("explorecube_data").rows
    run(f"oph_cubeschema cube={made};action=add;dim=band;dim_level=1")
    added = run(f"oph_cubeschema cube={made}").reply.document
    names = [row[0] for row in added.grid("cubeschema_diminfo").rows]
    assert names == ["x", "band", "y"]  # band is the first implicit dimension, of size 1
    after = run(f"oph_explorecube cube={made}").reply.document.grid("explorecube_data").rows
    assert [row[-1] for row in after] == [row[-1] for row in before]  # the values are the same
    reduced = run(f"oph_reduce2 cube={made};dim=y;operation=max").reply.document.output_cube
    cleared = run(f"oph_cubeschema cube={reduced};action=clear").reply.document
    assert [row[0] for row in cleared.grid("cubeschema_diminfo").rows] == ["x", "band"]
    refused = shell.run_line(f"oph_cubeschema cube={made};action=add;dim=nope")
    assert not refused.ok and "does not declare a dimension 'nope'" in refused.message


def test_script_runs_a_program_of_the_data_directory_with_its_context(shell, run, tmp_path):
    program = tmp_path / "data" / "tools" / "summary.sh"
    program.parent.mkdir()
    program.write_text('#!/bin/sh\necho "$1 $2 in $(pwd) for $OPH_SCRIPT_USER"\necho oops >&2\n')
    program.chmod(0o755)
    doc = run("oph_script script=tools/summary.sh;args=bias|V").reply.document
    where = tmp_path / "data"
    assert doc.text_titled("Script output") == f"bias V in {where} for {shell.backend.user}"
    assert doc.text_titled("Script errors") == "oops"
    assert doc.text_titled("Return code") == "0"
    program.write_text("#!/bin/sh\nexit 3\n")
    failed = shell.run_line("oph_script script=tools/summary.sh")
    assert not failed.ok and "ended with status 3" in failed.message
    plain = tmp_path / "data" / "notes.txt"
    plain.write_text("not a program")
    refused = shell.run_line("oph_script script=notes.txt")
    assert not refused.ok and "not an executable file" in refused.message
