"""The interactive shell in a real pseudo-terminal."""

from __future__ import annotations

import os
import sys
import time

import pexpect
import pytest
from factories import raw_frame, write_fits

# A workflow of one two-minute pause: a job that runs until the test stops it.
LONG_WAIT = (
    '{"name": "w", "exec_mode": "sync", "direct_output": "no", "tasks": ['
    '{"name": "pause", "operator": "oph_wait", "arguments": ["type=clock", "timeout=120"]}]}'
)


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
    repl.sendline("pwd")  # typing something else ignores the offered correction
    repl.expect_exact("\x1b[?2004l/\r\n")  # its output, a line of its own


def test_the_offered_correction_is_edited_with_the_right_arrow(repl):
    repl.sendline("oph_lisst level=2")
    repl.expect_exact("offered on the prompt")
    repl.expect_exact(">>")
    repl.send("\x1b[C")  # right arrow: the correction is in the line, ready to edit
    repl.send("\x08")  # backspace: level=2 becomes level=
    repl.sendline("1")
    repl.expect_exact("Ophidia Filesystem")


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
    repl.send("\r")  # Enter runs it, as in bash
    repl.expect_exact("already exists")


def test_ctrl_c_stops_a_running_job_and_the_shell_goes_on(repl, tmp_path):
    (tmp_path / "wait.json").write_text(LONG_WAIT)
    repl.sendline("./wait.json")
    repl.expect_exact("wait.json")
    time.sleep(2)  # let the job start (a Ctrl-C before that cancels the line, not a job)
    repl.send("\x03")
    repl.expect_exact("stopping")
    repl.expect_exact("interrupted")
    repl.expect_exact(">>")
    repl.sendline("pwd")
    repl.expect_exact("/")


def paged_shell(tmp_path) -> pexpect.spawn:
    """The shell in a 20-line terminal whose pager marks every line it shows with PAGED:."""
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
    return child


def test_long_outputs_go_through_the_pager(tmp_path):
    child = paged_shell(tmp_path)
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


def test_a_wrapped_tutorial_command_typed_line_by_line_runs(repl, tmp_path):
    data, cards = raw_frame()
    write_fits(tmp_path / "raw" / "LRS.fits", data, **cards)
    repl.sendline("oph_createcontainer container=FITS2;dim=NAXIS2|NAXIS1;dim_type=int|int;")
    repl.expect_exact("Output Container")
    repl.expect_exact(">>")
    repl.sendline(f"oph importfits src path=[path={tmp_path}/raw;")  # as the PDF prints it
    repl.expect_exact("...")  # the bracket is open: the command goes on
    repl.sendline("file=LRS.fits];measure=mymeasure;")
    repl.expect_exact("did you mean: oph_importfits src_path=")
    repl.expect_exact(">>")
    repl.sendline("exp dim=NAXIS1;imp dim=NAXIS2;container=FITS2")  # the third printed line
    repl.expect_exact("joined with the previous command")
    repl.expect_exact("exp_dim=NAXIS1;imp_dim=NAXIS2;container=FITS2")  # the whole correction
    repl.expect_exact(">>")
    repl.send("\r")  # one key runs the correction offered on the prompt
    repl.expect_exact("(1/1) >>")  # the imported frame is the current cube
    repl.sendline("oph_cubeschema")
    repl.expect_exact("mymeasure")


def test_a_key_line_with_nothing_to_continue_says_so(repl):
    repl.sendline("container=FITS2;dim=x")
    repl.expect_exact("looks like the rest of a command")
    repl.expect_exact(">>")


def test_the_prompt_lets_go_of_a_deleted_cube(repl):
    repl.sendline("oph_createcontainer container=c;dim=x|y;dim_type=int|int")
    repl.expect_exact(">>")
    repl.sendline(
        "oph_randcube container=c;dim=x|y;dim_size=2|3;exp_ndim=1;nfrag=1;ntuple=2;"
        "measure=m;measure_type=double"
    )
    repl.expect_exact("(1/1) >>")
    repl.sendline("oph_delete")
    repl.expect_exact("[embedded] / >>")
    repl.sendline("getenv OPH_DATACUBE")
    repl.expect_exact("variable OPH_DATACUBE not found")


def test_help_goes_through_the_pager_when_it_is_long(tmp_path):
    child = paged_shell(tmp_path)
    child.sendline("help")
    child.expect_exact("PAGED:")
    child.expect_exact("Built-in commands")
    child.close(force=True)


def test_history_events_run_the_earlier_command(repl):
    repl.sendline("mkdir first")
    repl.expect_exact(">>")
    repl.sendline("oph_list level=1")
    repl.expect_exact("first")
    repl.expect_exact(">>")
    repl.sendline("^level=1^level=2")  # the last command, changed
    repl.expect_exact("oph_list level=2")  # the expansion is echoed
    repl.expect_exact("DATACUBE PID")  # and runs: level 2 lists cubes
    repl.expect_exact(">>")
    repl.sendline("!!")
    repl.expect_exact("oph_list level=2")
    repl.expect_exact("DATACUBE PID")
    repl.expect_exact(">>")
    repl.sendline("!99")
    repl.expect_exact("event not found")
    repl.expect_exact(">>")
    repl.sendline("history")
    repl.expect_exact("history")
    repl.expect_exact(">>")
    listed = repl.before
    assert "oph_list level=2" in listed and "!!" not in listed  # what ran, not !!


def test_watch_repeats_a_command_until_ctrl_c(repl):
    repl.sendline("watch -n 1 pwd")
    repl.expect_exact("Watching every 1 seconds: pwd")
    repl.expect_exact("Watching every 1 seconds: pwd")  # again
    repl.send("\x03")
    repl.expect_exact("stopped watching")
    repl.expect_exact(">>")


def test_the_coloured_viewer_colours_titles_as_the_prompt(repl):
    repl.sendline("oph_list")
    repl.expect_exact("Ophidia Filesystem")
    assert not repl.before.endswith("\x1b[1;32m")  # basic: no colour
    repl.expect_exact(">>")
    repl.sendline("setenv OPH_TERM_PS1=green")
    repl.expect_exact(">>")
    repl.sendline("setenv OPH_TERM_VIEWER=coloured")
    repl.expect_exact(">>")
    repl.sendline("oph_list")
    repl.expect_exact("\x1b[1;32mOphidia Filesystem")


def test_oph_timeout_stops_a_command_that_takes_too_long(repl, tmp_path):
    (tmp_path / "wait.json").write_text(LONG_WAIT)
    repl.sendline("setenv OPH_TIMEOUT=1")
    repl.expect_exact(">>")
    repl.sendline("./wait.json")
    repl.expect_exact("no reply within OPH_TIMEOUT=1 seconds")
    repl.expect_exact("interrupted")
    repl.expect_exact(">>")
