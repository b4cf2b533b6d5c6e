"""Results kept in the narrowest type that holds them exactly, and no number made up where
there is no value."""

from __future__ import annotations

import numpy as np
from astropy.io import fits
from factories import write_fits


def frames(tmp_path, count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(count)
    made = [rng.integers(1000, 60000, size=(6, 5), dtype=np.uint16) for _ in range(count)]
    for i, data in enumerate(made):
        write_fits(tmp_path / "data" / f"f{count}_{i}.fits", data)
    return made


def test_the_median_of_an_odd_count_of_16_bit_frames_stays_16_bit(run, tmp_path):
    run("oph_createcontainer container=c;dim=NAXIS2|NAXIS1;dim_type=int|int")
    for count in (5, 4):
        made = frames(tmp_path, count)
        run(f"oph_importfits src_path=[file=f{count}_*.fits];container=c")
        run("oph_mergecubes2 cubes=[container=c;level=0;measure=image];dim=z;number=1")
        run("oph_reduce2 dim=z;operation=quantile;order=0.5")
        run(f"oph_exportfits output_path=out;output_name=median{count}")
        run("oph_delete cube=[container=c]")
        with fits.open(tmp_path / "data" / "out" / f"median{count}.fits") as hdul:
            bitpix, values = hdul[0].header["BITPIX"], hdul[0].data
        assert np.array_equal(values, np.median(np.stack(made), axis=0))
        assert bitpix == (16 if count == 5 else -64)  # an even count's median may end in .5


def test_differences_of_16_bit_frames_are_kept_as_32_bit_integers(run, tmp_path):
    a, b = frames(tmp_path, 2)
    run("oph_createcontainer container=c;dim=NAXIS2|NAXIS1;dim_type=int|int")
    first = run("oph_importfits src_path=f2_0.fits;container=c").reply.document.output_cube
    second = run("oph_importfits src_path=f2_1.fits;container=c").reply.document.output_cube
    run(f"oph_intercube cube={first};cube2={second};operation=sub")
    schema = run("oph_cubeschema").reply.document.grid("cubeschema_cubeinfo")
    assert schema.column("MEASURE TYPE") == ["double"]  # what Ophidia reports, unchanged
    run("oph_exportfits output_path=out;output_name=diff")
    with fits.open(tmp_path / "data" / "out" / "diff.fits") as hdul:
        assert hdul[0].header["BITPIX"] == 32
        assert np.array_equal(hdul[0].data, a.astype(np.int64) - b)


def test_a_group_with_no_valid_value_has_no_variance():
    from ophsh.engine.kernels import reduce_last

    block = np.array([[np.nan, np.nan, np.nan], [1.0, 2.0, 4.0]])
    for operation in ("var", "std", "avg"):
        result = reduce_last(block, operation)
        assert np.isnan(result[0]) and not np.isnan(result[1]), operation
