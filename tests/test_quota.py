"""Limits on what one user may create: checked before anything is allocated, one clear line,
nothing made; and per user on a server, so one user cannot fill the disk for the others."""

from __future__ import annotations

from factories import raw_frame, write_fits
from test_server import Served

from ophsh.engine.settings import Settings

RANDCUBE = (
    "oph_randcube container=c;dim=x|y;dim_size={rows}|{cols};exp_ndim=1;nfrag=1;ntuple={rows};"
    "measure=m;measure_type=double"
)


def test_a_cube_larger_than_allowed_is_refused_before_it_is_made(shell, run):
    shell.backend.service.settings = Settings(max_cube_bytes=1 << 20)
    run("oph_createcontainer container=c;dim=x|y;dim_type=int|int")
    outcome = shell.run_line(RANDCUBE.format(rows=1000, cols=1000))
    assert not outcome.ok
    assert outcome.message.startswith("this cube would take 7.6 MiB; a new cube may take at most")
    assert not run("oph_list level=2").reply.document.grid("list").column("DATACUBE PID")[-1]
    assert not list(shell.backend.store.arrays.tmp.iterdir())
    run(RANDCUBE.format(rows=100, cols=100))  # 78 KiB is fine


def test_a_cube_larger_than_the_disk_is_refused_at_once(shell, run):
    run("oph_createcontainer container=c;dim=x|y;dim_type=int|int")
    outcome = shell.run_line(RANDCUBE.format(rows=100000, cols=10**10))
    assert not outcome.ok and "the store's disk has" in outcome.message


def test_each_user_of_a_server_has_a_quota_of_their_own(tmp_path):
    server = Served(tmp_path, "--quota-gb", str(3 / 1024))  # 3 MiB each
    try:
        for user in ("alice", "bob"):
            client = server.client(user)
            client.submit("oph_createcontainer container=c;dim=x|y;dim_type=int|int;")
            client.submit(RANDCUBE.format(rows=500, cols=500) + ";")  # 1.9 MiB
            assert client.last_return_value == 0 and '"ERROR"' not in client.last_response
        alice = server.client("alice")
        assert alice.submit(RANDCUBE.format(rows=500, cols=500) + ";") is None
        assert "your cubes already take 1.9 MiB of your 3.0 MiB" in alice.last_response
        alice.submit("oph_delete;")  # the current cube: room again
        alice.submit(RANDCUBE.format(rows=500, cols=500) + ";")
        assert alice.last_return_value == 0 and '"ERROR"' not in alice.last_response
    finally:
        server.stop()


def test_work_that_needs_a_whole_cube_in_memory_is_refused_beyond_the_budget(shell, run, tmp_path):
    data, cards = raw_frame(shape=(40, 50))
    write_fits(tmp_path / "data" / "f.fits", data, **cards)
    run("oph_createcontainer container=c;dim=NAXIS2|NAXIS1;dim_type=int|int")
    run("oph_importfits src_path=f.fits;container=c;exp_dim=NAXIS1;imp_dim=NAXIS2")
    pid = shell.state.get("OPH_DATACUBE")  # stored transposed: the image's rows are columns
    shell.backend.service.settings = Settings(memory_bytes=512)
    outcome = shell.run_line("oph_exportfits output_path=out;output_name=f")
    assert not outcome.ok
    assert outcome.message.startswith(f"this needs all of {pid} in memory at once (3.9 KiB)")
    assert not (tmp_path / "data" / "out" / "f.fits").exists()
    shell.backend.service.settings = Settings(memory_bytes=1 << 20)
    run("oph_exportfits output_path=out;output_name=f")
