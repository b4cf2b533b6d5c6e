"""The store on disk: atomic cubes, clean-up after crashes, reopening, concurrent writers."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from ophsh.engine.embedded import EmbeddedBackend
from ophsh.engine.model import Dim
from ophsh.engine.store import NewCube, Store
from ophsh.errors import StoreError


def two_d(size=(3, 4)):
    return [
        Dim("y", "int", size[0], True, 1, np.arange(1, size[0] + 1)),
        Dim("x", "int", size[1], False, 1, np.arange(1, size[1] + 1)),
    ]


def make_container(store: Store):
    root = store.catalog.one("SELECT id FROM folders WHERE parent IS NULL")
    if root is None:
        with store.catalog.write() as db:
            db.execute("INSERT INTO folders (parent, name) VALUES (NULL, 'root')")
        root = store.catalog.one("SELECT id FROM folders WHERE parent IS NULL")
    return store.containers.create(root["id"], f"c{threading.get_ident()}", [("y", "int", "b")])


def test_a_cube_and_its_array_appear_together(tmp_path):
    store = Store.open(tmp_path / "s")
    container = make_container(store)
    cube = store.add_cube(
        NewCube(container, "m", "double", two_d(), store.arrays.stage(np.ones((3, 4))))
    )
    assert np.array_equal(store.data(cube), np.ones((3, 4)))
    assert cube.pid == f"http://localhost/ophidia/{container.id}/{cube.id}"


def test_a_failed_insert_leaves_neither_row_nor_file(tmp_path):
    store = Store.open(tmp_path / "s")
    container = make_container(store)
    staged = store.arrays.stage(np.ones((3, 4)))
    bad = NewCube(container, "m", "double", two_d(), staged, metadata=[None])  # type: ignore[list-item]
    with pytest.raises(AttributeError):
        store.add_cube(bad)
    assert store.cubes() == []
    assert list((tmp_path / "s" / "data").iterdir()) == []
    assert list((tmp_path / "s" / "tmp").iterdir()) == []


def test_a_wrong_shape_is_refused(tmp_path):
    store = Store.open(tmp_path / "s")
    container = make_container(store)
    with pytest.raises(ValueError, match="does not match"):
        store.add_cube(NewCube(container, "m", "double", two_d(), store.arrays.stage(np.ones(5))))


def test_leftovers_of_a_killed_writer_are_swept_on_open(tmp_path):
    store = Store.open(tmp_path / "s")
    container = make_container(store)
    keep = store.add_cube(
        NewCube(container, "m", "double", two_d(), store.arrays.stage(np.zeros((3, 4))))
    )
    store.close()
    np.save(tmp_path / "s" / "data" / "orphan.npy", np.ones(3))  # published, never committed
    np.save(tmp_path / "s" / "tmp" / "999999999-x.npy", np.ones(3))  # staged by a dead process
    store = Store.open(tmp_path / "s")
    assert sorted(p.name for p in (tmp_path / "s" / "data").iterdir()) == [keep.data_file]
    assert list((tmp_path / "s" / "tmp").iterdir()) == []
    assert np.array_equal(store.data(store.cube(keep.id)), np.zeros((3, 4)))


def test_a_directory_that_is_not_a_store_is_refused(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("x")
    with pytest.raises(StoreError, match="not an ophsh store"):
        Store.open(tmp_path / "mine")
    (tmp_path / "garbage").mkdir()
    (tmp_path / "garbage" / "catalog.sqlite").write_text("not a database at all" * 100)
    with pytest.raises(StoreError, match=r"catalog \(catalog.sqlite\) is damaged"):
        Store.open(tmp_path / "garbage")


def test_a_second_backend_on_the_same_store_sees_the_cubes(tmp_path, monkeypatch):
    from factories import raw_frame, write_fits

    data, cards = raw_frame()
    write_fits(tmp_path / "f.fits", data, **cards)
    monkeypatch.chdir(tmp_path)
    first = EmbeddedBackend(tmp_path / "s", user="u")
    state = first.start()
    from ophsh.request import TaskRequest

    call = TaskRequest(
        "oph_importfits",
        (
            ("src_path", "f.fits"),
            ("sessionid", state.session),
            ("exec_mode", "sync"),
            ("cdd", state.cdd),
        ),
    )
    pid = first.submit(call).document.output_cube
    first.close()
    second = EmbeddedBackend(tmp_path / "s", user="u")
    resumed = second.start()
    assert resumed.session == state.session and resumed.datacube == pid
    second.close()


def test_concurrent_writers_do_not_corrupt_the_catalog(tmp_path):
    store = Store.open(tmp_path / "s")
    container = make_container(store)
    errors = []

    def writer(n):
        try:
            for _ in range(10):
                store.add_cube(
                    NewCube(
                        container,
                        "m",
                        "double",
                        two_d(),
                        store.arrays.stage(np.full((3, 4), n, float)),
                    )
                )
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    cubes = store.cubes()
    assert len(cubes) == 60
    assert len({c.data_file for c in cubes}) == 60
    for cube in cubes:
        values = np.unique(store.data(cube))
        assert len(values) == 1
