"""Variables, script arguments, aliases and comments."""

from __future__ import annotations

import pytest

from ophsh.errors import OphshError, ValidationError
from ophsh.syntax import (
    expand_alias,
    split_words,
    strip_comment,
    substitute,
    substitute_positional,
)


def lookup(table):
    return table.get


def test_both_forms_and_unknown_names_become_empty():
    table = {"a": "1", "b_2": "two"}
    assert substitute("x=$a;y=${b_2};z=$nope;", lookup(table)) == "x=1;y=two;z=;"


def test_substitution_is_recursive_so_bindings_are_live():
    table = {"last": "$OPH_DATACUBE", "OPH_DATACUBE": "http://h/ophidia/1/2"}
    assert substitute("cube=$last", lookup(table)) == "cube=http://h/ophidia/1/2"
    table["OPH_DATACUBE"] = "http://h/ophidia/1/3"
    assert substitute("cube=$last", lookup(table)) == "cube=http://h/ophidia/1/3"


def test_a_variable_that_refers_to_itself_is_reported():
    with pytest.raises(OphshError, match="refer to themselves"):
        substitute("$a", lookup({"a": "x$a"}))


def test_name_ends_at_first_non_word_character():
    assert substitute("$a.fits ${a}b", lookup({"a": "f"})) == "f.fits fb"


def test_workflow_variables_with_at_are_left_alone():
    assert substitute("session_filter=@OPH_SESSION_ID", lookup({})) == (
        "session_filter=@OPH_SESSION_ID"
    )


def test_positional_arguments():
    assert substitute_positional("src_path=$1;container=${2}", ["raw", "night"]) == (
        "src_path=raw;container=night"
    )


def test_a_missing_positional_argument_is_an_error_naming_it():
    with pytest.raises(ValidationError, match=r"\$2"):
        substitute_positional("x=$1;y=$2", ["only"], where="line 3")


def test_alias_fills_words_and_empties_the_rest():
    assert expand_alias("oph_list path=$1;level=2;", []) == "oph_list path=;level=2;"
    assert expand_alias("oph_folder command=mv;path=$1|$2;", ["a", "b"]) == (
        "oph_folder command=mv;path=a|b;"
    )


def test_words_honour_quotes():
    assert split_words('"my folder" other') == ["my folder", "other"]
    assert split_words('unbalanced "quote') == ["unbalanced", "quote"]


def test_comments():
    assert strip_comment("# whole line") == ""
    assert strip_comment("oph_list level=2; # trailing") == "oph_list level=2;"
    assert strip_comment("view 3#5") == "view 3#5"
