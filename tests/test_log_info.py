"""oph_log_info: the service's last log lines, for administrators only."""

from __future__ import annotations

import json

import pytest
from conftest import ophsh
from test_server import PASSWORDS, Served

RANDCUBE = (
    "oph_randcube container={};dim=x|y;dim_size=2|3;exp_ndim=1;nfrag=1;ntuple=2;"
    "measure=t;measure_type=double"
)


def logged(outcome) -> list[tuple[str, ...]]:
    grid = outcome.reply.document.grid("log_info")
    assert (grid.title, grid.keys) == ("Log Data", ("TIMESTAMP", "TYPE", "MESSAGE"))
    return list(grid.rows)


def rows(document: dict) -> list[list[str]]:
    (grid,) = [o for o in document["response"] if o["objkey"] == "log_info"]
    content = grid["objcontent"][0]
    assert content["title"] == "Log Data"
    assert content["rowkeys"] == ["TIMESTAMP", "TYPE", "MESSAGE"]
    return content["rowvalues"]


def test_the_shell_user_reads_what_ran_and_how_it_ended(shell, run):
    run("oph_createcontainer container=logged;dim=x|y;dim_type=double|double")
    assert not shell.run_line(RANDCUBE.format("nowhere")).ok
    lines = logged(run("oph_log_info nlines=4"))
    assert len(lines) == 4
    levels = [level for _, level, _ in lines]
    messages = [message for _, _, message in lines]
    assert levels == ["INFO", "INFO", "ERROR", "INFO"]  # oldest first, the failure among them
    assert messages[0].startswith("oph_createcontainer completed")
    assert messages[2].startswith("oph_randcube failed") and "nowhere" in messages[2]
    assert messages[3].startswith("oph_log_info started by")


def test_a_container_log_has_only_the_lines_about_its_cubes(shell, run):
    run("oph_createcontainer container=a;dim=x|y;dim_type=double|double")
    run("oph_createcontainer container=b;dim=x|y;dim_type=double|double")
    made = run(RANDCUBE.format("a"))
    run(RANDCUBE.format("b"))
    pid = made.reply.document.extra["cube"]
    container_id = pid.rsplit("/", 2)[-2]
    lines = logged(run(f"oph_log_info log_type=container;container_id={container_id};nlines=99"))
    assert [m for _, _, m in lines] == [f"oph_randcube completed; cube {pid}"]


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("oph_log_info log_type=ioserver", "no separate I/O server"),
        ("oph_log_info log_type=container", "needs container_id"),
        ("oph_log_info log_type=container;container_id=999", "does not exist"),
        ("oph_log_info nlines=0", "nlines"),
    ],
)
def test_what_cannot_be_shown_is_said_in_one_line(shell, line, says):
    outcome = shell.run_line(line)
    assert not outcome.ok and says in outcome.message


def test_the_server_answers_administrators_only(tmp_path):
    server = Served(tmp_path)
    try:
        done = ophsh(
            "user", "add", "root", "--admin", "--password-stdin", "--store", str(server.store),
            input="rootpass\n",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        listed = ophsh("user", "list", "--store", str(server.store)).stdout.split("\n")
        assert "root (administrator)" in listed and "alice" in listed
        alice = server.client("alice")
        alice.submit("oph_list level=2;")
        assert alice.submit("oph_log_info nlines=5;") is None
        assert alice.last_return_value == 5 and "authentication" in str(alice.last_error)

        PASSWORDS["root"] = "rootpass"
        root = server.client("root")
        root.submit("oph_log_info nlines=10;")
        messages = [m for _, _, m in rows(json.loads(root.last_response))]
        assert any(m.startswith("oph_list started by alice") for m in messages)
        assert not any("oph_log_info started by alice" in m for m in messages)  # refused early
    finally:
        PASSWORDS.pop("root", None)
        server.stop()
