"""The shipped calibration scripts, run by the real command line, against ccdproc and numpy."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import FITSFixedWarning
from conftest import SCRIPTS, ophsh
from make_frames import FILTERS

ccdproc = pytest.importorskip("ccdproc", reason="ccdproc is in the test extra: pip install .[test]")


def groups(raw):
    """Raw frame paths keyed by (OBS_TYPE, FLT_ID)."""
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted(raw.glob("*.fits")):
        header = fits.getheader(path)
        found.setdefault((header["OBS_TYPE"], header["FLT_ID"]), []).append(str(path))
    return found


def median(paths):
    warnings.simplefilter("ignore", FITSFixedWarning)
    return ccdproc.combine(paths, method="median", unit="adu")


def relative_gap(actual: np.ndarray, expected: np.ndarray) -> float:
    return float(np.nanmax(np.abs(actual - expected) / np.abs(expected)))


@pytest.fixture(scope="module")
def calibrated(night, tmp_path_factory):
    """calibrate.oph run once on the generated night; returns the output folder."""
    work = tmp_path_factory.mktemp("calibrate")
    result = ophsh(
        "-q",
        "--store",
        str(work / "store"),
        str(SCRIPTS / "calibrate.oph"),
        str(night),
        str(work / "out"),
        cwd=work,
    )
    assert result.returncode == 0, result.stderr
    return work / "out"


@pytest.mark.parametrize("filt", FILTERS)
def test_calibrate_matches_ccdproc(night, calibrated, filt):
    frames = groups(night)
    bias = median(frames["BIAS", "OPEN"])
    flat = ccdproc.subtract_bias(median(frames["FLAT", filt]), bias)
    science = ccdproc.subtract_bias(median(frames["OBJECT", filt]), bias)
    expected = ccdproc.flat_correct(science, flat).data  # flat normalised by its mean
    with fits.open(calibrated / f"calibrated_{filt}.fits") as hdul:
        actual = hdul[0].data
        header = hdul[0].header
    assert actual.shape == expected.shape  # the raw frames' orientation
    assert relative_gap(actual, expected) < 1e-5
    assert header["FLT_ID"] == filt  # metadata of the first science frame travels along
    assert any("oph_intercube" in str(card) for card in header.get("HISTORY", []))


def test_master_bias_is_the_median_of_the_bias_frames(night, calibrated):
    frames = [fits.getdata(p).astype(np.float64) for p in groups(night)["BIAS", "OPEN"]]
    master = fits.getdata(calibrated / "master_bias.fits")
    assert np.allclose(master, np.median(frames, axis=0), rtol=1e-6, atol=0)


def test_the_tutorials_steps_match_numpy(night, tmp_path):
    result = ophsh(
        "-q",
        "--store",
        str(tmp_path / "store"),
        str(SCRIPTS / "tutorial_calibration.oph"),
        str(night),
        str(tmp_path / "out"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    frames = groups(night)

    def med(paths):
        return np.median([fits.getdata(p).astype(np.float64) for p in paths], axis=0)

    bias = med(frames["BIAS", "OPEN"])
    for filt in FILTERS:
        expected = (med(frames["OBJECT", filt]) - bias) / (med(frames["FLAT", filt]) - bias)
        actual = fits.getdata(tmp_path / "out" / f"final_{filt}.fits")
        assert actual.shape == expected.shape
        assert relative_gap(actual, expected) < 1e-5


def test_the_workflow_gives_the_same_fits_as_the_script(night, calibrated, tmp_path):
    out = tmp_path / "out"
    result = ophsh(
        "-q",
        "--store",
        str(tmp_path / "store"),
        "-w",
        str(SCRIPTS / "calibrate.json"),
        "-a",
        f"{night},{out}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    for filt in ("master_bias", *(f"calibrated_{f}" for f in FILTERS)):
        assert np.array_equal(
            fits.getdata(out / f"{filt}.fits"), fits.getdata(calibrated / f"{filt}.fits")
        )
