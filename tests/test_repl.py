"""The interactive shell in a real pseudo-terminal."""

from __future__ import annotations

import os
import sys
import time

import pexpect
import pytest


@pytest.fixture
def repl(tmp_path):
    # A pty is not a terminal emulator: it cannot answer prompt_toolkit's cursor-position query.
    env = {**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm", "PAGER": "cat"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "ophsh"],
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 160),
        env=env,
    )
    child.expect_exact(">>")
    yield child
    child.close(force=True)


def test_a_command_runs_and_quit_leaves(repl):
    repl.sendline("oph_createcontainer container=typed;dim=x")
    repl.expect_exact("Output Container")
    repl.expect_exact(">>")
    repl.sendline("ls")
    repl.expect_exact("typed")
    repl.sendline("quit")
    repl.expect(pexpect.EOF)


def test_an_open_bracket_continues_the_command_on_the_next_line(repl):
    repl.sendline("oph_list level=2;path=[")
    repl.sendline("]")
    # the two lines form one command: a bracket value is no folder path, so it is refused
    repl.expect_exact("does not take a [filter]")


def test_errors_are_one_line_and_the_shell_goes_on(repl):
    repl.sendline("oph_lisst")
    repl.expect_exact("did you mean oph_list?")
    repl.expect_exact(">>")
    repl.sendline("pwd")
    repl.expect_exact("/")


def test_ctrl_d_exits(repl):
    repl.sendeof()
    repl.expect(pexpect.EOF)


def test_tab_completes_operator_names(repl):
    repl.send("oph_reduc")
    repl.send("\t")
    repl.expect_exact("oph_reduce2")
    repl.send("\x03")  # Ctrl-C drops the line
    repl.expect_exact(">>")


def test_what_is_typed_is_coloured(repl):
    repl.send("oph_list level=2")
    repl.expect(r"\x1b\[[0-9;]*m\s*level")  # the key gets a colour of its own
    repl.send("\x03")


def test_ctrl_r_finds_an_earlier_command(repl):
    repl.sendline("oph_createcontainer container=remembered;dim=x")
    repl.expect_exact("Output Container")
    repl.sendline("pwd")
    repl.expect_exact(">>")
    repl.send("\x12")  # Ctrl-R
    repl.expect_exact("reverse-i-search")
    repl.send("remem")
    repl.expect_exact("oph_createcontainer")  # the older command, found
    repl.send("\r")  # keep it
    repl.send("\r")  # and run it
    repl.expect_exact("already exists")


def test_ctrl_c_stops_a_running_job_and_the_shell_goes_on(repl, tmp_path):
    (tmp_path / "wait.json").write_text(
        '{"name": "w", "exec_mode": "sync", "direct_output": "no", "tasks": ['
        '{"name": "pause", "operator": "oph_wait", "arguments": ["type=clock", "timeout=120"]}]}'
    )
    repl.sendline("./wait.json")
    repl.expect_exact("wait.json")
    time.sleep(2)  # let the job start (a Ctrl-C before that cancels the line, not a job)
    repl.send("\x03")
    repl.expect_exact("stopping")
    repl.expect_exact("interrupted")
    repl.expect_exact(">>")
    repl.sendline("pwd")
    repl.expect_exact("/")


def test_long_outputs_go_through_the_pager(tmp_path):
    env = {**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm", "PAGER": "sed s/^/PAGED:/"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "ophsh"],
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=20,
        dimensions=(20, 160),
        env=env,
    )
    child.expect_exact(">>")
    child.sendline("oph_operators_list")  # some 80 rows: taller than 20 lines
    child.expect_exact("PAGED:")
    child.expect_exact("OPH_REDUCE2")  # names as Ophidia lists them
    child.expect_exact(">>")
    child.sendline("oph_list")  # short: printed straight, not through the pager
    child.expect_exact("Ophidia Filesystem")
    assert not child.before.endswith("PAGED:")
    child.expect_exact(">>")
    assert "PAGED:" not in child.before
    child.close(force=True)
