"""oph_apply, oph_search, oph_subset, oph_explorecube, oph_duplicate, oph_permute, oph_randcube
on real FITS frames and the real store, checked against numpy."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from astropy.io import fits
from factories import raw_frame, write_fits


@pytest.fixture
def image(run, tmp_path):
    """A 6x4 uint16 frame (NAXIS2=6 rows, NAXIS1=4 columns) imported as the current cube."""
    data, cards = raw_frame(shape=(6, 4), seed=11)
    write_fits(tmp_path / "data" / "img.fits", data, **cards)
    run("oph_createcontainer container=c;dim=NAXIS2|NAXIS1;dim_type=int|int")
    run("oph_importfits src_path=img.fits;container=c")
    return data.astype(np.float64)


def current(run, tmp_path, name: str) -> np.ndarray:
    run(f"oph_exportfits output_path=out;output_name={name};force=yes")
    return fits.getdata(tmp_path / "data" / "out" / f"{name}.fits").astype(np.float64)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("oph_sum_scalar('oph_double','oph_double',measure,-100)", lambda a: a - 100),
        ("oph_mul_scalar('oph_double','oph_double',measure,0.5)", lambda a: a * 0.5),
        (
            "oph_predicate('oph_double','oph_double',measure,'x-30000','>0','1','0')",
            lambda a: (a > 30000).astype(float),
        ),
        ("oph_math('oph_double','oph_double',measure,'OPH_MATH_SQRT')", np.sqrt),
        (
            "oph_math(oph_sum_scalar(measure,-30000),'OPH_MATH_ABS')",
            lambda a: np.abs(a - 30000),
        ),
        ("oph_mul_scalar(oph_sum_scalar(measure,1),2)", lambda a: (a + 1) * 2),
    ],
)
def test_apply_primitives(image, run, tmp_path, query, expected):
    mode = "manual" if "oph_double" in query else "auto"
    run(f"oph_apply query={query};measure_type={mode}")
    assert np.allclose(current(run, tmp_path, "a"), expected(image))


def test_apply_reducing_query_gives_one_value_per_row(image, run, tmp_path):
    run("oph_apply query=oph_reduce('oph_double','oph_double',measure,'OPH_AVG',0)")
    assert np.allclose(current(run, tmp_path, "r"), image.mean(axis=1))


@pytest.mark.parametrize(
    "query",
    ["__import__('os').system('true')", "measure.__class__", "oph_nope(measure)", "open('x')"],
)
def test_apply_refuses_what_is_not_a_known_primitive(image, shell, query):
    outcome = shell.run_line(f"oph_apply query={query}")
    assert not outcome.ok
    assert "primitive" in outcome.message or "not available" in outcome.message


def test_subset_by_index_with_end_and_stride(image, run, tmp_path):
    run("oph_subset subset_dims=NAXIS2|NAXIS1;subset_filter=2:end|1:2:4")
    assert np.array_equal(current(run, tmp_path, "s"), image[1:, 0:4:2])


def test_subset_by_coordinates(image, run, tmp_path):
    run("oph_subset subset_dims=NAXIS1;subset_filter=2:3;subset_type=coord")
    assert np.array_equal(current(run, tmp_path, "s"), image[:, 1:3])


def test_subset_outside_the_dimension_is_a_clear_error(image, shell):
    outcome = shell.run_line("oph_subset subset_dims=NAXIS2;subset_filter=3:9")
    assert not outcome.ok and "outside 1:6" in outcome.message and "NAXIS2" in outcome.message


def test_explorecube_prints_rows_as_ophidia_does(image, run):
    grid = run("oph_explorecube limit_filter=2;show_index=yes").reply.document.grid(
        "explorecube_data"
    )
    assert tuple(grid.keys) == ("NAXIS2", "INDEX OF NAXIS2", grid.title)
    assert len(grid.rows) == 2
    first = [float(v) for v in grid.rows[0][-1].split(", ")]
    assert first == list(image[0])
    assert grid.rows[0][-1].split(", ")[0] == f"{image[0, 0]:.10f}"


def test_explorecube_base64_as_pyophidia_reads_it(image, run):
    doc = run("oph_explorecube base64=yes;level=2;show_index=yes;limit_filter=0").reply.document
    rows = doc.grid("explorecube_data").rows
    decoded = np.array([np.frombuffer(base64.b64decode(r[-1]), dtype=np.float64) for r in rows])
    assert np.array_equal(decoded, image)
    columns = next(g for g in doc.grids("explorecube_dimvalues") if g.title == "NAXIS1")
    values = [np.frombuffer(base64.b64decode(r[1]), dtype=np.int32)[0] for r in columns.rows]
    assert values == [1, 2, 3, 4]
    assert doc.text_titled("Summary") == "Selected 6 rows out of 6"


def test_duplicate_is_an_equal_cube_one_level_up(image, run, tmp_path, shell):
    original = shell.state.get("OPH_DATACUBE")
    run("oph_duplicate description=copy")
    assert shell.state.get("OPH_DATACUBE") != original
    assert np.array_equal(current(run, tmp_path, "d"), image)
    info = run("oph_cubeschema").reply.document.grid("cubeschema_cubeinfo").rows[0]
    assert info[4] in (1, "1")


def test_permute_swaps_implicit_dimensions(run, tmp_path):
    run("cc r")
    run(
        "oph_randcube container=r;dim=lat|lon|time;dim_size=2|3|4;exp_ndim=1;nfrag=2;ntuple=1;"
        "measure=tas;measure_type=double"
    )
    before = current(run, tmp_path, "before")
    run("oph_permute dim_pos=2,1")
    after = current(run, tmp_path, "after")
    assert before.shape == (2, 3, 4) and after.shape == (2, 4, 3)
    assert np.array_equal(after, before.transpose(0, 2, 1))


def test_randcube_values_and_shape(run, tmp_path):
    run("cc r")
    run(
        "oph_randcube container=r;dim=lat|lon|time;dim_size=4|5|6;exp_ndim=2;nfrag=4;ntuple=5;"
        "measure=tas;measure_type=float"
    )
    data = current(run, tmp_path, "rand")
    assert data.size == 120 and data.min() >= 0 and data.max() <= 1000
    assert data.std() > 100  # uniform values, not a constant


def test_randcube_needs_consistent_fragmentation(run, shell):
    run("cc r")
    outcome = shell.run_line(
        "oph_randcube container=r;dim=lat|lon|time;dim_size=4|5|6;exp_ndim=2;nfrag=3;ntuple=5;"
        "measure=tas;measure_type=float"
    )
    assert not outcome.ok and "nhost x nfrag x ntuple" in outcome.message


def test_search_lists_pids_first_and_pairs_keys_with_values(run, tmp_path):
    for i, (kind, filt) in enumerate([("BIAS", "OPEN"), ("FLAT", "V_JOHN_11"), ("FLAT", "R")]):
        data, cards = raw_frame(seed=i, kind=kind, filt=filt)
        write_fits(tmp_path / "data" / f"f{i}.fits", data, **cards)
    run("oph_createcontainer container=night;dim=NAXIS2|NAXIS1;dim_type=int|int")
    run("oph_importfits src_path=[file=f*.fits];container=night;import_metadata=yes")
    rows = run("ll").reply.document.grid("list").rows
    pids = [r[2] for r in rows if r[2]]
    doc = run("oph_search metadata_key_filter=FLT_ID;metadata_value_filter=V_JOHN").reply.document
    assert (
        json.loads(doc.to_json())["response"][0]["objkey"] == "search"
    )  # as the tutorial reads it
    grid = doc.grid("search")
    assert [list(r) for r in grid.rows] == [[pids[1], "FLT_ID", "V_JOHN_11"]]
    empty = run("oph_search metadata_key_filter=FLT_ID;metadata_value_filter=NOPE")
    assert list(empty.reply.document.grid("search").rows) == []
