"""oph_apply with the primitives on a real float32 cube with missing values: result types,
check_type, measure_type=auto, and queries that change the row's length."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from factories import write_fits

from ophsh.engine.settings import Settings


@pytest.fixture
def frame(run, tmp_path):
    """A 7x5 float32 frame with two NaN, imported as the current cube (measure type float)."""
    data = np.random.default_rng(8).normal(100, 20, size=(7, 5)).astype(np.float32)
    data[2, 3] = np.nan
    data[6, 0] = np.nan
    write_fits(tmp_path / "data" / "f.fits", data)
    run("oph_createcontainer container=c;dim=NAXIS2|NAXIS1;dim_type=int|int")
    run("oph_importfits src_path=f.fits;container=c")
    return data.astype(np.float64)


def exported(run, tmp_path, name: str) -> np.ndarray:
    run(f"oph_exportfits output_path=out;output_name={name};force=yes")
    return fits.getdata(tmp_path / "data" / "out" / f"{name}.fits")


def test_manual_output_type_becomes_the_cubes_type(frame, run, tmp_path):
    run("oph_apply query=oph_mul_scalar('oph_float','oph_double',measure,2)")
    out = exported(run, tmp_path, "d")
    assert out.dtype.kind == "f" and out.dtype.itemsize == 8
    assert np.allclose(out, frame * 2, equal_nan=True)


def test_auto_keeps_the_type_and_nests(frame, run, tmp_path):
    run(
        "oph_apply measure_type=auto;"
        "query=oph_predicate(oph_sum_scalar(measure,-100),'x','>0','1','0')"
    )
    out = exported(run, tmp_path, "p")
    assert out.dtype.itemsize == 4
    assert np.array_equal(out, np.where(frame - 100 > 0, 1, 0))


def test_check_type_refuses_a_type_that_is_not_the_measures(frame, shell, run, tmp_path):
    outcome = shell.run_line("oph_apply query=oph_reverse('oph_double','oph_double',measure)")
    assert not outcome.ok and "reads oph_double but the measure is oph_float" in outcome.message
    run("oph_apply query=oph_reverse('oph_double','oph_double',measure);check_type=no")
    assert np.allclose(exported(run, tmp_path, "r"), frame[:, ::-1], equal_nan=True)


def test_a_query_that_changes_the_length_renumbers_the_dimension(frame, run, tmp_path):
    run("oph_apply query=oph_gsl_boxplot('oph_float','oph_double',measure)")
    out = exported(run, tmp_path, "b")
    assert out.shape == (7, 5)
    expected = np.nanquantile(frame, [0, 0.25, 0.5, 0.75, 1], axis=1).T
    assert np.allclose(out, expected)


def test_dimension_is_the_implicit_dimensions_values(frame, run, tmp_path):
    zeros = "oph_replace(oph_mul_scalar(measure,0),nan,0)"
    run(f"oph_apply measure_type=auto;query=oph_sum_array({zeros},dimension)")
    assert np.array_equal(exported(run, tmp_path, "f"), np.tile(np.arange(1, 6), (7, 1)))


def test_cast_to_int_makes_missing_values_0_as_ophidia_and_says_so(frame, run, tmp_path):
    source = run("oph_cubeschema").reply.document.output_cube
    outcome = run("oph_apply query=oph_cast('oph_float','oph_int',measure)")
    (warning,) = outcome.reply.document.texts("warning")
    assert f"{np.isnan(frame).sum()} missing value(s) are 0" in warning.message
    assert np.array_equal(exported(run, tmp_path, "z"), np.nan_to_num(frame).astype(np.int32))
    run(f"oph_apply cube={source};query=oph_cast('oph_float','oph_int',measure,NULL,-9999)")
    out = exported(run, tmp_path, "i")
    assert out.dtype.kind == "i"
    assert np.array_equal(out, np.where(np.isnan(frame), -9999, frame).astype(np.int32))


def test_small_blocks_give_what_one_block_gives(frame, shell, run, tmp_path):
    """With a budget of a row a block, every block is evaluated alone: same result."""
    source = shell.state.get("OPH_DATACUBE")
    query = "oph_gsl_quantile(oph_moving_avg(measure,2),0.5,0.9)"
    run(f"oph_apply measure_type=auto;query={query}")
    whole = exported(run, tmp_path, "w")
    shell.backend.service.settings = Settings(memory_bytes=256, threads=2)
    run(f"oph_apply measure_type=auto;query={query};cube={source}")
    assert np.array_equal(exported(run, tmp_path, "s"), whole)
    assert whole.shape == (7, 2)
