"""The interactive shell in a real pseudo-terminal."""

from __future__ import annotations

import os
import sys

import pexpect
import pytest


@pytest.fixture
def repl(tmp_path):
    # A pty is not a terminal emulator: it cannot answer prompt_toolkit's cursor-position query.
    env = {**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm"}
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
