"""The generated raw frames look like a real camera's: what the tutorial and the tests rely on."""

from __future__ import annotations

from collections import Counter

import numpy as np
from astropy.io import fits
from make_frames import FILTERS, main, make_night


def headers_and_data(paths):
    for path in paths:
        with fits.open(path) as hdul:
            yield hdul[0].header, hdul[0].data


def test_frames_are_unsigned_16_bit_with_the_tutorials_cards(tmp_path):
    paths = make_night(tmp_path, shape=(30, 40), n_bias=2, n_flats=2, n_science=1)
    assert paths[0].name == "LRS.2016-06-06T20-30-03.925.fits"
    raw = fits.getheader(paths[0], do_not_scale_image_data=True)
    assert (raw["BITPIX"], raw["BZERO"], raw["NAXIS1"], raw["NAXIS2"]) == (16, 32768, 40, 30)
    kinds = Counter((h["OBS_TYPE"], h["FLT_ID"]) for h, _ in headers_and_data(paths))
    assert kinds[("BIAS", "OPEN")] == 2
    for filt in FILTERS:
        assert kinds[("FLAT", filt)] == 2 and kinds[("OBJECT", filt)] == 1
    dates = [h["DATE-OBS"] for h, _ in headers_and_data(paths)]
    assert dates == sorted(dates) and len(set(dates)) == len(dates)
    for header, data in headers_and_data(paths):
        assert data.dtype == np.uint16
        assert header["EXPTIME"] == (0.0 if header["OBS_TYPE"] == "BIAS" else header["EXPTIME"])


def test_pixels_show_bias_vignetting_and_a_galaxy(tmp_path):
    paths = make_night(tmp_path, shape=(120, 160), n_bias=3, n_flats=3, n_science=1)
    frames = list(headers_and_data(paths))
    bias = np.median([d for h, d in frames if h["OBS_TYPE"] == "BIAS"], axis=0)
    assert 950 < np.median(bias) < 1050
    column_pattern = bias.mean(axis=0)
    assert column_pattern.std() > 1.0  # a fixed column pattern that a master bias removes

    flat = (
        np.median(
            [d for h, d in frames if h["OBS_TYPE"] == "FLAT" and h["FLT_ID"] == "V_JOHN_11"], axis=0
        )
        - bias
    )
    centre, corner = flat[50:70, 70:90].mean(), flat[:15, :15].mean()
    assert centre > 1.1 * corner  # vignetted: darker towards the corners

    science = next(d for h, d in frames if h["OBS_TYPE"] == "OBJECT") - bias
    assert science[55:65, 75:85].mean() > 3 * np.median(science)  # the galaxy's bulge


def test_command_line_writes_the_requested_night(tmp_path, capsys):
    assert (
        main(
            [
                str(tmp_path / "n"),
                "--size",
                "20x10",
                "--bias",
                "1",
                "--flats",
                "1",
                "--science",
                "1",
            ]
        )
        == 0
    )
    files = sorted((tmp_path / "n").glob("LRS.*.fits"))
    assert len(files) == 1 + 3 + 3
    assert fits.getdata(files[0]).shape == (10, 20)
    assert "wrote 7 frames" in capsys.readouterr().out
