"""Primitive names offered while typing oph_apply's query=."""

from __future__ import annotations

from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document as Line

from ophsh.repl.completer import ShellCompleter
from ophsh.spec import load_specs
from ophsh.syntax.suggest import Primitive, Value, suggest


def offered(shell, text: str) -> dict[str, str]:
    completions = ShellCompleter(shell).get_completions(Line(text), CompleteEvent())
    return {c.text: c.display_meta_text for c in completions}


def test_suggest_finds_the_word_being_typed_inside_the_query():
    specs = load_specs()
    assert suggest("oph_apply query=oph_su", specs, {}) == Primitive("oph_su")
    assert suggest("oph_apply query=oph_abs(oph_sum_scalar(mea", specs, {}) == Primitive("mea")
    assert suggest("oph_apply cube=c;query=oph_math(", specs, {}) == Primitive("")
    assert isinstance(suggest("oph_apply measure_type=", specs, {}), Value)


def test_primitive_names_complete_with_a_parenthesis(shell):
    names = offered(shell, "oph_apply query=oph_reduce('oph_double','oph_double',oph_gsl_s")
    assert set(names) == {"oph_gsl_sd(", "oph_gsl_sort(", "oph_gsl_spline(", "oph_gsl_stats("}
    assert names["oph_gsl_sd("] == "Sample standard deviation."
    assert "oph_sum_scalar(" in offered(shell, "oph_apply query=sum_sc")
    assert offered(shell, "oph_apply query=oph_roll")["oph_roll_up("].startswith("The arrays of")
