"""The command grammar: what it accepts, how it reports what it does not, and that it never
crashes on arbitrary input."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ophsh.errors import ParseError
from ophsh.syntax import is_group, parse_arguments, parse_request, split_values


def pairs(line: str) -> list[tuple[str, str]]:
    return list(parse_request(line).arguments)


def test_operator_with_pairs_and_optional_trailing_semicolon():
    assert parse_request("oph_list level=2;").operator == "oph_list"
    assert pairs("oph_list level=2;path=/a") == [("level", "2"), ("path", "/a")]
    assert pairs("oph_list level=2;path=/a;") == pairs("oph_list level=2;path=/a")


def test_operator_alone():
    request = parse_request("oph_cubeelements")
    assert request.operator == "oph_cubeelements" and request.arguments == ()


def test_values_keep_inner_spaces_and_lose_outer_ones():
    assert pairs("oph_x description= a cube of stars ;k=v") == [
        ("description", "a cube of stars"),
        ("k", "v"),
    ]


def test_spaces_around_keys_and_equals_are_allowed():
    assert pairs("oph_x  level = 2 ;  path=/") == [("level", "2"), ("path", "/")]


def test_multi_values_stay_whole_until_split():
    assert pairs("oph_x dim=NAXIS2|NAXIS1") == [("dim", "NAXIS2|NAXIS1")]
    assert split_values("NAXIS2|NAXIS1") == ["NAXIS2", "NAXIS1"]


def test_bracket_groups_may_hold_semicolons_and_pipes():
    line = "oph_importfits src_path=[path=/data/raw;file=*.fits];measure=m"
    assert pairs(line) == [("src_path", "[path=/data/raw;file=*.fits]"), ("measure", "m")]
    assert split_values("[a|b]|c") == ["[a|b]", "c"]
    assert is_group("[container=c;metadata_key=A|B]")
    assert not is_group("[a]|[b]")


def test_nested_groups():
    assert pairs("oph_x k=[a=[b;c];d]") == [("k", "[a=[b;c];d]")]


def test_empty_values_are_kept_as_empty():
    assert pairs("oph_x path=;level=2") == [("path", ""), ("level", "2")]


def test_equals_inside_a_value():
    assert pairs("oph_x query=oph_predicate(measure,'x>0','=1')") == [
        ("query", "oph_predicate(measure,'x>0','=1')")
    ]


def test_filter_body_parses_as_arguments():
    args = parse_arguments("container=night;metadata_key=OBS_TYPE|FLT_ID")
    assert list(args) == [
        ("container", "night"),
        ("metadata_key", "OBS_TYPE|FLT_ID"),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("oph_list level", "expected '=' after 'level'"),
        ("oph_importfits src path=x", "expected '=' after 'src'"),
        ("oph_x k=[a=b", "unclosed '['"),
        ("oph_x k=a]", "']' without a matching '['"),
        ("oph_x =v", "missing parameter name"),
    ],
)
def test_errors_say_what_is_wrong(line, message):
    with pytest.raises(ParseError) as err:
        parse_request(line)
    assert message in str(err.value)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from("oph_list =;[]|$x{}ab12 \t/.*#:-"), max_size=60))
def test_random_lines_either_parse_or_raise_parse_error(text):
    try:
        request = parse_request(text)
    except ParseError:
        return
    assert request.operator


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_unicode_never_crashes_the_parser(text):
    with contextlib.suppress(ParseError):
        parse_request(text)


def test_every_prefix_of_a_long_command_is_handled():
    line = "oph_importfits src_path=[path=/d;file=*.fits];measure=m;exp_dim=NAXIS1;imp_dim=NAXIS2;"
    for end in range(len(line) + 1):
        with contextlib.suppress(ParseError):
            parse_request(line[:end])
