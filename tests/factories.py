"""Small FITS files with known contents, written by astropy."""

from __future__ import annotations

import tempfile
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


def float_and_int_cubes(run, data: Path, floats: np.ndarray, ints: np.ndarray) -> str:
    """Import a float and an int frame (in this order: the int cube is the current one) into a
    new container ``c``; returns the float cube's PID."""
    write_fits(data / "f.fits", floats)
    write_fits(data / "i.fits", ints)
    run("oph_createcontainer container=c;dim=NAXIS2|NAXIS1;dim_type=int|int")
    source = run("oph_importfits src_path=f.fits;container=c").reply.document.output_cube
    run("oph_importfits src_path=i.fits;container=c")
    return source


def exported(run, data: Path, name: str) -> np.ndarray:
    """The current cube, exported as FITS and read back as float64."""
    run(f"oph_exportfits output_path=out;output_name={name};force=yes")
    return fits.getdata(data / "out" / f"{name}.fits").astype(np.float64)


# Why a test that needs a second file system cannot run here.
NO_OTHER_FILE_SYSTEM = (
    "copying instead of linking is only seen across file systems, and /dev/shm is on the same "
    "file system as the temporary files here"
)


def other_file_system() -> Path | None:
    """/dev/shm when it is not the file system of the temporary files (imports copy there)."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == Path(tempfile.gettempdir()).stat().st_dev:
        return None
    return shm
