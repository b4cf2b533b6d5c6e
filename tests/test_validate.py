"""Checking a request against the operator specifications, and "did you mean"."""

from __future__ import annotations

import pytest

from ophsh.errors import UnknownCommandError, ValidationError
from ophsh.syntax import parse_request, repair, validate


def check(line, specs, strict=True):
    """Names and values only: the context (cwd=, the current cube...) is not filled in here."""
    return validate(parse_request(line), specs, strict=strict, complete=False)


def test_a_missing_mandatory_parameter_is_named(specs):
    with pytest.raises(ValidationError) as err:
        validate(parse_request("oph_reduce2 operation=max;cwd=/"), specs)
    assert str(err.value) == "oph_reduce2 needs cube="


def test_parameters_every_task_may_carry_are_accepted_and_server_ones_refused(specs):
    call, _ = check("oph_apply cube=c;query=measure;cwd=/a;cdd=/b;nthreads=2;save=no", specs)
    assert call.get("cwd") == "/a" and call.get("nthreads") == "2"
    with pytest.raises(ValidationError) as err:
        check("oph_apply cube=c;workflowid=3", specs)
    assert "set by the server" in str(err.value)
    with pytest.raises(ValidationError) as err:
        check("oph_apply cube=c;cwdd=/", specs)
    assert "did you mean cwd=" in str(err.value)


def test_prefix_is_optional_and_names_are_canonical(specs):
    call, _ = check("list level=2", specs)
    assert call.operator == "oph_list"
    call, _ = check("OPH_LIST level=2", specs)
    assert call.operator == "oph_list"


def test_unknown_operator_suggests_the_closest(specs):
    with pytest.raises(UnknownCommandError) as err:
        check("oph_lisst level=2", specs)
    assert "did you mean oph_list" in str(err.value)


def test_unknown_parameter_suggests_the_closest(specs):
    with pytest.raises(ValidationError) as err:
        check("oph_reduce2 operation=quantile;oder=0.5", specs)
    assert "no parameter 'oder'" in str(err.value)
    assert "did you mean order=" in str(err.value)


def test_lenient_mode_drops_unknown_parameters_with_a_warning(specs):
    call, warnings = check("oph_list level=2;ndbms=1", specs, strict=False)
    assert not call.has("ndbms")
    assert warnings == ["oph_list ignores unknown parameter 'ndbms'"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("oph_list level=9", "at most 8"),
        ("oph_list level=two", "must be an integer"),
        ("oph_reduce2 operation=median", "operation=median is not allowed"),
        ("oph_importfits hdu=0", "at least 1"),
        ("oph_list level=2;level=3", "given twice"),
        ("oph_list path=[level=0]", "does not take a [filter]"),
        ("oph_delete cube=[containr=x]", "'containr' is not a filter"),
    ],
)
def test_bad_values_are_refused_before_running(specs, line, message):
    with pytest.raises(ValidationError) as err:
        check(line, specs)
    assert message in str(err.value)


def test_multi_values_are_checked_one_by_one(specs):
    check("oph_createcontainer container=c;dim=a|b;dim_type=int|double", specs)
    with pytest.raises(ValidationError, match="dim_type=complex"):
        check("oph_createcontainer container=c;dim=a|b;dim_type=int|complex", specs)


def test_empty_values_mean_not_given(specs):
    call, _ = check("oph_list path=;level=2", specs)
    assert not call.has("path") and call.get("level") == "2"


def test_cube_filters_are_checked_against_the_massive_keys(specs):
    call, _ = check("oph_delete cube=[container=c;metadata_key=A|B;metadata_value=x|y]", specs)
    assert call.get("cube").startswith("[")


def test_underscores_lost_in_a_pdf_are_restored(specs):
    garbled = (
        "oph importfits src path=[path=/data/INDIGO-FITS/fits-raw;"
        "file=LRS.2016-06-06T20-30-03.925.fits];measure=mymeasure;"
        "exp dim=NAXIS1;imp dim=NAXIS2;container=FITS2"
    )
    assert repair(garbled, specs) == (
        "oph_importfits src_path=[path=/data/INDIGO-FITS/fits-raw;"
        "file=LRS.2016-06-06T20-30-03.925.fits];measure=mymeasure;"
        "exp_dim=NAXIS1;imp_dim=NAXIS2;container=FITS2"
    )
    assert repair("oph_list level=2", specs) is None
