"""Massive operations that go wrong part-way: Ctrl-C keeps and names what was made (so the
user knows what a second run would add again); a bad file fails its own task only."""

from __future__ import annotations

import shutil


def test_an_interrupted_massive_import_says_what_it_kept(shell, run, night, tmp_path):
    shutil.copytree(night, tmp_path / "data" / "raw")
    total = len(list(night.glob("*.fits")))
    run("oph_createcontainer container=c;dim=NAXIS2|NAXIS1;dim_type=int|int")

    def stop_after_three(label: str, done: int, all_: int) -> None:
        if label == "importfits" and done == 3:
            shell.backend.interrupt()  # what Ctrl-C does in the interactive shell

    shell.progress = stop_after_three
    outcome = shell.run_line("oph_importfits src_path=[path=raw;file=*.fits];container=c")
    shell.progress = None
    assert not outcome.ok
    kept = run("oph_list level=2").reply.document.grid("list").column("DATACUBE PID")
    kept = [pid for pid in kept if pid]
    assert len(kept) >= 3 and len(kept) < total  # workers may finish the file they hold
    assert outcome.message.startswith(f"interrupted after {len(kept)} of {total} task(s)")
    assert f"the {len(kept)} cube(s) made are kept" in outcome.message
    listed = outcome.reply.document.grid("massive_list").column("OUTPUT")
    assert sorted(p for p in listed if p) == sorted(kept)


def test_a_link_out_of_the_data_directory_fails_its_own_task_only(tmp_path, night):
    """Through `ophsh serve`, where the data directory is a boundary: the other frames import."""
    from test_server import Served

    server = Served(tmp_path / "served")
    try:
        raw = server.data / "raw"
        shutil.copytree(night, raw)
        outside = tmp_path / "secret.fits"
        shutil.copy(next(night.glob("*.fits")), outside)
        (raw / "zz_link.fits").symlink_to(outside)
        client = server.client()
        client.submit("oph_createcontainer container=c;dim=NAXIS2|NAXIS1;dim_type=int|int;")
        client.submit("oph_importfits src_path=[path=raw;file=*.fits];container=c;")
        answer = client.last_response
        total = len(list(night.glob("*.fits")))
        assert f"1 of {total + 1} failed" in answer and "zz_link.fits" in answer
        assert "leaves the data directory" in answer and str(tmp_path) not in answer
        client.submit("oph_list level=2;")
        assert client.last_response.count("http://localhost/ophidia/1/") == total
    finally:
        server.stop()


def test_a_massive_operation_numbers_its_tasks_and_leaves_its_first_cube_current(shell, run):
    run("oph_createcontainer container=c;dim=x|y;dim_type=int|int")
    for _ in range(3):
        run(
            "oph_randcube container=c;dim=x|y;dim_size=2|3;exp_ndim=1;nfrag=1;ntuple=2;"
            "measure=m;measure_type=double"
        )
    reply = run("oph_reduce cube=[container=c;level=0];operation=max").reply
    info = reply.document.grid("massive_info")
    assert info.title == "Massive Operation Information"
    assert info.rows[0][0] == reply.jobid  # the tasks belong to this job
    tasks = reply.document.grid("massive_list")
    markers = [int(m) for m in tasks.column("MARKER ID")]
    assert len(set(markers)) == 3 and min(markers) > int(reply.jobid.rsplit("#", 1)[1])
    first = tasks.column("OUTPUT")[0]
    assert reply.document.extra["cube"] == first
    assert shell.backend.start().datacube == first  # the session keeps it, as Ophidia's does
