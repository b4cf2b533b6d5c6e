#!/usr/bin/env python3
"""Write a small CMIP-like sea surface temperature file: tos(time, lat, lon), float32 in degC.

Monthly means (mid-month steps, days since 1850-01-01) in a 360_day calendar, on a regular
grid of --grid degrees; land cells hold the _FillValue (1e20). Values are a smooth function of
latitude, season and a seeded noise, so tests can generate the same file every time.

    python scripts/make_climate.py tos.nc --years 2 --grid 10 --format NETCDF3_CLASSIC

With --daily the steps are days (at noon) of --calendar instead, and a few ocean cells are
missing on random days, so reductions meet partly missing groups.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

FILL = np.float32(1e20)
FORMATS = ("NETCDF4", "NETCDF4_CLASSIC", "NETCDF3_CLASSIC", "NETCDF3_64BIT_OFFSET")


def land(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """A crude land mask (True = land): two blocky continents and the poles."""
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    west = (lo >= 240) & (lo <= 310) & (la >= -50) & (la <= 60)
    east = (lo >= 0) & (lo <= 140) & (la >= -30) & (la <= 70)
    return west | east | (np.abs(la) > 75)


def make_climate(
    out: Path | str,
    *,
    years: int = 2,
    grid: float = 10.0,
    fmt: str = "NETCDF4",
    seed: int = 0,
    start_year: int = 0,
    daily: bool = False,
    calendar: str = "360_day",
    unlimited: bool = True,
    deflate: int = 0,
) -> Path:
    """Write the file and return its path; ``start_year`` shifts the first month (years after
    1850), so several files can form a series. ``daily`` writes days of ``calendar``. Without
    ``unlimited`` time has a fixed size: tos is then stored in one piece, in classic formats and
    NETCDF4 alike (uncompressed, not chunked). ``deflate`` > 0 compresses tos (NETCDF4 only) at
    that zlib level, with the shuffle filter, in chunks of one time step, as CMOR writes CMIP
    data."""
    import netCDF4

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    lat = np.arange(-90 + grid / 2, 90, grid, dtype=np.float32)
    lon = np.arange(grid / 2, 360, grid, dtype=np.float32)
    if daily:
        time, phase = _days(years, start_year, calendar)
    else:
        calendar = "360_day"
        time = (start_year * 360 + 15 + 30 * np.arange(12 * years)).astype(np.float64)
        phase = (np.arange(12 * years) % 12) / 12
    steps = len(time)
    season = np.cos(2 * np.pi * phase)[:, None, None]
    base = 28 * np.cos(np.deg2rad(lat))[None, :, None] - 2
    rng = np.random.default_rng(seed)
    drift = rng.normal(0, 0.3, (steps, 1, 1))
    mask = land(lat, lon)[None]
    per_year = steps // years if daily else steps  # daily data is made a year at a time

    def steps_of(a: int, b: int) -> np.ndarray:
        """Steps a:b of the variable (daily ones with noise and gaps), land as the fill."""
        tos = base + 3 * season[a:b] * np.sign(lat)[None, :, None] + drift[a:b]
        tos = np.broadcast_to(tos, (b - a, len(lat), len(lon))).astype(np.float32)
        tos = np.where(mask, FILL, tos).astype(np.float32)
        if daily:
            gaps = rng.random(tos.shape) < 0.05
            tos = np.where(gaps, FILL, tos + rng.normal(0, 0.5, tos.shape)).astype(np.float32)
        return tos

    with netCDF4.Dataset(out, "w", format=fmt) as ds:
        ds.Conventions = "CF-1.7"
        ds.title = "Synthetic sea surface temperature"
        ds.institution = "ophsh tests"
        ds.source = "scripts/make_climate.py"
        ds.frequency = "day" if daily else "mon"
        ds.createDimension("time", None if unlimited else len(time))
        ds.createDimension("lat", len(lat))
        ds.createDimension("lon", len(lon))
        t = ds.createVariable("time", "f8", ("time",))
        t.units = "days since 1850-01-01 00:00:00"
        t.calendar = calendar
        t.axis = "T"
        t.standard_name = "time"
        t.long_name = "time"
        t[:] = time
        for name, values, axis, units, long in (
            ("lat", lat, "Y", "degrees_north", "latitude"),
            ("lon", lon, "X", "degrees_east", "longitude"),
        ):
            v = ds.createVariable(name, "f4", (name,))
            v.units, v.axis, v.standard_name, v.long_name = units, axis, long, long
            v[:] = values
        packing = {"zlib": True, "complevel": deflate, "shuffle": True} if deflate else {}
        if deflate:
            packing["chunksizes"] = (1, len(lat), len(lon))
        v = ds.createVariable("tos", "f4", ("time", "lat", "lon"), fill_value=FILL, **packing)
        v.standard_name = "sea_surface_temperature"
        v.long_name = "Sea Surface Temperature"
        v.units = "degC"
        v.missing_value = FILL
        v.cell_methods = "time: mean"
        v.set_auto_maskandscale(False)
        for a in range(0, steps, per_year):
            b = min(steps, a + per_year)
            v[a:b] = steps_of(a, b)
    return out


def _days(years: int, start_year: int, calendar: str) -> tuple[np.ndarray, np.ndarray]:
    """Noon of every day of the years (days since 1850-01-01) and each day's fraction of its
    year."""
    import cftime

    units = "days since 1850-01-01 00:00:00"
    first, last = (
        cftime.date2num(cftime.datetime(1850 + y, 1, 1, calendar=calendar), units, calendar)
        for y in (start_year, start_year + years)
    )
    time = np.arange(first, last, dtype=np.float64) + 0.5
    year_length = (last - first) / years
    return time, ((time - first) % year_length) / year_length


def make_packed_sst(
    out: Path | str, *, grid: float = 30.0, first: str = "1991-01-01", last: str = "2010-04-30"
) -> Path:
    """An ESA-CCI-like daily ``analysed_sst(time, lat, lon)``: int16 packed (kelvin = 0.01 *
    value + 273.15, land -32768), seconds since 1981-01-01 in the standard calendar, as the
    CLIPC workflows of Ophidia's catalogue read it (they work on the packed values)."""
    import cftime
    import netCDF4

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    units = "seconds since 1981-01-01 00:00:00"
    start, end = (
        cftime.date2num(cftime.datetime(*map(int, d.split("-")), 12), units, "standard")
        for d in (first, last)
    )
    time = np.arange(start, end + 1, 86400, dtype=np.float64)
    lat = np.arange(-90 + grid / 2, 90, grid, dtype=np.float32)
    lon = np.arange(grid / 2, 360, grid, dtype=np.float32)
    phase = (time / 86400 % 365.25) / 365.25
    celsius = (
        28 * np.cos(np.deg2rad(lat))[None, :, None]
        - 2
        + 3 * np.cos(2 * np.pi * phase)[:, None, None] * np.sign(lat)[None, :, None]
        + np.random.default_rng(1).normal(0, 0.5, (len(time), len(lat), len(lon)))
    )
    packed = np.round(celsius * 100).astype(np.int16)
    packed = np.where(land(lat, lon)[None], np.int16(-32768), packed)
    with netCDF4.Dataset(out, "w", format="NETCDF4") as ds:
        ds.title = "Synthetic ESA-CCI-like sea surface temperature"
        ds.source = "scripts/make_climate.py"
        for name, values, dtype, attrs in (
            ("time", time, "f8", {"units": units, "calendar": "standard", "axis": "T"}),
            ("lat", lat, "f4", {"units": "degrees_north", "axis": "Y"}),
            ("lon", lon, "f4", {"units": "degrees_east", "axis": "X"}),
        ):
            ds.createDimension(name, None if name == "time" else len(values))
            v = ds.createVariable(name, dtype, (name,))
            v.setncatts(attrs)
            v[:] = values
        v = ds.createVariable("analysed_sst", "i2", ("time", "lat", "lon"), fill_value=-32768)
        v.setncatts({"units": "kelvin", "scale_factor": 0.01, "add_offset": 273.15})
        v.set_auto_maskandscale(False)
        v[:] = packed
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the NetCDF file to write")
    parser.add_argument("--years", type=int, default=2, help="years of monthly steps (2)")
    parser.add_argument("--grid", type=float, default=10.0, help="grid step in degrees (10)")
    parser.add_argument("--format", choices=FORMATS, default="NETCDF4", help="file format")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (0)")
    parser.add_argument("--start-year", type=int, default=0, help="years after 1850 (0)")
    parser.add_argument("--daily", action="store_true", help="daily steps instead of monthly")
    parser.add_argument("--calendar", default="360_day", help="calendar of --daily (360_day)")
    parser.add_argument(
        "--fixed-time", action="store_true", help="time of fixed size: tos stored in one piece"
    )
    parser.add_argument(
        "--deflate", type=int, default=0, help="zlib level of tos (NETCDF4; 0: not compressed)"
    )
    args = parser.parse_args(argv)
    path = make_climate(
        args.out,
        years=args.years,
        grid=args.grid,
        fmt=args.format,
        seed=args.seed,
        start_year=args.start_year,
        daily=args.daily,
        calendar=args.calendar,
        unlimited=not args.fixed_time,
        deflate=args.deflate,
    )
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
