"""Imported FITS frames are referenced in place (a link to the file), never copied."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from factories import NO_OTHER_FILE_SYSTEM, other_file_system, raw_frame, write_fits

from ophsh.engine.layouts import Layout
from ophsh.engine.store import Store


def imported(run, shell, line: str):
    pid = run(line).reply.document.output_cube
    store = shell.backend.store
    return store, store.cube_by_pid(pid)


def frame_of(store, cube) -> Path:
    return store.arrays.frame(cube.data_file)


def data_offset(path: Path) -> int:
    with fits.open(path) as hdul:
        return hdul[0].fileinfo()["datLoc"]


def _frames():
    rng = np.random.default_rng(11)
    ints = rng.integers(-30000, 30000, size=(23, 17))
    return {
        "uint16 (BZERO 32768)": (rng.integers(0, 65535, size=(23, 17)).astype(np.uint16), {}),
        "int8 (BZERO -128)": (rng.integers(-128, 127, size=(23, 17)).astype(np.int8), {}),
        "uint32 (BZERO 2**31)": (rng.integers(0, 2**32 - 1, size=(23, 17)).astype(np.uint32), {}),
        "int16": (ints.astype(np.int16), {}),
        "int32": ((ints * 70000).astype(np.int32), {}),
        "uint8": (rng.integers(0, 255, size=(23, 17)).astype(np.uint8), {}),
        "float32": (rng.normal(100, 5, size=(23, 17)).astype(np.float32), {}),
        "float64": (rng.normal(100, 5, size=(23, 17)), {}),
        "BSCALE": (ints.astype(np.int16), {"BSCALE": 0.25, "BZERO": 10.0}),
        "BSCALE, 32 bits": ((ints * 70000).astype(np.int32), {"BSCALE": 1e-3, "BZERO": 0.5}),
        "BLANK": (ints.astype(np.int16), {"BSCALE": 2.0, "BLANK": int(ints[4, 5])}),
    }


def _write_scaled(path: Path, numbers: np.ndarray, cards: dict) -> Path:
    """Stored numbers written as they are, with scaling cards added afterwards."""
    hdu = fits.PrimaryHDU(numbers)
    for key, value in cards.items():
        hdu.header[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    hdu.writeto(path, overwrite=True)
    return path


@pytest.mark.parametrize("name", list(_frames()))
def test_a_referenced_frame_reads_as_the_copying_import_did(run, shell, data_dir, name):
    numbers, cards = _frames()[name]
    if cards:
        path = _write_scaled(data_dir / "f.fits", numbers, cards)
    else:
        path = write_fits(data_dir / "f.fits", numbers)
    expected = fits.getdata(path)  # astropy's values: unsigned, scaled, BLANK as NaN
    run("oph_createcontainer container=c;dim=NAXIS2|NAXIS1;dim_type=int|int")
    store, ref = imported(run, shell, "oph_importfits src_path=f.fits;container=c")
    rows = numbers.shape[0]
    # a subset of every row is read from the file and copied, as every import did before
    _, copy = imported(
        run,
        shell,
        f"oph_importfits src_path=f.fits;container=c;subset_dims=NAXIS2;subset_filter=0:{rows - 1}",
    )
    assert ref.data_file.endswith(".ref") and copy.data_file.endswith(".npy")
    assert frame_of(store, ref).stat().st_ino == path.stat().st_ino  # the same file: no copy
    assert ref.storage == copy.storage
    assert ref.measure_type == copy.measure_type
    values = store.data(ref)
    assert values.dtype == store.data(copy).dtype == expected.dtype.newbyteorder("=")
    np.testing.assert_array_equal(values, expected)
    np.testing.assert_array_equal(values, store.data(copy))
    np.testing.assert_array_equal(store.rows(ref, 5, 9), expected[5:9])


def test_median_of_a_stack_of_referenced_frames(run, shell, data_dir):
    frames = [raw_frame(shape=(31, 20), seed=s)[0] for s in range(5)]
    for i, data in enumerate(frames):
        write_fits(data_dir / "raw" / f"b{i}.fits", data, OBS_TYPE="BIAS")
    run("oph_createcontainer container=c;dim=NAXIS2|NAXIS1;dim_type=int|int")
    run("oph_importfits src_path=[path=raw;file=*.fits];container=c")
    store, stack = imported(run, shell, "oph_mergecubes2 cubes=[container=c];dim=z")
    members = store.arrays.frames(stack.data_file)
    assert [p.suffix for p in members] == [".fits"] * 5
    inodes = {(data_dir / "raw" / f"b{i}.fits").stat().st_ino for i in range(5)}
    assert {p.stat().st_ino for p in members} == inodes
    np.testing.assert_array_equal(store.data(stack), np.stack(frames, axis=-1))
    _, median = imported(run, shell, "oph_reduce2 operation=quantile;order=0.5;dim=z")
    np.testing.assert_array_equal(store.data(median), np.median(np.stack(frames), axis=0))
    _, mean = imported(run, shell, f"oph_reduce2 cube={stack.pid};operation=avg;dim=z")
    np.testing.assert_allclose(store.data(mean), np.mean(np.stack(frames), axis=0))


def test_a_frame_edited_in_place_is_refused_by_name(run, shell, data_dir):
    data, cards = raw_frame(shape=(12, 10))
    path = write_fits(data_dir / "f.fits", data, **cards)
    _, cube = imported(run, shell, "oph_importfits src_path=f.fits")
    many = "|".join([cube.pid] * 4)  # a median across more than three frames is written
    _, stack = imported(run, shell, f"oph_mergecubes2 cubes={many};dim=z")
    with open(path, "r+b") as fh:  # same size, other pixels: only the time tells
        fh.seek(data_offset(path))
        fh.write(b"\x00\x01" * 10)
    # the write moved the file's time on; said explicitly, as a file system's clock may be coarse
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    for pid, line in [
        (cube.pid, f"oph_explorecube cube={cube.pid};limit_filter=2"),
        (stack.pid, f"oph_reduce2 cube={stack.pid};operation=quantile;order=0.5;dim=z"),
        (cube.pid, f"oph_exportfits cube={cube.pid};output_path=o"),
    ]:
        outcome = shell.run_line(line)
        assert not outcome.ok
        assert outcome.message.startswith(f"cube {pid} cannot be read: the file it references")
        assert str(path) in outcome.message and "changed in place" in outcome.message
    assert not (data_dir / "o").exists() or not any((data_dir / "o").iterdir())


def test_a_deleted_source_leaves_the_cube_readable(run, shell, data_dir):
    data, cards = raw_frame(shape=(12, 10))
    path = write_fits(data_dir / "f.fits", data, **cards)
    store, cube = imported(run, shell, "oph_importfits src_path=f.fits")
    path.unlink()
    np.testing.assert_array_equal(store.data(cube), data)
    run(f"oph_exportfits cube={cube.pid};output_path=o;output_name=back")
    np.testing.assert_array_equal(fits.getdata(data_dir / "o" / "back.fits"), data)


def test_deleting_the_cube_keeps_the_users_file(run, shell, data_dir):
    data, cards = raw_frame(shape=(12, 10))
    path = write_fits(data_dir / "f.fits", data, **cards)
    store, cube = imported(run, shell, "oph_importfits src_path=f.fits")
    assert path.stat().st_nlink == 2
    run(f"oph_delete cube={cube.pid}")
    assert path.stat().st_nlink == 1
    assert not (store.root / "data" / cube.data_file).exists()
    np.testing.assert_array_equal(fits.getdata(path), data)


def test_a_reference_published_but_never_recorded_is_swept_not_the_source(tmp_path):
    data, _ = raw_frame(shape=(6, 4))
    path = write_fits(tmp_path / "raw" / "f.fits", data)
    offset = data_offset(path)
    store = Store.open(tmp_path / "s")
    layout = Layout(offset, (6, 4), np.dtype(">i2"), np.dtype(np.uint16), bzero=32768)
    store.arrays.reference(path, layout).publish()  # as a process killed before its commit
    store.close()
    Store.open(tmp_path / "s").close()
    assert list((tmp_path / "s" / "data").iterdir()) == []
    assert path.stat().st_nlink == 1
    np.testing.assert_array_equal(fits.getdata(path), data)


@pytest.mark.skipif(other_file_system() is None, reason=NO_OTHER_FILE_SYSTEM)
class TestAcrossFileSystems:
    @pytest.fixture
    def store_dir(self):
        with tempfile.TemporaryDirectory(dir=other_file_system()) as where:
            yield Path(where) / "store"

    def test_a_frame_on_another_file_system_is_copied(self, run, shell, data_dir):
        data, cards = raw_frame(shape=(12, 10))
        path = write_fits(data_dir / "f.fits", data, **cards)
        store, cube = imported(run, shell, "oph_importfits src_path=f.fits")
        assert cube.data_file.endswith(".npy") and cube.storage == "<u2"
        assert path.stat().st_nlink == 1
        path.unlink()
        np.testing.assert_array_equal(store.data(cube), data)


def test_a_duplicate_of_a_reference_outlives_the_original_and_the_file(run, shell, data_dir):
    frames = [raw_frame(shape=(9, 8), seed=s)[0] for s in range(3)]
    for i, data in enumerate(frames):
        write_fits(data_dir / "raw" / f"b{i}.fits", data)
    run("oph_createcontainer container=c;dim=NAXIS2|NAXIS1;dim_type=int|int")
    run("oph_importfits src_path=[path=raw;file=*.fits];container=c")
    store = shell.backend.store
    first, *others = store.cubes()
    _, stack = imported(run, shell, "oph_mergecubes2 cubes=[container=c];dim=z")
    _, copy = imported(run, shell, f"oph_duplicate cube={first.pid}")
    _, stack_copy = imported(run, shell, f"oph_duplicate cube={stack.pid}")
    assert copy.data_file.endswith(".ref") and stack_copy.data_file.endswith(".stack")
    for cube in (first, *others, stack):
        run(f"oph_delete cube={cube.pid}")
    for path in (data_dir / "raw").iterdir():
        path.unlink()
    np.testing.assert_array_equal(store.data(copy), frames[0])
    np.testing.assert_array_equal(store.rows(stack_copy, 2, 4), np.stack(frames, -1)[2:4])


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_a_compressed_image_is_copied_with_astropys_values(run, shell, data_dir, dtype):
    rng = np.random.default_rng(5)
    data = (rng.normal(3000, 100, size=(20, 16))).astype(dtype)
    data_dir.mkdir(parents=True, exist_ok=True)
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data)]).writeto(data_dir / "c.fits")
    expected = fits.getdata(data_dir / "c.fits", ext=1)
    store, cube = imported(run, shell, "oph_importfits src_path=c.fits;hdu=2")
    assert cube.data_file.endswith(".npy")
    np.testing.assert_array_equal(store.data(cube), expected)
