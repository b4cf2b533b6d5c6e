"""Small FITS files with known contents, written by astropy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits


def write_fits(path: Path, data: np.ndarray, **cards) -> Path:
    """Write ``data`` as the primary image of ``path`` with the given header cards."""
    header = fits.Header()
    for key, value in cards.items():
        header[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.PrimaryHDU(data=data, header=header).writeto(path, overwrite=True)
    return path


def raw_frame(shape=(7, 5), *, seed=0, kind="BIAS", filt="OPEN") -> tuple[np.ndarray, dict]:
    """An unsigned 16-bit frame (BITPIX 16, BZERO 32768 once written) and its header cards."""
    rng = np.random.default_rng(seed)
    data = rng.integers(300, 60000, size=shape, dtype=np.uint16)
    cards = {
        "OBS_TYPE": (kind, "observation type"),
        "FLT_ID": (filt, "filter"),
        "EXPTIME": (1.5, "seconds"),
    }
    return data, cards
