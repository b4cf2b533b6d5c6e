"""Calendar groups of a time axis, as Ophidia's oph_time hierarchy forms them.

A time value counts ``TimeInfo.units`` from the base time; it is turned into whole seconds and a
date of the axis' calendar (through cftime). Consecutive values that fall in the same period of
the target concept level form one group; a group's new value is the mean of its first and last
values. With ``midnight=24`` a value at the very start of a period (00:00 of a day, the 1st of a
month...) closes the period before it, as a daily mean stamped "24:00" would.

Ophidia's facts kept here: levels are ordered A, y, q, M, w, d, 6, 3, h, Q, v, m, s, c and a
reduction goes only to a coarser level; quarters split the months as month // 3 with months
counted from 1 (Jan-Feb, Mar-May, Jun-Aug, Sep-Nov, Dec); weeks start on Monday, are counted
from January 1st of the Gregorian date and never cross a year.
"""

from __future__ import annotations

import numpy as np

from ophsh.engine.model import TimeInfo
from ophsh.errors import OperatorError

__all__ = [
    "HIERARCHIES",
    "TIME_LEVELS",
    "check_reduction",
    "group_starts",
    "group_values",
]

# Each hierarchy's concept levels, coarsest first: (short name, long name, aggregation field,
# aggregation set). Every level but the finest accepts all of Ophidia's reductions.
OPERATIONS = (
    "count|max|avg|min|sum|std|var|cmoment|acmoment|rmoment|armoment|quantile|arg_max|arg_min"
)
HIERARCHIES: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "oph_base": (("A", "ALL", "c", "0"), ("c", "cell", "c", "1")),
    "oph_time": (
        ("A", "ALL", "yw", "0"),
        ("y", "year", "q", "4"),
        ("q", "quarter", "M", "3"),
        ("M", "month", "d", "30"),
        ("w", "week", "d", "7"),
        ("d", "day", "6", "4"),
        ("6", "6_hour", "3", "2"),
        ("3", "3_hour", "h", "3"),
        ("h", "hour", "Q", "4"),
        ("Q", "15_minute", "v", "3"),
        ("v", "5_minute", "m", "5"),
        ("m", "minute", "sc", "60"),
        ("s", "second", "s", "1"),
        ("c", "second", "c", "1"),
    ),
}
TIME_LEVELS = tuple(level[0] for level in HIERARCHIES["oph_time"])

_SECONDS = {"s": 1, "m": 60, "h": 3600, "3": 10800, "6": 21600, "d": 86400}
_CALENDARS = {"no_leap": "noleap", "user_defined": "standard", "gregorian": "standard"}


def check_reduction(hierarchy: str, level_in: str, level_out: str, dim: str) -> None:
    """Refuse a reduction of ``dim`` from ``level_in`` to ``level_out`` that the hierarchy
    does not allow (only towards coarser levels, never from ALL)."""
    levels = [lv[0] for lv in HIERARCHIES.get(hierarchy, HIERARCHIES["oph_base"])]
    if level_out not in levels:
        known = ", ".join(levels)
        raise OperatorError(
            f"concept_level={level_out} is not a level of {hierarchy} (levels of {dim}: {known})"
        )
    position_in = levels.index(level_in) if level_in in levels else len(levels)
    if position_in == 0 or position_in <= levels.index(level_out):
        raise OperatorError(
            f"dimension '{dim}' is at concept level {level_in}; it can only be reduced to a "
            f"coarser level than that, not {level_out}"
        )


def _dates(values: np.ndarray, time: TimeInfo, midnight24: bool) -> np.ndarray:
    """(year, month, day, hour, minute, second) per value, one row each."""
    import cftime

    seconds = np.trunc(np.asarray(values, dtype=np.float64) * _SECONDS.get(time.units, 86400))
    if midnight24:
        seconds = seconds - 1
    calendar = _CALENDARS.get(time.calendar, time.calendar)
    try:
        dates = cftime.num2date(seconds, f"seconds since {time.base_time}", calendar)
    except (ValueError, TypeError) as err:
        raise OperatorError(f"cannot turn time values into dates: {err}") from None
    return np.array(
        [(d.year, d.month, d.day, d.hour, d.minute, d.second) for d in np.atleast_1d(dates)],
        dtype=np.int64,
    ).reshape(-1, 6)


def _weeks(ymd: np.ndarray) -> np.ndarray:
    """Week of the year (Monday first) of each (year, month, day) read as a Gregorian date;
    days a calendar has and Gregorian lacks (Feb 30) roll over, as mktime does."""
    out = np.empty(len(ymd), dtype=np.int64)
    for k, (y, m, d) in enumerate(ymd):
        day = np.datetime64(f"{int(y):04d}-{int(m):02d}-01") + np.timedelta64(int(d) - 1, "D")
        jan1 = np.datetime64(f"{int(y):04d}-01-01")
        yday = int((day - jan1).astype(np.int64))
        weekday = (int(day.astype("datetime64[D]").astype(np.int64)) + 3) % 7  # Monday = 0
        out[k] = (yday + (weekday - yday % 7) % 7) // 7
    return out


def _keys(dates: np.ndarray, level: str) -> np.ndarray:
    """The period each date falls in at ``level``, as rows of integers."""
    y, mo, d, h, mi, s = dates.T
    if level == "y":
        return np.stack([y], axis=1)
    if level == "q":
        return np.stack([y, mo // 3], axis=1)
    if level == "M":
        return np.stack([y, mo], axis=1)
    if level == "w":
        return np.stack([y, _weeks(dates[:, :3])], axis=1)
    day = [y, mo, d]
    finer = {
        "d": [],
        "6": [h // 6],
        "3": [h // 3],
        "h": [h],
        "Q": [h, mi // 15],
        "v": [h, mi // 5],
        "m": [h, mi],
        "s": [h, mi, s],
    }
    if level not in finer:
        raise OperatorError(f"concept_level={level} is not a level of oph_time")
    return np.stack(day + finer[level], axis=1)


def group_starts(values: np.ndarray, time: TimeInfo, level: str, midnight: str) -> np.ndarray:
    """Indices where groups of consecutive values in one ``level`` period begin."""
    values = np.asarray(values)
    if not values.size:
        return np.zeros(0, dtype=np.int64)
    keys = _keys(_dates(values, time, midnight == "24"), level)
    changed = np.any(keys[1:] != keys[:-1], axis=1)
    return np.concatenate([[0], np.flatnonzero(changed) + 1]).astype(np.int64)


def group_values(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Each group's value: halfway between its first and last values, in the values' type."""
    values = np.asarray(values)
    ends = np.append(starts[1:], len(values)) - 1
    middle = (values[starts].astype(np.float64) + values[ends].astype(np.float64)) / 2
    if values.dtype.kind in "iu":
        middle = np.trunc(middle)
    return middle.astype(values.dtype)
