"""Built-ins, aliases, variables and how replies update them."""

from __future__ import annotations

import shutil

import pytest

from ophsh.errors import ExitCode
from ophsh.shell.state import ShellState


def test_help_lists_commands_and_explains_each_kind_of_name(run):
    text = run("help").text
    assert "setenv NAME=value" in text and "ll " in text and "OPH_DATACUBE" in text
    assert "usage" not in run("help setenv").text.lower() or ":=" in run("help setenv").text
    assert "oph_list path=$1;level=2;" in run("help ll").text
    assert "last cube produced" in run("help OPH_DATACUBE").text
    page = run("help importfits").text
    assert page.startswith("oph_importfits - ") and "src_path" in page and "sessionid" not in page


def test_help_for_an_unknown_name_fails(shell):
    out = shell.run_line("help frobnicate")
    assert not out.ok and "no help for 'frobnicate'" in out.message


def test_setenv_keeps_the_text_and_colon_equals_expands_now(shell, run):
    run("setenv a=1")
    run("setenv live=$a")
    run("setenv fixed:=$a")
    run("setenv a=2")
    assert run("getenv live").text == "$a"
    assert shell.state.expand("$live/$fixed") == "2/1"


def test_setenv_rules(shell):
    for bad in ("setenv oph_x=1", "setenv 123=1", "setenv novalue"):
        out = shell.run_line(bad)
        assert not out.ok and out.exit_code == ExitCode.INVALID_PARAMETER, bad


def test_quoted_values(run, shell):
    run('setenv title="two words"')
    assert shell.state.get("title") == "two words"


def test_getenv_unsetenv_and_env(shell, run):
    run("setenv x=5")
    assert "x=5" in run("env").text.splitlines()
    run("unsetenv x")
    out = shell.run_line("getenv x")
    assert not out.ok and "variable x not found" in out.message
    assert not shell.run_line("unsetenv x").ok


def test_env_shows_predefined_variables_first_and_hides_the_password(shell, run):
    shell.state.set("OPH_PASSWD", "secret")
    lines = run("env").text.splitlines()
    assert lines[0].startswith("OPH_TERM_PS1=")
    assert "OPH_PASSWD=***" in lines and "secret" not in "\n".join(lines)
    assert "OPH_EXEC_MODE=sync" in lines


def test_aliases_can_be_listed_defined_used_and_removed(shell, run):
    assert "ll=oph_list path=$1;level=2;" in run("alias").text.splitlines()
    run("setalias lsc=oph_list level=$1;")
    assert run("getalias lsc").text == "oph_list level=$1;"
    out = run("lsc 1")
    assert out.reply.document.grid("list").keys == ("T", "PATH")
    run("unsetalias lsc")
    assert not shell.run_line("getalias lsc").ok
    out = shell.run_line("lsc 1")
    assert not out.ok and out.exit_code == ExitCode.UNKNOWN_COMMAND


def test_an_alias_may_not_shadow_a_builtin(shell):
    out = shell.run_line("setalias help=oph_list")
    assert not out.ok and "built-in" in out.message


def test_self_referencing_alias_is_stopped(shell, run):
    run("setalias loop=loop")
    out = shell.run_line("loop")
    assert not out.ok and "too many times" in out.message


@pytest.mark.parametrize(
    ("alias", "operator"),
    [
        ("ls", "oph_list"),
        ("ll", "oph_list"),
        ("lr", "oph_list"),
        ("lsd", "oph_fs"),
        ("man oph_list", "oph_man"),
        ("pwd", None),
        ("pdd", None),
    ],
)
def test_default_aliases_run(run, alias, operator):
    out = run(alias)
    if operator is None:
        assert out.text  # pwd and pdd print a path
    else:
        assert out.request.startswith(operator)


def test_pwd_follows_cd(run):
    run("mkdir a")
    run("cd a")
    assert run("pwd").text == "/a"


def test_context_arguments_are_filled_in(shell, run):
    sent = run("ll").request
    for key in ("sessionid=", "exec_mode=sync", "cwd=/", "cdd=/"):  # as oph_term sends them
        assert key in sent
    assert "cube=" not in sent  # there is no current cube yet
    run("oph_createcontainer container=c;dim=x|y;dim_type=int|int")
    run(
        "oph_randcube container=c;dim=x|y;dim_size=2|3;exp_ndim=1;nfrag=1;ntuple=2;"
        "measure=m;measure_type=double"
    )
    cube = shell.state.get("OPH_DATACUBE")
    assert f"cube={cube};" in run("oph_cubesize").request  # operators that take a cube get it
    assert "cube=" not in run("oph_folder command=cd;path=/").request  # the others do not


def test_user_variables_and_aliases_from_the_environment(specs):
    state = ShellState(
        specs,
        environ={
            "OPH_TERM_USERVAR_1": "night=/data/2016-06-06",
            "OPH_TERM_ALIAS_X": "lll=oph_list level=3;",
            "OPH_EXEC_MODE": "async",
        },
    )
    assert state.get("night") == "/data/2016-06-06"
    assert state.aliases["lll"] == "oph_list level=3;"
    assert state.get("OPH_EXEC_MODE") == "async"


def test_version_history_clear_and_quit(shell, run):
    assert "ophsh" in run("version").text and "embedded" in run("version").text
    assert run("clear").clear
    assert run("quit").quit and run("exit").quit
    assert run("history").text == ""


def test_unknown_command_says_so(shell):
    out = shell.run_line("frobnicate now")
    assert not out.ok and "unknown command or operator 'frobnicate'" in out.message
    assert out.exit_code == ExitCode.UNKNOWN_COMMAND


def test_missing_current_cube_is_explained(shell):
    out = shell.run_line("oph_cubeschema")
    assert not out.ok and "needs cube=" in out.message and "OPH_DATACUBE" in out.message


def test_comments_and_blank_lines_do_nothing(run):
    assert run("   ").ok and run("# just a note").ok


def test_resume_lists_the_last_workflows_and_v_adds_command_and_job_id(run):
    run("mkdir one")
    run("mkdir two")
    run("oph_list level=2")
    text = run("resume 2").text
    lines = text.splitlines()
    assert len(lines) == 2 and "[COMPLETED]" in lines[0]
    assert "oph_folder command=mkdir" in lines[0] and lines[1].endswith("oph_list level=2")
    verbose = run("resume 1 -v").text.splitlines()
    assert verbose[1].strip() == "command: oph_list level=2"
    assert verbose[2].strip().startswith("JobID: http://") and "?" in verbose[2]


def test_update_compares_the_backends_operators_with_the_specifications(run):
    text = run("update").text
    assert "offers" in text and "up to date" in text


def test_oph_project_goes_with_every_command(run):
    run("setenv OPH_PROJECT=galaxies")
    assert "project=galaxies;" in run("ll").request


def test_a_request_larger_than_oph_request_buffer_is_refused(shell, run):
    run("setenv OPH_REQUEST_BUFFER=1")
    out = shell.run_line("oph_list path=" + "a" * 1100)
    assert not out.ok and "request buffer is too small" in out.message
    run("setenv OPH_REQUEST_BUFFER=4")
    assert "does not exist" in shell.run_line("oph_list path=" + "a" * 1100).message


def test_workflow_autoview_shows_the_workflow_after_it_is_submitted(shell, run, tmp_path):
    (tmp_path / "data" / "wf.json").write_text(
        '{"name": "w", "tasks": [{"name": "a", "operator": "oph_list", "arguments": []}]}'
    )
    assert "oph_resume" not in run("./wf.json").request
    run("setenv OPH_WORKFLOW_AUTOVIEW=on")
    viewed = run("./wf.json")
    assert viewed.request.startswith("oph_resume id=")
    assert viewed.reply.document.grid("list") is not None  # the stored result of the workflow
    run("setenv OPH_WORKFLOW_AUTOVIEW=sometimes")
    assert "on_TIMES_SECONDS" in shell.run_line("./wf.json").message


def test_check_follows_oph_term_imgs_and_oph_graph_layout(shell, run, tmp_path):
    (tmp_path / "data" / "wf.json").write_text(
        '{"name": "my wf", "tasks": [{"name": "a", "operator": "oph_list", "arguments": []}]}'
    )
    run("setenv OPH_GRAPH_LAYOUT=diagonal")
    assert "OPH_GRAPH_LAYOUT=diagonal" in shell.run_line("check wf.json").message
    run("setenv OPH_GRAPH_LAYOUT=horizontal_ranked")
    run("setenv OPH_TERM_IMGS=save")
    checked = run("check wf.json")
    if shutil.which("dot"):
        assert (tmp_path / "data" / "my_wf.svg").read_text().lstrip().startswith("<?xml")
    else:  # the graph cannot be drawn, and the user is told why
        assert any("dot is missing" in note for note in checked.notes)
