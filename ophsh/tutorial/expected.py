"""What each calibration product should be, computed with numpy from the generated frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits

__all__ = ["DESCRIPTIONS", "Night", "describe", "difference", "matches"]

DESCRIPTIONS = {
    "frame": "the first raw frame",
    "bias": "the master bias (median of the bias frames)",
    "flat": "the median flat of {filter}",
    "flat_sub": "the median flat of {filter} minus the master bias",
    "flat_norm": "the normalised flat of {filter} (flat minus bias, over its mean)",
    "science": "the median science frame of {filter}",
    "science_sub": "the median science frame of {filter} minus the master bias",
    "calibrated": "{filter} science minus bias, divided by the normalised flat",
    "tutorial_final": "{filter} science minus bias, divided by the flat minus bias",
    "slip_flat": "the {filter} flat minus (the B flat minus the bias)",
}


class Night:
    """The raw frames of a practice night, and the images derived from them."""

    def __init__(self, raw: Path) -> None:
        self.frames: list[tuple[str, str, np.ndarray]] = []
        for path in sorted(raw.glob("LRS.*.fits")):
            with fits.open(path) as hdul:
                head = hdul[0].header
                data = hdul[0].data.astype(np.float64)
            self.frames.append((str(head["OBS_TYPE"]), str(head["FLT_ID"]), data))
        self._images: dict[tuple[str, str], np.ndarray] = {}

    def _median(self, kind: str, filt: str | None = None) -> np.ndarray:
        chosen = [d for k, f, d in self.frames if k == kind and filt in (None, f)]
        return np.median(np.stack(chosen), axis=0)

    def image(self, name: str, filt: str = "") -> np.ndarray:
        """The expected image ``name`` (see DESCRIPTIONS) for filter ``filt``."""
        if (name, filt) not in self._images:
            self._images[name, filt] = self._compute(name, filt)
        return self._images[name, filt]

    def _compute(self, name: str, filt: str) -> np.ndarray:
        if name == "frame":
            return self.frames[0][2]
        if name == "bias":
            return self._median("BIAS")
        if name == "flat":
            return self._median("FLAT", filt)
        if name == "flat_sub":
            return self.image("flat", filt) - self.image("bias")
        if name == "flat_norm":
            sub = self.image("flat_sub", filt)
            return sub / sub.mean()
        if name == "science":
            return self._median("OBJECT", filt)
        if name == "science_sub":
            return self.image("science", filt) - self.image("bias")
        if name == "calibrated":
            return self.image("science_sub", filt) / self.image("flat_norm", filt)
        if name == "tutorial_final":
            return self.image("science_sub", filt) / self.image("flat_sub", filt)
        if name == "slip_flat":
            return self.image("flat", filt) - self.image("flat_sub", "B_JOHN_10")
        raise KeyError(name)


def describe(name: str, filt: str = "") -> str:
    return DESCRIPTIONS[name].format(filter=filt)


def matches(actual: np.ndarray, expected: np.ndarray) -> bool:
    """Equal to 1e-5 of the image's largest value (relative, robust near zero)."""
    if actual.shape != expected.shape:
        return False
    scale = float(np.nanmax(np.abs(expected))) or 1.0
    return bool(np.allclose(actual, expected, rtol=1e-5, atol=1e-5 * scale))


def difference(actual: np.ndarray, expected: np.ndarray) -> float:
    """The largest difference relative to the image's largest value."""
    scale = float(np.nanmax(np.abs(expected))) or 1.0
    return float(np.nanmax(np.abs(actual - expected)) / scale)
