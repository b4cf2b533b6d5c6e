"""The grammar/ specifications: one source of truth that stays consistent."""

from __future__ import annotations

import json

from ophsh.engine.registry import HANDLERS
from ophsh.spec import grammar_dir


def test_ophidia_facts_are_kept_verbatim(specs):
    facts = json.loads((grammar_dir() / "operators.json").read_text())
    assert set(specs.operators) == set(facts) and len(facts) == 80
    importfits = specs.operators["oph_importfits"]
    assert importfits.param("measure").default == "image"
    assert importfits.param("hdu").minvalue == "1"
    assert specs.operators["oph_reduce2"].param("operation").mandatory


def test_every_implemented_operator_has_a_handler_and_help(specs):
    assert set(specs.implemented) == set(HANDLERS)
    for spec in specs.implemented.values():
        assert spec.help and spec.example, spec.name


def test_examples_in_the_help_are_valid_commands(shell, specs):
    """Each example is a whole command once the shell adds where it runs (cwd, current cube)."""
    shell.state.set("OPH_DATACUBE", "http://localhost/ophidia/1/1")
    for spec in specs.implemented.values():
        assert shell.request(spec.example).operator == spec.name


def test_oph_term_default_aliases_are_all_there(specs):
    expected = {
        "ls",
        "ll",
        "lr",
        "cd",
        "mkdir",
        "mvdir",
        "rmdir",
        "pwd",
        "mv",
        "rm",
        "rmr",
        "del",
        "drop",
        "man",
        "cc",
        "rc",
        "kill",
        "lsd",
        "cdd",
        "pdd",
        "mkdird",
        "mvd",
        "rmd",
        "getprogress",
        "show",
        "new",
        "jobs",
        "ncdump",
        "repeat",
    }
    assert set(specs.aliases) == expected
    assert specs.aliases["ll"].body == "oph_list path=$1;level=2;"
    assert specs.aliases["pdd"].body == "getenv OPH_CDD"


def test_every_builtin_is_documented(specs):
    from ophsh.shell.builtins import BUILTINS

    assert set(BUILTINS) == set(specs.builtins)


def test_value_kinds_drive_completion_and_massive_filters(specs):
    assert specs.operators["oph_delete"].param("cube").kind == "cube"
    assert specs.operators["oph_importfits"].param("src_path").kind == "file"
    assert specs.operators["oph_list"].param("path").kind == "folder"
    assert specs.operators["oph_reduce2"].param("operation").kind == "enum"
