"""A climate notebook, as a PyOphidia user writes it, run with the real client against
`ophsh serve`: import, subset by coordinates and dates, monthly and yearly means, an anomaly,
export, to_dataset() and provenance(); every number checked against xarray."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from make_climate import make_climate
from test_server import PASSWORDS, Served

pytestmark = pytest.mark.slow
CFTIME = xr.coders.CFDatetimeCoder(use_cftime=True)


def as_source(ds: xr.Dataset) -> xr.DataArray:
    """The measure of a dataset PyOphidia made, in the source file's (time, lat, lon) order."""
    return ds.tos.transpose(*[d for d in ("time", "lat", "lon") if d in ds.tos.dims])


def test_a_climate_notebook_with_pyophidia_against_ophsh_serve(tmp_path):
    from PyOphidia import cube as oph_cube

    server = Served(tmp_path / "served")
    try:
        path = make_climate(server.data / "tos_day.nc", years=2, grid=20, daily=True)
        source = xr.open_dataset(path, decode_times=CFTIME).tos
        oph_cube.Cube.setclient("alice", PASSWORDS["alice"], "127.0.0.1", str(server.port))
        Cube = oph_cube.Cube

        daily = Cube(src_path="tos_day.nc", measure="tos", imp_dim="time", import_metadata="yes")
        tropics = {}
        monthly = {}
        for year in (1850, 1851):
            tropics[year] = daily.subset(
                subset_dims="lat|time",
                subset_filter=f"-30:30|{year}-01-01_{year + 1}-01-01",
                subset_type="coord",
                time_filter="yes",
            )
            monthly[year] = tropics[year].reduce2(dim="time", concept_level="M", operation="avg")
        in_1850 = source.sel(lat=slice(-30, 30)).sel(time=slice("1850-01-01", "1850-12-30"))
        expected = in_1850.resample(time="MS").mean()
        got = as_source(monthly[1850].to_dataset())
        assert got.shape == expected.shape == (12, 3, 18)
        assert np.allclose(got.values, expected.values, rtol=1e-5, equal_nan=True)
        assert np.array_equal(got.lat.values, expected.lat.values)

        explicit_time = Cube(src_path="tos_day.nc", measure="tos")  # time explicit: rows
        yearly = explicit_time.aggregate2(dim="time", concept_level="y", operation="avg")
        expected_years = source.resample(time="YS").mean()
        got_years = as_source(yearly.to_dataset())
        assert got_years.shape == expected_years.shape == (2, 9, 18)
        assert np.allclose(got_years.values, expected_years.values, rtol=1e-5, equal_nan=True)

        anomaly = monthly[1851].intercube(cube2=monthly[1850].pid, operation="sub")
        in_1851 = source.sel(lat=slice(-30, 30)).sel(time=slice("1851-01-01", "1851-12-30"))
        change = in_1851.resample(time="MS").mean().values - expected.values
        got_change = as_source(anomaly.to_dataset()).values
        assert np.allclose(got_change, change, atol=1e-4, equal_nan=True)

        anomaly.exportnc2(output_path="out", output_name="anomaly", force="yes")
        written = xr.open_dataset(server.data / "out" / "anomaly.nc")
        assert np.allclose(
            written.tos.transpose("time", "lat", "lon").values, change, atol=1e-4, equal_nan=True
        )

        response = anomaly.provenance(display=False)
        rows = next(o for o in response if o["objkey"] == "cubeio")["objcontent"][0]["rowvalues"]
        made = {(row[0], row[1], row[2]) for row in rows}
        assert ("", "ROOT", daily.pid) in made
        assert (monthly[1851].pid, "oph_intercube", anomaly.pid) in made
        assert (tropics[1851].pid, "oph_reduce2", monthly[1851].pid) in made
    finally:
        server.stop()
