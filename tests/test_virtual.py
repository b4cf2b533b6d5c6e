"""Virtual cubes: element-wise results kept as recipes in the real store, computed when read,
checked against numpy and against the same commands run with virtual cubes off."""

from __future__ import annotations

import sqlite3

import netCDF4
import numpy as np
import pytest
from astropy.io import fits
from factories import write_fits

from ophsh.engine import store as store_module
from ophsh.engine.embedded import EmbeddedBackend
from ophsh.engine.recipes import MAX_DEPTH
from ophsh.engine.settings import Settings
from ophsh.engine.store import Store
from ophsh.errors import StoreError
from ophsh.shell.shell import Shell
from ophsh.shell.state import ShellState
from ophsh.spec import load_specs
from ophsh.workflow.run import WorkflowEngine

RNG = np.random.default_rng(21)
BIAS = RNG.integers(300, 400, size=(40, 24), dtype=np.uint16)
FLAT = RNG.integers(20000, 30000, size=(40, 24), dtype=np.uint16)
SCIENCE = RNG.integers(1000, 60000, size=(40, 24), dtype=np.uint16)
NORMAL = RNG.normal(50, 10, size=(40, 24)).astype(np.float32)
FRAMES = {"BIAS": BIAS, "FLAT": FLAT, "SCIENCE": SCIENCE, "NORMAL": NORMAL}
CALIBRATE = [
    "oph_intercube cube=$FLAT;cube2=$BIAS;operation=sub",
    "setenv flat:=$OPH_DATACUBE",
    "oph_reduce operation=avg",
    "oph_aggregate operation=avg",
    "oph_intercube cube=$flat;cube2=$OPH_DATACUBE;operation=div",
    "setenv flat:=$OPH_DATACUBE",
    "oph_intercube cube=$SCIENCE;cube2=$BIAS;operation=sub",
    "oph_intercube cube2=$flat;operation=div",
]


def expected_calibrated() -> np.ndarray:
    flat = FLAT.astype(np.int32) - BIAS
    flat = flat / flat.astype(np.float64).mean()
    return (SCIENCE.astype(np.int32) - BIAS) / flat


def open_shell(store_dir, data_dir, *, virtual: bool) -> tuple[Shell, EmbeddedBackend]:
    specs = load_specs()
    settings = Settings(virtual=virtual)
    backend = EmbeddedBackend(
        store_dir, user="tester", workflows=WorkflowEngine(specs), settings=settings
    )
    shell = Shell(backend, specs, state=ShellState(specs, environ={}))
    shell.start()
    return shell, backend


def do(shell: Shell, line: str):
    outcome = shell.run_line(line)
    assert outcome.ok, f"{line!r} failed: {outcome.message}"
    return outcome


def load(shell: Shell, data_dir) -> None:
    """The frames imported into container 'c', each PID kept in a variable named by its kind."""
    do(shell, "oph_createcontainer container=c;dim=NAXIS2|NAXIS1;dim_type=int|int")
    for kind, data in FRAMES.items():
        write_fits(data_dir / f"{kind}.fits", data, KIND=kind)
        do(shell, f"oph_importfits src_path={kind}.fits;container=c")
        do(shell, f"setenv {kind}:=$OPH_DATACUBE")


@pytest.fixture
def world(tmp_path, monkeypatch):
    """Two shells on two stores, virtual cubes on and off, both with the frames loaded."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.chdir(data)
    opened = [open_shell(tmp_path / name, data, virtual=name == "on") for name in ("on", "off")]
    for shell, _ in opened:
        load(shell, data)
    yield opened
    for _, backend in opened:
        backend.close()


def cube_of(shell: Shell, backend: EmbeddedBackend, name: str = "OPH_DATACUBE"):
    return backend.store.cube_by_pid(shell.state.get(name))


def files(backend: EmbeddedBackend) -> set[str]:
    return {p.name for p in (backend.store.root / "data").iterdir()}


def test_calibration_chain_is_virtual_and_bit_identical_to_written_cubes(world):
    (on, store_on), (off, store_off) = world
    before = files(store_on)
    for line in CALIBRATE:
        do(on, line)
        do(off, line)
    virtual, written = cube_of(on, store_on), cube_of(off, store_off)
    assert virtual.virtual and not written.virtual
    # only the two reductions wrote arrays; the four intercube results are recipes
    assert len(files(store_on) - before) == 2
    a, b = store_on.store.data(virtual), store_off.store.data(written)
    assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
    assert np.allclose(a, expected_calibrated())
    # a few rows alone, read through the whole chain
    assert np.array_equal(store_on.store.rows(virtual, 7, 19), b[7:19])


def test_small_integer_differences_stay_in_32_bits(world):
    (on, backend), _ = world
    do(on, "oph_intercube cube=$SCIENCE;cube2=$BIAS;operation=sub")
    cube = cube_of(on, backend)
    values = backend.store.data(cube)
    assert cube.virtual and values.dtype == np.int32
    assert np.array_equal(values, SCIENCE.astype(np.int32) - BIAS)


@pytest.mark.parametrize("operation", ["sum", "mul", "max", "min", "mask", "arg_max"])
def test_every_operation_matches_the_written_cube(world, operation):
    (on, store_on), (off, store_off) = world
    for shell in (on, off):
        do(shell, f"oph_intercube cube=$NORMAL;cube2=$NORMAL;operation={operation}")
    virtual, written = cube_of(on, store_on), cube_of(off, store_off)
    assert virtual.virtual
    a, b = store_on.store.data(virtual), store_off.store.data(written)
    assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


def test_element_wise_apply_is_virtual_and_a_reducing_one_is_not(world):
    (on, backend), _ = world
    query = "oph_mul_scalar(oph_sum_scalar(measure,1),2)"
    do(on, f"oph_apply cube=$NORMAL;query={query};measure_type=auto")
    cube = cube_of(on, backend)
    assert cube.virtual
    expected = (NORMAL.astype(np.float64) + 1) * 2
    assert np.array_equal(backend.store.data(cube), expected.astype(np.float32))
    do(on, "oph_apply query=oph_reduce('oph_float','oph_float',measure,'OPH_AVG',0)")
    assert not cube_of(on, backend).virtual


def test_deleting_an_input_writes_the_dependent_first(world):
    (on, backend), _ = world
    for line in CALIBRATE:
        do(on, line)
    calibrated = cube_of(on, backend)
    do(on, "oph_delete cube=$flat")
    do(on, "oph_delete cube=$BIAS")
    after = backend.store.cube(calibrated.id)
    assert not after.virtual
    assert np.allclose(backend.store.data(after), expected_calibrated())
    # every remaining cube can still be read
    for cube in backend.store.cubes():
        backend.store.rows(cube, 0, 2)


def test_deleting_the_container_of_the_inputs_keeps_dependents_elsewhere(world):
    (on, backend), _ = world
    do(on, "oph_createcontainer container=d;dim=NAXIS2|NAXIS1;dim_type=int|int")
    do(on, "oph_intercube cube=$SCIENCE;cube2=$BIAS;operation=sub;container=d")
    result = cube_of(on, backend)
    do(on, "oph_deletecontainer container=c;force=yes")
    kept = backend.store.cube(result.id)
    assert not kept.virtual
    assert np.array_equal(backend.store.data(kept), SCIENCE.astype(np.int32) - BIAS)
    assert files(backend) == {kept.data_file}


def test_massive_delete_removes_dependents_before_inputs(world):
    (on, backend), _ = world
    for line in CALIBRATE:
        do(on, line)
    before = files(backend)
    do(on, "oph_delete cube=[container=c]")
    assert backend.store.cubes() == []
    assert files(backend) == set(), f"{len(before)} files before"


def test_exports_of_a_virtual_cube_equal_those_of_its_written_copy(world, tmp_path):
    (on, backend), _ = world
    for line in CALIBRATE:
        do(on, line)
    do(on, "setenv calibrated:=$OPH_DATACUBE")
    do(on, "oph_exportfits output_path=out;output_name=virtual;force=yes")
    do(on, "oph_exportnc output_path=out/virtual.nc")
    do(on, "oph_duplicate cube=$calibrated")  # how a user asks for the array to be written
    assert not cube_of(on, backend, "calibrated").virtual
    do(on, "oph_exportfits output_path=out;output_name=written;force=yes")
    do(on, "oph_exportnc output_path=out/written.nc")
    out = tmp_path / "data" / "out"
    assert np.array_equal(
        fits.getdata(out / "virtual.fits"), fits.getdata(out / "written.fits"), equal_nan=True
    )
    assert np.allclose(fits.getdata(out / "virtual.fits"), expected_calibrated())
    with netCDF4.Dataset(out / "virtual.nc") as a, netCDF4.Dataset(out / "written.nc") as b:
        assert set(a.variables) == set(b.variables)
        for name in a.variables:
            assert a[name].dtype == b[name].dtype
            assert np.array_equal(a[name][:], b[name][:], equal_nan=True)


def test_explore_and_size_of_a_virtual_cube(world):
    (on, _), _ = world
    do(on, "oph_intercube cube=$NORMAL;cube2=$NORMAL;operation=sum")
    grid = do(on, "oph_explorecube limit_filter=2").reply.document.grid("explorecube_data")
    first = [float(v) for v in grid.rows[0][-1].split(", ")]
    assert np.allclose(first, NORMAL[0].astype(np.float64) * 2)
    size = do(on, "oph_cubesize byte_unit=KB").reply.document.grid("cubesize")
    assert [tuple(r) for r in size.rows] == [("3.750000", "KB")]  # 40 x 24 floats
    dims = do(on, "oph_cubeschema").reply.document.grid("cubeschema_diminfo")
    assert [r[0] for r in dims.rows] == ["NAXIS2", "NAXIS1"]


def test_stacking_virtual_cubes_writes_them_first(world):
    (on, backend), _ = world
    do(on, "oph_intercube cube=$SCIENCE;cube2=$BIAS;operation=sub;description=one")
    do(on, "setenv one:=$OPH_DATACUBE")
    do(on, "oph_intercube cube=$FLAT;cube2=$BIAS;operation=sub;description=two")
    do(on, "oph_mergecubes2 cubes=$one|$OPH_DATACUBE;dim=z")
    stacked = backend.store.data(cube_of(on, backend))
    assert np.array_equal(stacked[..., 0], SCIENCE.astype(np.int32) - BIAS)
    assert np.array_equal(stacked[..., 1], FLAT.astype(np.int32) - BIAS)
    assert not cube_of(on, backend, "one").virtual


def test_a_deep_chain_is_written_past_the_limit(world):
    (on, backend), _ = world
    do(on, "setenv x:=$NORMAL")
    depths = []
    for _ in range(MAX_DEPTH + 1):
        do(on, "oph_apply cube=$x;query=oph_sum_scalar(measure,1);measure_type=auto")
        do(on, "setenv x:=$OPH_DATACUBE")
        depths.append(cube_of(on, backend).virtual)
    assert depths == [True] * MAX_DEPTH + [False]
    expected = NORMAL.astype(np.float64)
    for _ in range(MAX_DEPTH + 1):
        expected = (expected + 1).astype(np.float32).astype(np.float64)
    assert np.array_equal(backend.store.data(cube_of(on, backend)), expected.astype(np.float32))


def test_virtual_cubes_can_be_turned_off_from_the_environment():
    assert Settings.from_environment({}).virtual
    assert not Settings.from_environment({"OPHSH_VIRTUAL": "no"}).virtual


def test_a_store_of_schema_2_gets_the_recipe_tables(world):
    (_, backend), _ = world
    root = backend.store.root
    backend.close()
    db = sqlite3.connect(root / "catalog.sqlite")  # as a schema 2 store had it
    db.execute("DROP TABLE recipe_inputs")
    db.execute("DROP TABLE recipes")
    db.execute("UPDATE meta SET value = '2' WHERE key = 'schema'")
    db.commit()
    db.close()
    store = Store.open(root)
    try:
        assert store.catalog.get_meta("schema") == "3"
        assert store.catalog.query("SELECT * FROM recipes") == []
    finally:
        store.close()


def test_the_catalog_refuses_to_delete_a_cube_a_recipe_reads(world):
    (on, backend), _ = world
    do(on, "oph_intercube cube=$SCIENCE;cube2=$BIAS;operation=sub")
    bias = cube_of(on, backend, "BIAS")
    refused = pytest.raises(StoreError, match="virtual cube is still computed from")
    with refused, backend.store.catalog.write() as db:
        db.execute("DELETE FROM cubes WHERE id = ?", (bias.id,))
    assert backend.store.cube(bias.id).id == bias.id
    assert np.array_equal(backend.store.data(cube_of(on, backend)), SCIENCE.astype(np.int32) - BIAS)


def test_a_chain_computed_a_few_rows_at_a_time_gives_the_same_values(world, monkeypatch):
    (on, backend), (off, written) = world
    for line in CALIBRATE:
        do(on, line)
        do(off, line)
    expected = written.store.data(cube_of(off, written))
    monkeypatch.setattr(store_module, "COMPUTED_BLOCK", 3 * 24 * 8)  # three rows of doubles
    cube = cube_of(on, backend)
    assert np.array_equal(backend.store.rows(cube, 5, 31), expected[5:31])
    assert np.array_equal(backend.store.data(cube), expected)
    kept = backend.store.materialise(cube)
    assert not kept.virtual and np.array_equal(backend.store.data(kept), expected)


@pytest.mark.parametrize(
    "query",
    [
        "oph_math(measure,'OPH_MATH_RAND')",  # not a function of the value
        "oph_replace(measure,0)",  # drops values: lengths depend on the data
        "oph_sum_scalar(dimension,1)",  # reads the dimension, not only the value
    ],
)
def test_queries_that_are_not_element_wise_are_written(world, query):
    (on, backend), _ = world
    do(on, f"oph_apply cube=$NORMAL;query={query};measure_type=auto")
    assert not cube_of(on, backend).virtual


@pytest.mark.parametrize(("frames", "virtual"), [(3, True), (5, False)])
def test_a_median_across_a_few_frames_is_virtual(world, frames, virtual):
    """Three frames' median is computed when read (as cheap as writing and reading it back);
    five frames' is written. Either gives numpy's median, and survives deleting the stack."""
    (on, backend), (off, written_backend) = world
    data = on.state.get("OPH_CDD") or "."
    stack = np.stack([SCIENCE + 7 * k for k in range(frames)])
    for shell in (on, off):
        do(shell, "oph_createcontainer container=s;dim=NAXIS2|NAXIS1;dim_type=int|int")
    for k, frame in enumerate(stack):
        write_fits(backend.store.root.parent / "data" / f"s{k}.fits", frame, KIND="S")
    for shell in (on, off):
        do(shell, f"oph_importfits src_path=[path={data};file=s*.fits];container=s")
        do(shell, "oph_mergecubes2 cubes=[container=s];dim=z")
        do(shell, "setenv stack:=$OPH_DATACUBE")
        do(shell, "oph_reduce2 operation=quantile;order=0.5;dim=z")
    median, written = cube_of(on, backend), cube_of(off, written_backend)
    assert median.virtual is virtual and not written.virtual
    expected = np.median(stack, axis=0)
    values = backend.store.data(median)
    assert values.dtype == np.uint16 and np.array_equal(values, expected)
    assert np.array_equal(values, written_backend.store.data(written))
    do(on, "oph_delete cube=$stack")
    assert np.array_equal(backend.store.data(backend.store.cube(median.id)), expected)
