"""Calendar groups of a time axis, as Ophidia's oph_time hierarchy forms them.

A time value counts ``TimeInfo.units`` from the base time; it is turned into whole seconds and a
date of the axis' calendar (through cftime). Walking the values in order, a value joins the
group of the one before it unless a boundary of the target level, or of a coarser level, lies
between them; a group's new value is the mean of its first and last values.

Ophidia's facts kept here (checked against Ophidia 1.9 on six-hourly data, every level, both
``midnight`` settings): levels are ordered A, y, q, M, w, d, 6, 3, h, Q, v, m, s, c and a
reduction goes only to a coarser one. Quarters are month // 3 with months counted from 1
(Jan-Feb, Mar-May, Jun-Aug, Sep-Nov, Dec); weeks start on Monday, are counted from January 1st
of the Gregorian date and restart every year. With ``midnight=24`` a value exactly at a unit's
start closes the unit before it, but only when the next unit follows by Ophidia's cyclic
arithmetic (day + 1 modulo the month's length from a fixed table, month + 1 modulo 12, ...), so
at some boundaries (the last day of a month, December 1st, January 1st) such a value forms a
group of its own, as it does in Ophidia.
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


def _dates(values: np.ndarray, time: TimeInfo) -> np.ndarray:
    """(year, month, day, hour, minute, second) per value, one row each."""
    import cftime

    seconds = np.trunc(np.asarray(values, dtype=np.float64) * _SECONDS.get(time.units, 86400))
    calendar = _CALENDARS.get(time.calendar, time.calendar)
    try:
        dates = cftime.num2date(seconds, f"seconds since {time.base_time}", calendar)
    except (ValueError, TypeError) as err:
        raise OperatorError(f"cannot turn time values into dates: {err}") from None
    return np.array(
        [(d.year, d.month, d.day, d.hour, d.minute, d.second) for d in np.atleast_1d(dates)],
        dtype=np.int64,
    ).reshape(-1, 6)


def _weeks(ymd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Week of the year (Monday first) and weekday (Monday = 0) of each (year, month, day)
    read as a Gregorian date; days a calendar has and Gregorian lacks (Feb 30) roll over."""
    y, m, d = ymd.T
    months = (y - 1970) * 12 + (m - 1)
    day = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) + (d - 1)
    jan1 = ((y - 1970) * 12).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    yday = day - jan1
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday
    return (yday + (weekday - yday % 7) % 7) // 7, weekday


def _month_sizes(years: np.ndarray, months: np.ndarray, time: TimeInfo) -> np.ndarray:
    """Month lengths as Ophidia's day-boundary test takes them: the Gregorian table (February
    28 days, 29 in all_leap and in leap Julian years) or the user's month lengths."""
    if time.calendar == "user_defined":
        table = np.array([int(v) for v in time.month_lengths.split(",")], dtype=np.int64)
        return table[months - 1]
    table = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
    sizes = table[months - 1]
    if time.calendar in ("all_leap", "366_day"):
        sizes = np.where(months == 2, 29, sizes)
    elif time.calendar == "julian":
        sizes = np.where((months == 2) & (years % 4 == 0), 29, sizes)
    return sizes


# The boundary tests a reduction to a level runs: its own, then those of every coarser level
# (a week test skips months and quarters).
_CHAIN = "smvQh36dwMqy"


def _cycle_break(unit: np.ndarray, period, start: np.ndarray, midnight: bool) -> np.ndarray:
    """One level's test between each value and the next: different units (``unit``, counted
    modulo ``period``) split them, unless with ``midnight`` the later value is exactly at the
    start of the next unit; with ``midnight`` a value exactly at its unit's start closes the
    unit before it."""
    prev, base = unit[:-1], unit[1:]
    if not midnight:
        return prev != base
    closes = (prev == base) & start[:-1]
    moved = (prev != base) & (((prev + 1) % period != base) | ~start[1:])
    return closes | moved


def _breaks(dates: np.ndarray, time: TimeInfo, level: str, midnight: bool) -> np.ndarray:
    """True where a value starts a new group (the first one always does)."""
    if level not in _CHAIN:
        raise OperatorError(f"concept_level={level} is not a level of oph_time")
    y, mo, d, h, mi, s = dates.T
    at_minute = s == 0
    at_hour = at_minute & (mi == 0)
    at_day = at_hour & (h == 0)
    at_month = at_day & (d == 1)
    split = np.zeros(len(dates) - 1, dtype=bool)
    for name in _CHAIN[_CHAIN.index(level) :]:
        if name in "Mq" and level == "w":
            continue
        if name == "s":
            split |= s[:-1] != s[1:]
        elif name == "y":
            split |= _year_break(y, at_month & (mo == 1), midnight)
        elif name == "w":
            week, weekday = _weeks(dates[:, :3])
            split |= _cycle_break(week, 53, at_day & (weekday == 0), midnight)
        elif name == "d":
            sizes = _month_sizes(y[:-1], mo[:-1], time)
            split |= _cycle_break(d, sizes, at_day, midnight)
        else:
            unit, period, start = {
                "m": (mi, 60, at_minute),
                "v": (mi // 5, 12, at_minute & (mi % 5 == 0)),
                "Q": (mi // 15, 4, at_minute & (mi % 15 == 0)),
                "h": (h, 24, at_hour),
                "3": (h // 3, 8, at_hour & (h % 3 == 0)),
                "6": (h // 6, 4, at_hour & (h % 6 == 0)),
                "M": (mo, 12, at_month),
                "q": (mo // 3, 4, at_month & (mo % 3 == 0)),
            }[name]
            split |= _cycle_break(unit, period, start, midnight)
    return np.concatenate([[True], split])


def _year_break(y: np.ndarray, new_year: np.ndarray, midnight: bool) -> np.ndarray:
    """Years are not a cycle: a value at a year's start joins the year before only when that
    year directly precedes it."""
    prev, base = y[:-1], y[1:]
    if not midnight:
        return prev != base
    closes = (prev == base) & new_year[:-1]
    moved = (prev != base) & ((prev + 1 != base) | ~new_year[1:])
    return closes | moved


def group_starts(values: np.ndarray, time: TimeInfo, level: str, midnight: str) -> np.ndarray:
    """Indices where groups of consecutive values in one ``level`` period begin, by Ophidia's
    boundary tests (see the module's notes on midnight)."""
    values = np.asarray(values)
    if not values.size:
        return np.zeros(0, dtype=np.int64)
    dates = _dates(values, time)
    return np.flatnonzero(_breaks(dates, time, level, midnight == "24")).astype(np.int64)


def group_values(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Each group's value: halfway between its first and last values, in the values' type."""
    values = np.asarray(values)
    ends = np.append(starts[1:], len(values)) - 1
    middle = (values[starts].astype(np.float64) + values[ends].astype(np.float64)) / 2
    if values.dtype.kind in "iu":
        middle = np.trunc(middle)
    return middle.astype(values.dtype)
