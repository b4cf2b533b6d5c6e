"""A night of raw CCD frames as FITS, the way a small telescope camera writes them.

The frames are unsigned 16-bit images stored as BITPIX=16 with BZERO=32768 (what astropy writes
for ``uint16`` data, and what real cameras produce). Their headers carry the keys the INDIGO
tutorial selects on: ``OBS_TYPE`` (BIAS, FLAT, OBJECT), ``FLT_ID`` (OPEN for bias frames,
B_JOHN_10, V_JOHN_11, R_JOHN_12 otherwise), ``EXPTIME`` and ``DATE-OBS``. File names follow the
tutorial's ``LRS.<date-obs>.fits`` pattern.

What is in the pixels:

* every frame: a bias level with a fixed column pattern and a row gradient, plus read noise;
* flats: a twilight sky level per filter times a vignetting profile, pixel-to-pixel response and
  dust rings, with photon noise;
* science frames (object NGC5364-like): sky plus an inclined spiral galaxy and a few stars, times
  the same vignetting and pixel response, with photon noise and a cosmic ray or two.

``scripts/make_frames.py`` is the command line; the tests, the demo, the benchmarks and the
guided course (``ophsh tutorial``) all use these functions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

FILTERS = ("B_JOHN_10", "V_JOHN_11", "R_JOHN_12")
BIAS_LEVEL = 1000.0
READ_NOISE = 5.0
GAIN = 1.5  # electrons per ADU
START = dt.datetime(2016, 6, 6, 20, 30, 3, 925000)


@dataclass(frozen=True)
class Frame:
    """One planned exposure: its kind, filter, exposure time and start time."""

    kind: str
    filt: str
    exptime: float
    start: dt.datetime

    @property
    def date_obs(self) -> str:
        return self.start.isoformat(timespec="milliseconds")

    @property
    def file_name(self) -> str:
        return f"LRS.{self.date_obs.replace(':', '-')}.fits"


@dataclass(frozen=True)
class Camera:
    """The fixed, frame-independent parts of the detector and optics."""

    bias: np.ndarray  # ADU
    response: np.ndarray  # vignetting x pixel response x dust, around 1


def camera(shape: tuple[int, int], rng: np.random.Generator) -> Camera:
    """A bias pattern and a flat-field response for a detector of ``shape`` (rows, columns)."""
    rows, cols = shape
    y, x = np.mgrid[0:rows, 0:cols].astype(np.float32)
    columns = rng.normal(0.0, 3.0, cols).astype(np.float32)
    bias = BIAS_LEVEL + columns[None, :] + 8.0 * y / max(rows - 1, 1)
    radius = np.hypot((y - rows / 2) / rows, (x - cols / 2) / cols)
    vignetting = 1.0 - 0.6 * radius**2
    prnu = rng.normal(1.0, 0.01, shape).astype(np.float32)
    dust = np.ones(shape, np.float32)
    for _ in range(3):
        cy, cx = rng.uniform(0.15, 0.85) * rows, rng.uniform(0.15, 0.85) * cols
        ring = np.hypot(y - cy, x - cx)
        size = 0.04 * min(rows, cols)
        dust -= 0.06 * np.exp(-(((ring - size) / (0.3 * size)) ** 2))
    return Camera(bias.astype(np.float32), (vignetting * prnu * dust).astype(np.float32))


def galaxy(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Sky-free flux per second: an inclined two-armed spiral with a bulge, and field stars."""
    rows, cols = shape
    y, x = np.mgrid[0:rows, 0:cols].astype(np.float32)
    cy, cx = rows * 0.5, cols * 0.5
    angle, tilt = np.deg2rad(35.0), 0.55
    u = (x - cx) * np.cos(angle) + (y - cy) * np.sin(angle)
    v = (-(x - cx) * np.sin(angle) + (y - cy) * np.cos(angle)) / tilt
    r = np.hypot(u, v) / (0.12 * min(rows, cols))
    theta = np.arctan2(v, u)
    arms = 1.0 + 0.8 * np.cos(2.0 * theta - 3.0 * np.log1p(r))
    flux = 600.0 * np.exp(-r) * arms + 6000.0 * np.exp(-((r / 0.35) ** 2))
    for _ in range(max(4, rows * cols // 20000)):
        sy, sx = rng.uniform(0, rows), rng.uniform(0, cols)
        peak, sigma = rng.uniform(500.0, 10000.0), rng.uniform(1.0, 2.0)
        flux += peak * np.exp(-((y - sy) ** 2 + (x - sx) ** 2) / (2 * sigma**2))
    return flux.astype(np.float32)


def expose(frame: Frame, cam: Camera, scene: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The raw ``uint16`` image the camera reads out for ``frame``."""
    shape = cam.bias.shape
    if frame.kind == "BIAS":
        electrons = np.zeros(shape, np.float32)
    elif frame.kind == "FLAT":
        level = {"B_JOHN_10": 18000.0, "V_JOHN_11": 26000.0, "R_JOHN_12": 30000.0}[frame.filt]
        electrons = level * cam.response
    else:
        sky = 10.0 * frame.exptime
        electrons = (sky + scene * frame.exptime / 60.0) * cam.response
    photons = rng.poisson(np.maximum(electrons * GAIN, 0)).astype(np.float32) / GAIN
    adu = cam.bias + photons + rng.normal(0.0, READ_NOISE, shape).astype(np.float32)
    if frame.kind == "OBJECT":
        for _ in range(2):
            adu[rng.integers(0, shape[0]), rng.integers(0, shape[1])] = 60000.0
    return np.clip(np.rint(adu), 0, 65535).astype(np.uint16)


def plan(n_bias: int, n_flats: int, n_science: int) -> list[Frame]:
    """The night's exposures in the order a observer takes them: bias, flats, then science."""
    frames: list[Frame] = []
    clock = START

    def take(kind: str, filt: str, exptime: float) -> None:
        nonlocal clock
        frames.append(Frame(kind, filt, exptime, clock))
        clock += dt.timedelta(seconds=exptime + 17.123)

    for _ in range(n_bias):
        take("BIAS", "OPEN", 0.0)
    for filt in FILTERS:
        for _ in range(n_flats):
            take("FLAT", filt, 2.0)
    for filt in FILTERS:
        for _ in range(n_science):
            take("OBJECT", filt, 120.0)
    return frames


def header(frame: Frame, shape: tuple[int, int]) -> fits.Header:
    """The header cards the camera writes for ``frame``."""
    cards = fits.Header()
    cards["TELESCOP"] = ("TNG", "telescope")
    cards["INSTRUME"] = ("LRS", "instrument")
    cards["OBJECT"] = ("NGC5364" if frame.kind == "OBJECT" else frame.kind, "target")
    cards["OBS_TYPE"] = (frame.kind, "observation type")
    cards["FLT_ID"] = (frame.filt, "filter identifier")
    cards["EXPTIME"] = (frame.exptime, "exposure time [s]")
    cards["DATE-OBS"] = (frame.date_obs, "start of exposure (UTC)")
    cards["GAIN"] = (GAIN, "electrons per ADU")
    cards["RDNOISE"] = (READ_NOISE, "read noise [ADU]")
    cards["CCDTEMP"] = (-110.0, "detector temperature [C]")
    cards["DETSIZE"] = (f"[1:{shape[1]},1:{shape[0]}]", "detector size")
    return cards


def make_night(
    out_dir: Path | str,
    *,
    shape: tuple[int, int] = (256, 256),
    n_bias: int = 5,
    n_flats: int = 3,
    n_science: int = 2,
    seed: int = 0,
) -> list[Path]:
    """Write a night of raw frames into ``out_dir`` and return their paths in time order."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    cam = camera(shape, rng)
    scene = galaxy(shape, rng)
    paths = []
    for frame in plan(n_bias, n_flats, n_science):
        hdu = fits.PrimaryHDU(data=expose(frame, cam, scene, rng), header=header(frame, shape))
        path = out / frame.file_name
        hdu.writeto(path, overwrite=True)
        paths.append(path)
    return paths
