"""FITS in and out: values, orientation, metadata, round trips, and bad files."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from factories import raw_frame, write_fits

from ophsh.engine.settings import Settings


def test_unsigned_16_bit_frames_keep_their_values_and_report_double(run, data_dir, shell):
    data, cards = raw_frame(shape=(9, 6))
    path = write_fits(data_dir / "raw.fits", data, **cards)
    with fits.open(path, do_not_scale_image_data=True) as hdul:
        assert hdul[0].header["BITPIX"] == 16 and hdul[0].header["BZERO"] == 32768
    cube = run("oph_importfits src_path=raw.fits").reply.document.output_cube
    info = run(f"oph_cubeschema cube={cube}").reply.document
    assert info.grid("cubeschema_cubeinfo").rows[0][3] == "double"
    dims = {r[0]: r for r in info.grid("cubeschema_diminfo").rows}
    assert dims["NAXIS1"][2] == "6" and dims["NAXIS1"][5] == "yes"  # implicit by default
    assert dims["NAXIS2"][2] == "9" and dims["NAXIS2"][5] == "no"


@pytest.mark.parametrize(
    "dtype",
    [np.uint16, np.int16, np.int32, np.float32, np.float64, np.uint8, np.int64, np.int8, np.uint32],
)
@pytest.mark.parametrize("layout", ["auto", "tutorial"])
def test_round_trip_is_bit_identical_in_both_layouts(run, data_dir, dtype, layout):
    rng = np.random.default_rng(7)
    if np.issubdtype(dtype, np.floating):
        data = rng.normal(1000, 50, size=(13, 8)).astype(dtype)
        data[3, 4] = np.nan
        data[0, 0] = -0.0
    else:
        info = np.iinfo(dtype)
        data = rng.integers(info.min, info.max, size=(13, 8), dtype=dtype, endpoint=True)
    write_fits(data_dir / "in.fits", data, OBJECT="NGC5364")
    dims = "exp_dim=NAXIS1;imp_dim=NAXIS2;" if layout == "tutorial" else ""
    run(f"oph_importfits src_path=in.fits;{dims}")
    run("oph_exportfits output_path=out;output_name=back;export_metadata=yes")
    with fits.open(data_dir / "out" / "back.fits") as hdul:
        back = hdul[0].data
        assert hdul[0].header["OBJECT"] == "NGC5364"
    native = back.astype(back.dtype.newbyteorder("="))  # FITS is big-endian on disk
    assert native.shape == data.shape
    assert native.dtype == data.dtype
    assert native.tobytes() == data.tobytes()


@pytest.mark.parametrize("dtype", [np.uint16, np.int8, np.uint32, np.float64])
def test_an_export_in_many_small_blocks_writes_the_same_file(run, shell, data_dir, dtype):
    """Cards (metadata, COMMENT, HISTORY), padding and values do not depend on the blocks."""
    rng = np.random.default_rng(3)
    if np.dtype(dtype).kind == "f":
        data = rng.normal(0, 1e6, size=(29, 17)).astype(dtype)
    else:
        info = np.iinfo(dtype)
        data = rng.integers(info.min, info.max, size=(29, 17), dtype=dtype, endpoint=True)
    path = write_fits(data_dir / "in.fits", data, OBJECT="M31", EXPTIME=(1.5, "seconds"))
    with fits.open(path, mode="update") as hdul:
        hdul[0].header.add_history("taken by nobody")
        hdul[0].header.add_comment("a comment card")
    run("oph_importfits src_path=in.fits")
    run("oph_exportfits output_path=out;output_name=whole;export_metadata=yes")
    shell.backend.service.settings = Settings(memory_bytes=300, threads=1)  # a row or two a block
    run("oph_exportfits output_path=out;output_name=blocks;export_metadata=yes")
    whole, blocks = (data_dir / "out" / f"{name}.fits" for name in ("whole", "blocks"))
    assert blocks.read_bytes() == whole.read_bytes()
    assert blocks.stat().st_size % 2880 == 0
    with fits.open(blocks) as hdul:
        header, back = hdul[0].header, hdul[0].data
        assert back.dtype.newbyteorder("=") == data.dtype and np.array_equal(back, data)
        assert header["OBJECT"] == "M31" and header.comments["EXPTIME"] == "seconds"
        assert "taken by nobody" in str(header["HISTORY"])
        assert "a comment card" in str(header["COMMENT"])
        assert any("oph_importfits" in str(card) for card in header["HISTORY"])


def test_the_tutorial_layout_stores_the_image_transposed_but_exports_it_upright(run, data_dir):
    data = np.arange(4 * 3, dtype=np.int16).reshape(4, 3)
    write_fits(data_dir / "t.fits", data)
    cube = run("oph_importfits src_path=t.fits;exp_dim=NAXIS1;imp_dim=NAXIS2").reply.document
    pid = cube.output_cube
    rows = run(f"oph_cubeschema cube={pid}").reply.document.grid("cubeschema_diminfo").rows
    assert [(r[0], r[5]) for r in rows] == [("NAXIS1", "no"), ("NAXIS2", "yes")]
    run("oph_exportfits output_path=.;output_name=t_out")
    assert np.array_equal(fits.getdata(data_dir / "t_out.fits"), data)


def test_every_header_card_comes_back_with_export_metadata(run, data_dir):
    data, cards = raw_frame()
    path = write_fits(data_dir / "h.fits", data, **cards, DATE_OBS="2016-06-06T20:30:03.925")
    with fits.open(path) as hdul:
        hdul[0].header.add_history("flat fielded by nobody")
        hdul[0].header.add_comment("a comment card")
        hdul.writeto(path, overwrite=True)
    run("oph_importfits src_path=h.fits")
    run("oph_exportfits output_path=o;export_metadata=yes")
    original = fits.getheader(path)
    back = fits.getheader(data_dir / "o" / "image.fits")
    for key in ("OBS_TYPE", "FLT_ID", "EXPTIME", "DATE_OBS"):
        assert back[key] == original[key]
        assert back.comments[key] == original.comments[key]
    assert "flat fielded by nobody" in str(back["HISTORY"])
    assert "a comment card" in str(back["COMMENT"])
    assert any("oph_importfits" in str(h) for h in back["HISTORY"])  # provenance


def test_export_without_metadata_writes_only_the_history(run, data_dir):
    data, cards = raw_frame()
    write_fits(data_dir / "h.fits", data, **cards)
    run("oph_importfits src_path=h.fits")
    run("oph_exportfits output_path=o;export_metadata=no")
    header = fits.getheader(data_dir / "o" / "image.fits")
    assert "FLT_ID" not in header and "HISTORY" in header


def test_import_many_files_with_a_filter(run, data_dir, shell):
    for i in range(3):
        data, cards = raw_frame(seed=i)
        write_fits(data_dir / "raw" / f"f{i}.fits", data, **cards)
    (data_dir / "raw" / "notes.txt").write_text("not a frame")
    run("oph_createcontainer container=night;dim=NAXIS2|NAXIS1;dim_type=int|int")
    out = run("oph_importfits src_path=[path=raw;file=*.fits];container=night")
    task_list = out.reply.document.grid("massive_list")
    assert [r[2].rsplit("/", 1)[1] for r in task_list.rows] == ["f0.fits", "f1.fits", "f2.fits"]
    listing = run("ll").reply.document.grid("list").rows
    assert sum(1 for r in listing if r[2]) == 3


def test_a_massive_import_on_several_cores_keeps_every_frame_and_the_order(run, data_dir, shell):
    frames = {}
    for i in range(6):
        data, cards = raw_frame(shape=(9, 11), seed=10 + i)
        frames[f"f{i}.fits"] = data
        write_fits(data_dir / "raw" / f"f{i}.fits", data, **cards)
    run("oph_createcontainer container=night;dim=NAXIS2|NAXIS1;dim_type=int|int")
    out = run("oph_importfits src_path=[path=raw;file=*.fits];container=night;ncores=3")
    rows = out.reply.document.grid("massive_list").rows
    assert [r[2].rsplit("/", 1)[1] for r in rows] == sorted(frames)
    assert len({r[3] for r in rows}) == 6
    assert shell.state.get("OPH_DATACUBE") == rows[-1][3]
    store = shell.backend.service.store
    for row in rows:
        cube = store.cube_by_pid(row[3])
        assert np.array_equal(store.data(cube), frames[row[2].rsplit("/", 1)[1]])


@pytest.mark.parametrize(
    ("setup", "command", "message"),
    [
        (None, "oph_importfits src_path=missing.fits", "does not exist"),
        ("corrupt", "oph_importfits src_path=bad.fits", "not a readable FITS file"),
        ("empty", "oph_importfits src_path=empty.fits", "holds no image"),
        ("good", "oph_importfits src_path=good.fits;hdu=3", "has no HDU number 3"),
        ("good", "oph_importfits src_path=good.fits;exp_dim=NAXIS3;imp_dim=NAXIS1", "not an axis"),
        ("good", "oph_importfits src_path=good.fits;container=nope", "does not exist"),
        ("table", "oph_importfits src_path=table.fits;hdu=2", "is not an image"),
    ],
)
def test_bad_imports_fail_clearly_and_leave_no_cube(shell, run, data_dir, setup, command, message):
    if setup == "corrupt":
        (data_dir / "bad.fits").write_bytes(b"SIMPLE  =  this is not FITS" * 10)
    elif setup == "empty":
        fits.PrimaryHDU().writeto(data_dir / "empty.fits")
    elif setup == "good":
        write_fits(data_dir / "good.fits", np.zeros((3, 2), dtype=np.int16))
    elif setup == "table":
        table = fits.BinTableHDU.from_columns([fits.Column(name="a", format="J", array=[1])])
        fits.HDUList([fits.PrimaryHDU(), table]).writeto(data_dir / "table.fits")
    out = shell.run_line(command)
    assert not out.ok and message in out.message
    assert all(not r[2] for r in run("ll").reply.document.grid("list").rows)


def test_import_into_a_container_without_the_right_dimensions(shell, run, data_dir):
    write_fits(data_dir / "cube3d.fits", np.zeros((2, 3, 4), dtype=np.int16))
    run("oph_createcontainer container=FITS2;dim=NAXIS2|NAXIS1;dim_type=int|int")
    out = shell.run_line("oph_importfits src_path=cube3d.fits;container=FITS2")
    assert not out.ok and "does not declare dimension(s) NAXIS3" in out.message


def test_subset_at_import_is_zero_based_and_inclusive(run, data_dir):
    data = np.arange(6 * 5, dtype=np.int32).reshape(6, 5)
    write_fits(data_dir / "s.fits", data)
    run("oph_importfits src_path=s.fits;subset_dims=NAXIS1|NAXIS2;subset_filter=1:3|2:4")
    run("oph_exportfits output_path=.;output_name=s_out")
    assert np.array_equal(fits.getdata(data_dir / "s_out.fits"), data[2:5, 1:4])


def test_export_refuses_to_overwrite_the_default_place_without_force(shell, run, data_dir):
    write_fits(data_dir / "e.fits", np.ones((2, 2), dtype=np.int16))
    run("oph_importfits src_path=e.fits")
    first = run("oph_exportfits").reply.document.text_titled("Output File")
    out = shell.run_line("oph_exportfits")
    assert not out.ok and "force=yes" in out.message
    assert run("oph_exportfits force=yes").reply.document.text_titled("Output File") == first


def test_paths_are_resolved_against_the_data_directory(shell, run, data_dir):
    write_fits(data_dir / "raw" / "x.fits", np.ones((2, 2), dtype=np.int16))
    run("cdd raw")
    run("oph_importfits src_path=x.fits")
    run("oph_exportfits output_path=../out;output_name=x")
    assert (data_dir / "out" / "x.fits").exists()
