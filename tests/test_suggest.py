"""What kind of thing goes where the cursor is, decided from the text alone (no store)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ophsh.spec import load_specs
from ophsh.syntax.suggest import FirstWord, Nothing, Parameter, Value, Variable, suggest

ALIASES = {"del": "oph_delete cube=$1;", "mvdir": "oph_folder command=mv;path=$1|$2;"}


def test_the_first_word_is_a_command(specs):
    assert suggest("oph_red", specs, ALIASES) == FirstWord("oph_red")
    assert suggest("  red", specs, ALIASES) == FirstWord("red")


def test_after_an_operator_its_parameters_not_yet_given(specs):
    wanted = suggest("oph_reduce2 operation=max;or", specs, ALIASES)
    assert isinstance(wanted, Parameter)
    assert wanted.operator.name == "oph_reduce2" and wanted.prefix == "or"
    assert wanted.given == frozenset({"operation"})


def test_after_key_equals_a_value_of_that_parameter(specs):
    wanted = suggest("reduce2 operation=qu", specs, ALIASES)
    assert isinstance(wanted, Value) and wanted.param.name == "operation"
    assert wanted.prefix == "qu"
    wanted = suggest("oph_mergecubes2 cubes=a|b", specs, ALIASES)
    assert isinstance(wanted, Value) and wanted.prefix == "b"  # the item being typed


def test_a_path_inside_a_bracket_filter(specs):
    wanted = suggest("oph_importfits src_path=[path=raw/LR", specs, ALIASES)
    assert isinstance(wanted, Value) and wanted.param.kind == "file"
    assert wanted.prefix == "raw/LR"


def test_after_an_alias_the_words_fill_its_placeholders(specs):
    wanted = suggest("del ", specs, ALIASES)
    assert isinstance(wanted, Value) and wanted.param.name == "cube" and wanted.prefix == ""
    wanted = suggest("del http://loc", specs, ALIASES)
    assert isinstance(wanted, Value) and wanted.prefix == "http://loc"
    second = suggest("mvdir old ne", specs, ALIASES)
    assert isinstance(second, Value) and second.param.name == "path" and second.prefix == "ne"
    assert suggest("del a b ", specs, ALIASES) == Nothing()  # del takes one word


def test_variables_anywhere(specs):
    assert suggest("oph_delete cube=$OPH_D", specs, ALIASES) == Variable("OPH_D")
    assert suggest("getenv ${OPH", specs, ALIASES) == Variable("OPH")


def test_unknown_words_suggest_nothing(specs):
    assert suggest("frobnicate x=", specs, ALIASES) == Nothing()
    assert suggest("oph_list nosuch=", specs, ALIASES) == Nothing()


COMMANDS = [
    "oph_importfits src_path=[path=raw;file=*.fits];container=night;exp_dim=NAXIS2",
    "oph_reduce2 cube=$bias;operation=quantile;order=0.5;dim=z",
    "del http://localhost/ophidia/1/2",
    "oph_mergecubes2 cubes=[container=c;metadata_key=A|B;metadata_value=x|y];dim=z",
]


def test_every_prefix_of_real_commands_gets_an_answer(specs):
    for command in COMMANDS:
        for end in range(len(command) + 1):
            suggest(command[:end], specs, ALIASES)  # never raises


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="oph_ lstcube=[];|$&{}@/.\\\t#xyz01", max_size=40))
def test_arbitrary_text_never_breaks_the_suggestion(text):
    kinds = (FirstWord, Parameter, Value, Variable, Nothing)
    assert isinstance(suggest(text, load_specs(), ALIASES), kinds)
