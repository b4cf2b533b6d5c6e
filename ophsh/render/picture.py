"""Pictures of 2-D cubes: a stretched grey image (astropy.visualization), written as PNG
(Pillow) or previewed in the terminal with unicode half blocks, two pixels per character."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.style import Style
from rich.text import Text

__all__ = ["STRETCHES", "grey_image", "preview", "write_png"]

STRETCHES = ("zscale", "percentile", "minmax")


def grey_image(data: np.ndarray, stretch: str = "zscale") -> np.ndarray:
    """0..255 grey levels of a 2-D array, first row at the bottom as astronomers draw images.

    zscale is IRAF's (the usual for raw and calibrated frames); percentile clips to the central
    99.5 %; minmax spans all values. NaN pixels are black.
    """
    from astropy.visualization import MinMaxInterval, PercentileInterval, ZScaleInterval

    intervals = {
        "zscale": ZScaleInterval,
        "percentile": lambda: PercentileInterval(99.5),
        "minmax": MinMaxInterval,
    }
    if stretch not in intervals:
        raise ValueError(f"stretch must be one of {', '.join(STRETCHES)}")
    values = np.asarray(data, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.zeros(values.shape, dtype=np.uint8)
    low, high = intervals[stretch]().get_limits(finite)
    span = high - low if high > low else 1.0
    scaled = np.nan_to_num(np.clip((values - low) / span, 0.0, 1.0), nan=0.0)
    return np.flipud((scaled * 255).round().astype(np.uint8))


def write_png(path: Path, image: np.ndarray) -> Path:
    from PIL import Image

    Image.fromarray(image, mode="L").save(path)
    return path


def preview(image: np.ndarray, width: int = 64) -> Text:
    """The image in ``width`` columns: each character is an upper half block coloured with the
    upper pixel, on a background coloured with the lower one."""
    rows, cols = image.shape
    width = max(1, min(width, cols))
    height = max(2, round(rows * width / cols / 2) * 2)  # characters are about twice as tall
    ys = (np.arange(height) * rows / height).astype(int)
    xs = (np.arange(width) * cols / width).astype(int)
    small = image[np.ix_(ys, xs)]
    text = Text()
    for top, bottom in zip(small[0::2], small[1::2], strict=True):
        for up, down in zip(top, bottom, strict=True):
            text.append(
                "▀", Style(color=f"rgb({up},{up},{up})", bgcolor=f"rgb({down},{down},{down})")
            )
        text.append("\n")
    return text
