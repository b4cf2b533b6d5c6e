"""Reading NetCDF files (classic, 64-bit offset, NetCDF4/HDF5) for the NetCDF operators.

Every failure a file can cause becomes one OperatorError line that names the file as the user
gave it. netCDF4 is imported where it is used: it adds to the shell's start-up time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ophsh.engine.metadata import MetadataItem
from ophsh.engine.model import TimeInfo, measure_type_of
from ophsh.engine.netcdf_rows import NC_LOCK
from ophsh.errors import OperatorError

if TYPE_CHECKING:
    import netCDF4

__all__ = [
    "CALENDAR_MONTHS",
    "NC_LOCK",
    "attribute_items",
    "attribute_type",
    "cf_time",
    "open_nc",
    "season_steps",
    "time_bounds",
    "time_strings",
    "variable_type",
]

# Month lengths of the CF calendars Ophidia's time hierarchy needs; others use the default.
CALENDAR_MONTHS = {
    "360_day": ",".join(["30"] * 12),
    "all_leap": "31,29,31,30,31,30,31,31,30,31,30,31",
    "366_day": "31,29,31,30,31,30,31,31,30,31,30,31",
}
# CF time units -> Ophidia's unit letters, and back.
_UNITS = {
    "second": "s",
    "seconds": "s",
    "sec": "s",
    "secs": "s",
    "s": "s",
    "minute": "m",
    "minutes": "m",
    "min": "m",
    "mins": "m",
    "hour": "h",
    "hours": "h",
    "hr": "h",
    "hrs": "h",
    "h": "h",
    "day": "d",
    "days": "d",
    "d": "d",
}
_CF_UNITS = {"s": ("seconds", 1), "m": ("minutes", 1), "h": ("hours", 1), "3": ("hours", 3)}
_CF_UNITS |= {"6": ("hours", 6), "d": ("days", 1)}
_SINCE = re.compile(r"^\s*(\w+)\s+since\s+(.+?)\s*$", re.IGNORECASE)
_DATE = re.compile(r"^(-?\d{1,4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?")


@contextmanager
def open_nc(path: Path, shown: str) -> Iterator[netCDF4.Dataset]:
    """The opened dataset; a missing, unreadable or non-NetCDF file is one clear error."""
    import netCDF4

    if not path.exists():
        raise OperatorError(f"file '{shown}' does not exist")
    if path.is_dir():
        raise OperatorError(f"'{shown}' is a directory, not a NetCDF file")
    with NC_LOCK:
        try:
            ds = netCDF4.Dataset(path, "r")
        except OSError as err:
            reason = getattr(err, "strerror", None) or str(err)
            raise OperatorError(f"'{shown}' is not a readable NetCDF file ({reason})") from None
        except Exception as err:  # netCDF4 raises RuntimeError, ValueError... on odd files
            raise OperatorError(f"'{shown}' is not a readable NetCDF file ({err})") from None
    try:
        _check_size(ds, path, shown)
        yield ds
    finally:
        with NC_LOCK:
            ds.close()


def _check_size(ds: Any, path: Path, shown: str) -> None:
    """A classic file cut short opens and reads as zeros: refuse one smaller than its data."""
    if not ds.data_model.startswith("NETCDF3"):
        return  # HDF5 notices truncation itself
    with NC_LOCK:
        need = sum(
            int(np.prod(v.shape, dtype=np.int64)) * np.dtype(v.dtype).itemsize
            for v in ds.variables.values()
            if np.dtype(v.dtype).kind in "iufS"
        )
    have = path.stat().st_size
    if have < need:
        raise OperatorError(
            f"'{shown}' is truncated: it has {have} bytes, its variables need at least {need}"
        )


def variable_type(dtype: np.dtype) -> str:
    """Ophidia's type for a NetCDF variable's values."""
    return measure_type_of(np.dtype(dtype))


def attribute_type(value: Any) -> str:
    """Ophidia's metadata type for an attribute value."""
    if isinstance(value, str | bytes):
        return "text"
    kind = np.asarray(value).dtype
    if kind.kind in "iub":  # unsigned attributes take the signed type of their size
        return {1: "byte", 2: "short", 4: "int"}.get(kind.itemsize, "long")
    if kind == np.float32:
        return "float"
    if kind.kind == "f":
        return "double"
    return "text"


def attribute_text(value: Any) -> str:
    """An attribute value as text: numbers in the shortest form that reads back the same,
    several numbers joined by commas."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    return ",".join(str(v) for v in np.atleast_1d(np.asarray(value)))


def attribute_items(variable: Any, owner: str) -> list[MetadataItem]:
    """The attributes of a variable (or of the dataset, ``owner`` "") as metadata items."""
    items = []
    for key in variable.ncattrs():
        value = variable.getncattr(key)
        items.append(MetadataItem(key, attribute_text(value), attribute_type(value), owner))
    return items


def cf_time(variable: Any) -> TimeInfo | None:
    """The time facts of a coordinate variable whose units read "<unit> since <date>", when
    it has a calendar attribute, axis T or the standard name time; None otherwise."""
    attrs = {k: variable.getncattr(k) for k in variable.ncattrs()}
    units = attrs.get("units")
    if not isinstance(units, str):
        return None
    match = _SINCE.match(units)
    if not match or match[1].lower() not in _UNITS:
        return None
    is_time = (
        "calendar" in attrs or attrs.get("axis") == "T" or attrs.get("standard_name") == "time"
    )
    if not is_time:
        return None
    base = _DATE.match(match[2])
    if not base:
        return None
    y, mo, d, h, mi, s = (int(v) if v else 0 for v in base.groups())
    calendar = str(attrs.get("calendar", "standard")).strip().lower() or "standard"
    return TimeInfo(
        base_time=f"{y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{s:02d}",
        units=_UNITS[match[1].lower()],
        calendar=calendar,
        month_lengths=CALENDAR_MONTHS.get(calendar, TimeInfo.month_lengths),
    )


def cf_units(time: TimeInfo) -> tuple[str, float]:
    """CF units for values counted in ``time.units`` and the factor that converts to them."""
    name, factor = _CF_UNITS.get(time.units, ("days", 1))
    return f"{name} since {time.base_time}", factor


def time_strings(values: np.ndarray, time: TimeInfo) -> list[str]:
    """Dates ("YYYY-MM-DD hh:mm:ss") of time values in the time's calendar."""
    import cftime

    units, factor = cf_units(time)
    calendar = "standard" if time.calendar == "user_defined" else time.calendar
    calendar = {"no_leap": "noleap"}.get(calendar, calendar)
    try:
        dates = cftime.num2date(np.asarray(values, dtype=np.float64) * factor, units, calendar)
    except (ValueError, TypeError) as err:
        raise OperatorError(f"cannot turn time values into dates: {err}") from None
    return [d.strftime("%Y-%m-%d %H:%M:%S") for d in np.atleast_1d(dates)]


def time_bounds(part: str, time: TimeInfo) -> tuple[float, float] | None:
    """The time values of a date filter "DATE" or "DATE_DATE" (dates as YYYY-MM-DD, optionally
    with hh:mm[:ss]); None when ``part`` holds no date, so it is read as numbers."""
    texts = part.strip().split("_")
    if len(texts) > 2 or not all(_DATE.fullmatch(t.strip()) for t in texts):
        return None
    import cftime

    units, factor = cf_units(time)
    calendar = {"no_leap": "noleap", "user_defined": "standard"}.get(time.calendar, time.calendar)
    values = []
    for text in texts:
        y, mo, d, h, mi, s = (int(v) if v else 0 for v in _DATE.fullmatch(text.strip()).groups())
        try:
            date = cftime.datetime(y, mo, d, h, mi, s, calendar=calendar)
            values.append(float(cftime.date2num(date, units, calendar)) / factor)
        except (ValueError, TypeError) as err:
            raise OperatorError(
                f"'{text}' is not a date of the {calendar} calendar ({err})"
            ) from None
    return values[0], values[-1]


# Ophidia's season filters on time dimensions; a winter takes its December from the year before.
SEASONS = {"DJF": (12, 1, 2), "MAM": (3, 4, 5), "JJA": (6, 7, 8), "SON": (9, 10, 11)}


def season_steps(part: str, values: np.ndarray, time: TimeInfo) -> np.ndarray | None:
    """0-based steps of a season filter (DJF, MAM, JJA, SON): the season's months in every year
    of the dimension, a December only when the year after it is still in range; None when
    ``part`` is no season."""
    months = SEASONS.get(part.strip())
    if months is None:
        return None
    dates = [d.split("-") for d in time_strings(values, time)]
    years = np.array([int(d[0]) for d in dates])
    month = np.array([int(d[1]) for d in dates])
    inside = np.isin(month, months) & ((month != 12) | (years < years.max(initial=0)))
    return np.flatnonzero(inside)
