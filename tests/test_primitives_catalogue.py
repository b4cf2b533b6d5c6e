"""oph_primitives_list and oph_man function_type=primitive, from grammar/primitives.toml."""

from __future__ import annotations

from ophsh.engine.primitives import FUNCTIONS, REFUSED
from ophsh.spec import load_specs


def test_the_list_is_what_the_embedded_store_evaluates(run):
    doc = run("oph_primitives_list").reply.document
    grid = doc.grid("primitives_list_list")
    assert grid.keys == ("PRIMITIVE NAME",)
    # like Ophidia's, the list holds the primitives oph_apply refuses too
    assert set(grid.column("PRIMITIVE NAME")) == set(FUNCTIONS) | set(REFUSED)
    assert "function_type=primitive" in doc.text_titled("Help Message")


def test_levels_and_filters(run):
    doc = run("oph_primitives_list level=3;primitive_filter=gsl_s").reply.document
    grid = doc.grid("primitives_list_list")
    assert grid.keys == ("PRIMITIVE NAME", "RETURN TYPE", "PRIMITIVE TYPE")
    assert grid.rows == (
        ("oph_gsl_sd", "array", "simple"),
        ("oph_gsl_sort", "array", "simple"),
        ("oph_gsl_spline", "array", "simple"),
        ("oph_gsl_stats", "array", "simple"),
    )
    numbers = run("oph_primitives_list level=2;return_type=number").reply.document
    assert set(numbers.grid("primitives_list_list").column("PRIMITIVE NAME")) == {
        "oph_compare",
        "oph_convert_d",
        "oph_convert_l",
        "oph_count_array",
        "oph_find",
        "oph_id3",
        "oph_id_of_subset",
        "oph_id_to_index",
        "oph_size_array",
    }
    limited = run("oph_primitives_list level=5;limit_filter=2").reply.document
    assert limited.grid("primitives_list_list").rows[0][3:] == ("1", "embedded")
    assert len(limited.grid("primitives_list_list").rows) == 2


def test_man_of_a_primitive(run):
    doc = run("oph_man function=oph_reduce;function_type=primitive").reply.document
    assert doc.text_titled("Function Name and Version") == "OPH_REDUCE v1.0"
    info = dict(doc.grid("man_info").rows)
    assert "oph_reduce(input_type, output_type, measure, [OPH_OPERATOR]" in info["Abstract"]
    args = doc.grid("man_args")
    assert args.column("NAME")[:4] == ["input_type", "output_type", "measure", "OPH_OPERATOR"]
    assert args.column("MANDATORY")[:4] == ["yes", "yes", "yes", "no"]
    assert args.column("TYPE")[2:4] == ["array", "string"]


def test_every_primitive_has_a_manual(run):
    for name in load_specs().primitives:
        run(f"oph_man function={name};function_type=primitive")


def test_man_of_an_unknown_primitive_suggests(shell):
    out = shell.run_line("oph_man function=oph_sum_scalr;function_type=primitive")
    assert not out.ok and "did you mean oph_sum_scalar" in out.message


def test_every_primitive_is_evaluated_or_refused_with_a_reason(run):
    assert set(FUNCTIONS) | set(REFUSED) == set(load_specs().primitives)
    info = run("oph_man function=oph_compress;function_type=primitive").reply.document
    abstract = dict(info.grid("man_info").rows)["Abstract"]
    assert "oph_apply refuses it" in abstract and "Not evaluated" not in abstract


def test_the_manual_says_which_primitives_combine_the_rows(run):
    def returns(name: str) -> str:
        info = run(f"oph_man function={name};function_type=primitive").reply.document
        return dict(info.grid("man_info").rows)["Abstract"].split("[Returns]")[1]

    assert "for all the rows together" in returns("oph_aggregate_stats")
    assert "for every row" in returns("oph_gsl_sd")


def test_man_of_a_primitive_as_an_operator_points_to_function_type(shell):
    out = shell.run_line("man oph_gsl_sd")
    assert not out.ok and "function_type=primitive" in out.message
