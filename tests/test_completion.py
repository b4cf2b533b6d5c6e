"""Completion and highlighting, on a real store: what a user is offered while typing."""

from __future__ import annotations

from factories import raw_frame, write_fits
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document as Line
from pygments.token import Comment, Name, Operator, Punctuation, String

from ophsh.repl.completer import ShellCompleter
from ophsh.syntax.lexer import CommandLexer


def offered(shell, text: str) -> dict[str, str]:
    completions = ShellCompleter(shell).get_completions(Line(text), CompleteEvent())
    return {c.text: c.display_meta_text for c in completions}


def test_operators_with_and_without_the_prefix_builtins_and_aliases(shell):
    assert {"oph_reduce ", "oph_reduce2 "} <= set(offered(shell, "oph_redu"))
    assert "reduce2 " in offered(shell, "redu")
    assert "setenv" in offered(shell, "sete")
    assert "ll" in offered(shell, "l")


def test_parameters_not_yet_given_with_type_and_default(shell):
    params = offered(shell, "oph_reduce2 operation=max;o")
    assert "order=" in params and "operation=" not in params
    assert params["order="] == "real, default 2"
    assert offered(shell, "oph_randcube ")["container="] == "required string"


def test_allowed_values(shell):
    assert set(offered(shell, "oph_reduce2 operation=qu")) == {"quantile"}
    assert set(offered(shell, "oph_metadata mode=")) == {"insert", "read", "update", "delete"}


def test_cube_pids_containers_files_and_variables(shell, run, tmp_path):
    data, cards = raw_frame()
    write_fits(tmp_path / "data" / "frame.fits", data, **cards)
    run("oph_createcontainer container=night;dim=NAXIS2|NAXIS1;dim_type=int|int")
    run("oph_importfits src_path=frame.fits;container=night;description=first frame")
    pid = shell.state.get("OPH_DATACUBE")
    assert offered(shell, "oph_delete cube=")[pid] == "first frame"
    assert offered(shell, "oph_reduce2 cube=" + pid[:-1]) == {pid: "first frame"}
    assert offered(shell, "del ") == {pid: "first frame"}  # the alias's word is a cube, no key=
    assert "night" in offered(shell, "oph_importfits container=n")
    assert "frame.fits" in offered(shell, "oph_importfits src_path=fr")
    assert "frame.fits" in offered(shell, "oph_importfits src_path=[path=fr")
    assert set(offered(shell, "getenv $OPH_C")) == {"OPH_CWD", "OPH_CDD"}
    run("mkdir results")
    assert "results/" in offered(shell, "oph_list path=re")


def test_the_lexer_names_every_part_of_a_command():
    tokens = [
        (kind, text)
        for kind, text in CommandLexer().get_tokens(
            "oph_reduce2 cube=$bias;dim=z|t;src=[path=raw] # median"
        )
        if text.strip()
    ]
    assert tokens[0] == (Name.Function, "oph_reduce2")
    assert (Name.Attribute, "cube") in tokens and (Operator, "=") in tokens
    assert (Name.Variable, "$bias") in tokens
    assert (Operator, "|") in tokens and (String, "z") in tokens
    assert (Punctuation, "[") in tokens and (Punctuation, "]") in tokens
    assert tokens[-1] == (Comment.Single, "# median")


def test_the_prompt_shows_backend_folder_and_cube_and_follows_oph_term_ps1(shell, run):
    from ophsh.repl.prompt import prompt_text

    def shown() -> tuple[str, str]:
        ((style, text),) = prompt_text(shell)
        return style, text

    assert shown() == ("bold ansired", "[embedded] / >> ")
    run("cc r")
    run(
        "oph_randcube container=r;dim=lat|lon|time;dim_size=2|2|2;exp_ndim=2;nfrag=2;ntuple=2;"
        "measure=m;measure_type=double"
    )
    assert shown()[1].startswith("[embedded] / (") and ") >> " in shown()[1]
    shell.state.set("OPH_TERM_PS1", "green")
    assert shown()[0] == "bold ansigreen"
    shell.state.set("OPH_TERM_PS1", "{cwd} $ ")
    assert shown()[1] == "/ $ "


def test_help_examples_are_coloured_like_typed_commands():
    from ophsh.render.commands import highlight_commands

    text = highlight_commands("Example:\n  oph_reduce2 operation=max;dim=z\nplain words")
    coloured = {text.plain[span.start : span.end] for span in text.spans}
    assert {"oph_reduce2", "operation", "max"} <= coloured
    assert not any("plain" in piece or "Example" in piece for piece in coloured)
