"""The guided course (`ophsh tutorial`): lessons as data, checks on the store, a pty session."""

from __future__ import annotations

import filecmp
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from conftest import SCRIPTS, ophsh

from ophsh.tutorial.checks import CHECKS
from ophsh.tutorial.course import Course, fill
from ophsh.tutorial.lessons import LESSONS_DIR, LessonError, load_lessons
from ophsh.tutorial.practice import Practice

BIN = Path(sys.executable).parent  # ophsh and python3 of this environment


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def course(tmp_path, monkeypatch):
    practice = Practice(tmp_path / "practice")
    practice.prepare()
    monkeypatch.chdir(practice.home)
    shell = practice.open_shell()
    yield Course(load_lessons(CHECKS), practice, shell)
    shell.backend.close()


def go_to(course: Course, lesson: int, step: int) -> None:
    """Start ``lesson`` and skip (the solutions run) up to ``step`` (1-based)."""
    course.start_lesson(lesson)
    for _ in range(step - 1):
        course.command("skip")


def typed(course: Course, line: str) -> list[tuple[str, str]]:
    return course.verdict(course.shell.run_line(line))


def wrong(messages: list[tuple[str, str]]) -> str:
    said = [text for kind, text in messages if kind == "wrong"]
    assert said, messages
    assert all(len(text.splitlines()) <= 2 for text in said), said
    return "\n".join(said)


def run_elsewhere(commands: list[str], servers: list[subprocess.Popen]) -> None:
    """Run a step meant for another terminal as a user would, in a shell."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    for command in commands:
        if command.startswith("ophsh serve"):
            server = subprocess.Popen(  # its own process group: the shell and the server
                command,
                shell=True,
                env=env,
                stdout=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            servers.append(server)
            assert server.stdout.readline().startswith("ophsh serve: https://127.0.0.1:")
        else:
            done = subprocess.run(command, shell=True, env=env, capture_output=True, text=True)
            assert done.returncode == 0, done.stderr


def stop(servers: list[subprocess.Popen]) -> None:
    """Stop the servers run_elsewhere started: the shell that ran each, and the server itself."""
    for server in servers:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)


def test_every_lesson_is_valid_and_every_solution_passes_its_own_check(course):
    course.shell.state.set("OPH_SERVER_PORT", str(free_port()))
    servers: list[subprocess.Popen] = []
    passed = 0
    try:
        course.start_lesson(1)
        while not course.finished:
            step = course.step
            where = f"lesson {course.lesson.number} step {course.pos.step + 1} ({step.goal})"
            if not step.checks:
                messages = course.command("next")
            elif step.elsewhere:
                run_elsewhere([course.fill(line) for line in step.solution], servers)
                messages = course.command("next")
            else:
                for line in step.solution:
                    outcome = course.shell.run_line(course.fill(line))
                    assert outcome.ok, f"{where}: {line} failed: {outcome.message}"
                    messages = course.verdict(outcome)
            assert ("ok", course.fill(step.done) or "Right.") in messages or not step.checks, where
            passed += bool(step.checks)
    finally:
        stop(servers)
    assert passed == sum(1 for lesson in course.lessons for s in lesson.steps if s.checks)
    assert ("ok", "That was the last lesson: the course is complete. Well done!") in messages
    # what the user is told to open is there
    assert (course.practice.home / "galaxy.png").read_bytes().startswith(b"\x89PNG")
    assert (course.practice.home / "results" / "final_V.fits").is_file()


def test_the_pdf_text_and_unreplaced_stars_are_explained(course):
    go_to(course, 1, 4)
    said = wrong(
        typed(
            course,
            "oph importfits src path=[path=/data/INDIGO-FITS/fits-raw;"
            "file=LRS.2016-06-06T20-30-03.925.fits];measure=mymeasure;"
            "exp dim=NAXIS1;imp dim=NAXIS2;container=FITS2",
        )
    )
    assert "underscores" in said
    assert "Step 4/9" in course.show()[-1][1]  # still the same step
    course.command("skip")
    course.command("skip")  # ll
    said = wrong(
        typed(course, "oph_metadata mode=read;cube=https://ophidialab.cmcc.it/ophidia/***/***;")
    )
    assert "Replace ***/***" in said
    assert "PID" in course.command("hint")[0][1]


def test_a_wrong_cube_says_what_it_is(course):
    go_to(course, 2, 4)
    said = wrong(
        typed(
            course,
            "oph_mergecubes2 cubes=[container=FITS2;level=0;metadata_key=FLT_ID;"
            "metadata_value=OPEN];dim=z",
        )
    )
    assert "$bias is not set" in said
    typed(course, "setenv bias:=$OPH_DATACUBE")  # the stack, before the median
    said = wrong(course.command("next"))
    assert "z=5" in said and "a frame has NAXIS1=64, NAXIS2=64" in said


def test_the_notebooks_section_xiii_slip_is_recognised(course):
    go_to(course, 2, 9)
    assert "Section XIII" in course.show()[-1][1]  # the step teaches it
    run = course.shell.run_line
    bias = course.shell.state.get("bias")
    run("oph_intercube cube=$flatB;cube2=$bias;operation=sub")
    said = wrong(typed(course, "setenv bias:=$OPH_DATACUBE"))  # the notebook's cube11 = ...
    assert "section XIII slip" in said
    run("setenv flatB:=$bias")
    run("oph_intercube cube=$flatV;cube2=$bias;operation=sub")  # flatV - (flatB - bias)
    run("setenv flatV:=$OPH_DATACUBE")
    said = wrong(course.command("next"))
    assert "$bias is not the master bias" in said
    course.shell.state.set("bias", bias)
    said = wrong(course.command("next"))
    assert "$flatV had flat B minus bias subtracted" in said


def test_dividing_by_a_flat_that_is_not_normalised_is_explained(course):
    go_to(course, 2, 10)
    raw_flat = course.shell.state.get("flatV")  # flat minus bias, as the notebook divides by
    course.command("skip")  # normalised for us; but divide by the raw one, as the notebook does
    course.shell.state.set("flatV", raw_flat)
    typed(course, "oph_intercube cube=$sciV;cube2=$flatV;operation=div")
    said = wrong(typed(course, "setenv calV:=$OPH_DATACUBE"))
    assert "not normalised" in said
    assert "Step 11/14" in course.show()[-1][1]


def test_progress_and_variables_survive_a_restart(tmp_path, monkeypatch):
    practice = Practice(tmp_path / "practice")
    practice.prepare()
    monkeypatch.chdir(practice.home)
    shell = practice.open_shell()
    first = Course(load_lessons(CHECKS), practice, shell)
    go_to(first, 2, 5)
    shell.backend.close()
    shell = practice.open_shell()
    again = Course(load_lessons(CHECKS), practice, shell)
    assert "Step 5/14: Master flat of the B filter" in again.show()[-1][1]
    again.command("back")
    assert again.problem(None) is None  # $bias came back with the progress: the master bias
    shell.backend.close()


def test_a_teacher_adds_a_lesson_file_and_mistakes_name_the_file(tmp_path):
    (tmp_path / "01_mine.toml").write_text(
        'title = "Mine"\n[[steps]]\ngoal = "Say where you are"\nsolution = "pwd"\n'
        'checks = [{ name = "ran", request = "^getenv OPH_CWD", what = "pwd" }]\n'
    )
    (lesson,) = load_lessons(CHECKS, tmp_path)
    assert (lesson.title, lesson.steps[0].solution) == ("Mine", ("pwd",))
    (tmp_path / "02_bad.toml").write_text(
        'title = "Bad"\n[[steps]]\ngoal = "x"\nchecks = [{ name = "cube_exist" }]\n'
    )
    with pytest.raises(LessonError, match=r"02_bad\.toml step 1: unknown check 'cube_exist'"):
        load_lessons(CHECKS, tmp_path)
    (tmp_path / "02_bad.toml").write_text(
        'title = "Bad"\n[[steps]]\ngoal = "x"\nsolution = "ll"\n'
        'checks = [{ name = "cube_count", contianer = "FITS2", count = 1 }]\n'
    )
    with pytest.raises(LessonError, match=r"cube_count: missing a required argument: 'container'"):
        load_lessons(CHECKS, tmp_path)


def test_the_workflow_lesson_ships_the_scripts_workflow():
    assert filecmp.cmp(LESSONS_DIR / "calibrate.json", SCRIPTS / "calibrate.json", shallow=False)


def test_list_reset_and_the_builtin_that_points_to_the_course(tmp_path):
    listed = ophsh("tutorial", "--dir", str(tmp_path), "--list")
    assert listed.returncode == 0, listed.stderr
    assert "1. The Ophidia Terminal" in listed.stdout
    assert "4. PyOphidia through ophsh serve" in listed.stdout
    assert (tmp_path / "disk/data/INDIGO-FITS/fits-raw/LRS.2016-06-06T20-30-03.925.fits").is_file()
    (tmp_path / "progress.json").write_text('{"lesson": "03_workflow", "step": 1}')
    assert (
        "same calibration as a workflow (3 steps) <- you are here"
        in ophsh("tutorial", "--dir", str(tmp_path), "--list").stdout
    )
    reset = ophsh("tutorial", "--dir", str(tmp_path), "--reset", "--list")
    assert "is fresh again" in reset.stdout
    assert "Terminal (9 steps) <- you are here" in reset.stdout
    assert "ophsh tutorial" in ophsh("-e", "tutorial").stdout
    piped = ophsh("tutorial", "--dir", str(tmp_path), input="pdd\n")
    assert piped.returncode == 4
    assert "run it in a terminal" in piped.stderr


def spawn(directory: Path, *args: str, port: str = "") -> pexpect.spawn:
    env = {**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm", "PAGER": "cat"}
    if port:
        env["OPH_SERVER_PORT"] = port  # the port the PyOphidia lesson's server listens on
    return pexpect.spawn(
        sys.executable,
        ["-m", "ophsh", "tutorial", "--dir", str(directory), *args],
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 160),
        env=env,
    )


def test_a_course_in_a_terminal_with_mistakes_hints_and_a_restart(tmp_path):
    child = spawn(tmp_path, "--lesson", "1")
    child.expect_exact("Step 1/9: Find out which folder")
    child.expect_exact(">>")
    child.sendline("lsd")
    child.expect_exact("Not yet: this step wants pdd.")
    child.send("hin\t")  # the course's commands complete too
    child.expect_exact("hint")
    child.sendline("")
    child.expect_exact("Just type pdd")
    child.sendline("show solution")
    child.expect_exact("Type at the prompt:")
    child.sendline("help pdd")  # the shell's help works as usual
    child.expect_exact("OPH_CDD")
    child.sendline("pdd")
    child.expect_exact("/data")
    child.expect_exact("✓ That is /data on the practice disk")
    child.expect_exact("Step 2/9")
    child.sendline("lsd INDIGO-FITS/fits-raw")
    child.expect_exact("LRS.2016-06-06T20-30-03.925.fits")
    child.expect_exact("Step 3/9")
    child.send("oph_createcont\t")  # completion works at the course's prompt
    child.expect_exact("oph_createcontainer")
    child.sendline(" container=FITS2;dim=NAXIS2|NAXIS1;dim_type=int|int;")
    child.expect_exact("✓ FITS2 exists")
    child.expect_exact("Step 4/9")
    child.sendline(
        "oph importfits src path=[path=/data/INDIGO-FITS/fits-raw;"
        "file=LRS.2016-06-06T20-30-03.925.fits];measure=mymeasure;exp dim=NAXIS1;imp dim=NAXIS2;"
        "container=FITS2"
    )
    child.expect_exact("did you mean: oph_importfits")  # the shell's own hint
    child.expect_exact("✗ That is the PDF's text: the underscores are missing")
    child.sendline("quit")
    child.expect_exact("Your progress is kept")
    child.expect(pexpect.EOF)

    child = spawn(tmp_path)  # a new session resumes at the same step
    child.expect_exact("Step 4/9: Import the first frame")
    child.expect_exact(">>")
    child.send("\x1b[A\x1b[A")  # Up, Up: past `quit`, the history of the last session
    child.expect_exact("importfits")  # (coloured token by token)
    child.send("\x03")  # Ctrl-C drops the line
    child.expect_exact(">>")
    child.sendline("skip")
    child.expect_exact("Step 5/9")
    child.sendline("back")
    child.expect_exact("Step 4/9")
    child.sendline("lessons")
    child.expect_exact("The Ophidia Terminal (9 steps) <- you are here")
    child.expect_exact(">>")
    child.sendeof()  # Ctrl-D leaves too
    child.expect(pexpect.EOF)


def test_the_whole_course_typed_in_a_terminal(tmp_path):
    practice, port = Practice(tmp_path), str(free_port())
    servers: list[subprocess.Popen] = []
    child = spawn(tmp_path, port=port)
    try:
        for lesson in load_lessons(CHECKS):
            for number, step in enumerate(lesson.steps, 1):
                child.expect_exact(f"Step {number}/{len(lesson.steps)}: ")
                lines = [fill(line, practice, port) for line in step.solution]
                if step.elsewhere:
                    run_elsewhere(lines, servers)
                if step.elsewhere or not step.checks:
                    lines = ["next"]
                for line in lines:
                    child.expect_exact(">>")
                    child.sendline(line)
                if step.checks:
                    child.expect_exact("✓ ")
        child.expect_exact("the course is complete")
        child.sendline("quit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
        stop(servers)
    assert (practice.home / "galaxy.png").read_bytes().startswith(b"\x89PNG")
