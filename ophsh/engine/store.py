"""The embedded datacube store: a catalog plus array files in one directory.

Layout of a store directory::

    catalog.sqlite   users, sessions, jobs, folders, containers, cubes, dimensions, metadata
    data/<uuid>.npy  one array per cube, in the cube's dimension order (or <uuid>.stack/, a
                     stack of other cubes' files, or <uuid>.ref/, an imported FITS file
                     or classic NetCDF variable referenced in place; a virtual cube has
                     none: it is computed from other cubes when read, see recipes)
    tmp/             arrays being written (see :mod:`ophsh.engine.arrays`)
    reserve          a few MiB set aside, so that deletions can be recorded on a full disk
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ophsh.engine.arrays import ArrayFiles, Staged
from ophsh.engine.catalog import SCHEMA_VERSION, Catalog, migrate, now
from ophsh.engine.containers import ContainerTable
from ophsh.engine.cube_dims import dim_of, insert_cube_dims
from ophsh.engine.metadata import MetadataItem, MetadataTable
from ophsh.engine.model import Container, Cube, Dim, parse_pid
from ophsh.engine.recipes import Recipe, RecipeTable
from ophsh.errors import NotFoundError, StoreError
from ophsh.lazy import numpy as np

__all__ = ["DEFAULT_WEB_SERVER", "NewCube", "Store"]

DEFAULT_WEB_SERVER = "http://localhost/ophidia"
CATALOG = "catalog.sqlite"
RESERVE = "reserve"
RESERVE_BYTES = 2 << 20
COMPUTED_BLOCK = 8 << 20  # bytes of a virtual cube computed at a time, to write or to return


@dataclass
class NewCube:
    """What an operator hands the store to create a cube."""

    container: Container
    measure: str
    measure_type: str
    dims: Sequence[Dim]
    data: Staged | Recipe  # an array written aside, or the recipe of a virtual cube
    level: int = 0
    source: str = ""
    description: str = ""
    metadata: Sequence[MetadataItem] = ()
    parents: Sequence[int] = ()
    provenance: str = ""
    owner: str = ""


class Store:
    """An opened store directory. Safe to share between threads."""

    def __init__(self, root: Path, catalog: Catalog, arrays: ArrayFiles, web_server: str) -> None:
        self.root = root
        self.catalog = catalog
        self.arrays = arrays
        self.web_server = web_server
        self.metadata = MetadataTable(catalog)
        self.containers = ContainerTable(catalog, arrays, web_server)
        self.recipes = RecipeTable(catalog)

    @classmethod
    def open(cls, root: Path | str, *, web_server: str | None = None, fsync: bool = False) -> Store:
        """Open the store at ``root``, creating it when the directory is new or empty.

        ``fsync`` forces every new array to the disk before it is published.
        """
        root = Path(root).expanduser().resolve()
        if root.exists() and not root.is_dir():
            raise StoreError(f"{root} is a file, not a store directory")
        if root.is_dir() and any(root.iterdir()) and not (root / CATALOG).exists():
            raise StoreError(
                f"{root} is not an ophsh store (no {CATALOG}); choose an empty directory"
            )
        try:
            root.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(root / CATALOG)
        except OSError as err:
            raise StoreError(f"cannot open the store at {root}: {err.strerror or err}") from err
        with catalog.write() as db:
            version = catalog.get_meta("schema")
            if version is None:
                db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
                ws = web_server or DEFAULT_WEB_SERVER
                db.execute("INSERT INTO meta VALUES ('web_server', ?)", (ws.rstrip("/"),))
                db.execute("INSERT INTO meta VALUES ('created', ?)", (now(),))
            elif version != SCHEMA_VERSION and not migrate(db, version):
                raise StoreError(f"{root} was made by another ophsh version (schema {version})")
        store = cls(
            root, catalog, ArrayFiles(root, fsync=fsync), catalog.get_meta("web_server") or ""
        )
        store.sweep()
        store.keep_reserve()
        return store

    # -- room on the disk -------------------------------------------------------------------
    def keep_reserve(self) -> None:
        """Set aside a little disk space (the file ``reserve``), when there is room for it, so
        that a full disk can still record the deletions that free it (see :meth:`make_room`)."""
        path = self.root / RESERVE
        if path.exists() or shutil.disk_usage(self.root).free < 4 * RESERVE_BYTES:
            return
        try:
            with open(path, "wb") as fh:
                os.posix_fallocate(fh.fileno(), 0, RESERVE_BYTES)  # blocks, not written zeros
        except OSError:  # no room after all, or a file system that cannot allocate ahead
            path.unlink(missing_ok=True)

    def free_bytes(self) -> int:
        """Room left on the store's disk."""
        return shutil.disk_usage(self.root).free

    def make_room(self) -> bool:
        """Give the reserved space back to the disk; True when there was some."""
        path = self.root / RESERVE
        if not path.exists():
            return False
        path.unlink()
        return True

    def sweep(self) -> int:
        """Remove array files left by interrupted writes (holds the write lock meanwhile)."""
        with self.catalog.write() as db:
            used = {
                row[0] for row in db.execute("SELECT data_file FROM cubes WHERE data_file != ''")
            }
            return self.arrays.sweep(used)

    def close(self) -> None:
        self.arrays.close()
        self.catalog.close()

    # -- cubes ----------------------------------------------------------------------------
    def cube(self, cube_id: int) -> Cube:
        row = self.catalog.one(
            "SELECT cubes.*, containers.name AS cname, containers.folder AS folder "
            "FROM cubes JOIN containers ON containers.id = cubes.container WHERE cubes.id = ?",
            (cube_id,),
        )
        if row is None:
            raise NotFoundError(f"cube {cube_id} does not exist")
        return self._cube(row)

    def cube_by_pid(self, pid: str) -> Cube:
        parts = parse_pid(pid)
        if parts is None or parts.cube is None:
            raise NotFoundError(
                f"'{pid}' is not a cube PID", hint=f"PIDs look like {self.web_server}/1/2"
            )
        if parts.web_server.rstrip("/") != self.web_server:
            raise NotFoundError(
                f"{pid} belongs to another server",
                hint=f"cubes here are named {self.web_server}/<container>/<cube>",
            )
        try:
            cube = self.cube(parts.cube)
        except NotFoundError:
            raise NotFoundError(f"cube {pid} does not exist") from None
        if cube.container != parts.container:
            raise NotFoundError(f"cube {pid} does not exist", hint=f"did you mean {cube.pid}?")
        return cube

    def cubes(self) -> list[Cube]:
        """Every cube of the store, in id order."""
        return self._cubes("1", ())

    def cubes_in(self, folders: Sequence[int]) -> list[Cube]:
        """The cubes of the containers in ``folders``, in id order."""
        marks = ",".join("?" * len(folders))
        return self._cubes(f"containers.folder IN ({marks})", tuple(folders))

    def bytes_of(self, owner: str) -> int:
        """What the cubes of ``owner`` take, as stored (a stack counts its frames' values)."""
        cubes = self._cubes("cubes.owner = ?", (owner,))
        return sum(c.elements * np.dtype(c.storage).itemsize for c in cubes)

    def cubes_of(self, container: Container) -> list[Cube]:
        return self._cubes("cubes.container = ?", (container.id,))

    def _cubes(self, condition: str, args: tuple) -> list[Cube]:
        rows = self.catalog.query(
            "SELECT cubes.*, containers.name AS cname, containers.folder AS folder "
            "FROM cubes JOIN containers ON containers.id = cubes.container "
            f"WHERE {condition} ORDER BY cubes.id",
            args,
        )
        return [self._cube(r) for r in rows]

    def _cube(self, row) -> Cube:
        dims = self.catalog.query(
            "SELECT * FROM cube_dims WHERE cube = ? ORDER BY pos", (row["id"],)
        )
        return Cube(
            id=row["id"],
            container=row["container"],
            container_name=row["cname"],
            folder=row["folder"],
            measure=row["measure"],
            measure_type=row["measure_type"],
            level=row["level"],
            source=row["source"],
            description=row["description"],
            created=row["created"],
            data_file=row["data_file"],
            storage=row["storage"],
            dims=tuple(dim_of(d) for d in dims),
            web_server=self.web_server,
            provenance=row["provenance"],
        )

    def add_cube(self, new: NewCube) -> Cube:
        """Create a cube from a staged array; the cube appears whole or not at all."""
        expected = tuple(
            d.size
            for d in sorted(
                (d for d in new.dims if not d.collapsed), key=lambda d: (not d.explicit, d.level)
            )
        )
        if new.data.shape != expected:
            new.data.discard()
            raise ValueError(f"array shape {new.data.shape} does not match dimensions {expected}")
        try:
            with self.catalog.write() as db:
                stamp = now()
                cur = db.execute(
                    "INSERT INTO cubes (container, measure, measure_type, level, source, "
                    "description, created, data_file, storage, provenance, owner) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        new.container.id,
                        new.measure,
                        new.measure_type,
                        new.level,
                        new.source,
                        new.description,
                        stamp,
                        new.data.name,
                        new.data.dtype.str,
                        new.provenance,
                        new.owner,
                    ),
                )
                cube_id = cur.lastrowid
                insert_cube_dims(db, cube_id, new.dims)
                if isinstance(new.data, Recipe):
                    self.recipes.insert(db, cube_id, new.data)
                db.executemany(
                    "INSERT INTO cube_parents VALUES (?, ?)", [(cube_id, p) for p in new.parents]
                )
                self.metadata.insert(db, cube_id, new.metadata, new.owner)
                new.data.publish()
        except BaseException:
            new.data.discard()
            raise
        return self.cube(cube_id)

    def delete_cube(self, cube: Cube) -> None:
        """Delete a cube; the virtual cubes computed from it get their arrays first."""
        self.release([cube.id])
        with self.catalog.write() as db:
            row = db.execute("SELECT data_file FROM cubes WHERE id = ?", (cube.id,)).fetchone()
            db.execute("DELETE FROM cubes WHERE id = ?", (cube.id,))
        self.recipes.forget(cube.id)
        if row is not None and row["data_file"]:
            self.arrays.remove(row["data_file"])

    def delete_container(self, container: Container, *, force: bool) -> list[str]:
        """:meth:`ContainerTable.delete`, virtual cubes elsewhere computed from its cubes
        written first."""
        if force:
            self.release([c.id for c in self.cubes_of(container)])
        return self.containers.delete(container, force=force)

    def release(self, cube_ids: Sequence[int]) -> None:
        """Materialise the virtual cubes that read one of ``cube_ids`` (and are not among
        them), so that those can be deleted."""
        for dependent in self.recipes.dependents(cube_ids):
            try:
                self.materialise(self.cube(dependent))
            except NotFoundError:  # deleted meanwhile
                continue

    def materialise(self, cube: Cube) -> Cube:
        """Write a virtual cube's array and drop its recipe, in one transaction (a process
        killed before leaves the recipe, one killed after the array); other cubes as they are."""
        if not cube.virtual:
            return cube
        staged = self.arrays.stream(cube.shape, np.dtype(cube.storage))
        try:
            rows, step = cube.shape[0], _step(cube)
            for start in range(0, rows, step):
                staged.append(self._computed(cube, start, min(rows, start + step)))
            with self.catalog.write() as db:
                if self.recipes.drop(db, cube.id):
                    db.execute(
                        "UPDATE cubes SET data_file = ? WHERE id = ?", (staged.name, cube.id)
                    )
                    staged.publish()
                else:  # materialised or deleted by someone else meanwhile
                    staged.discard()
        except BaseException:
            staged.discard()
            raise
        return self.cube(cube.id)

    def data(self, cube: Cube) -> np.ndarray:
        """The cube's array as stored (memory-mapped, or in memory for a stack, a referenced
        FITS image or a virtual cube, which is computed; dtype may be narrower than the
        measure). A cube that gained dimensions of size 1 (oph_cubeschema action=add) reads its
        array in its own shape."""
        if cube.virtual:
            return self.rows(cube, 0, cube.shape[0])
        with _damage_of(cube):
            array = self.arrays.open(cube.data_file)
        if array.shape != cube.shape:
            if array.size != cube.elements or array.shape[:1] != cube.shape[:1]:
                raise StoreError(
                    f"the array of {cube.pid} has shape {array.shape}, not {cube.shape}"
                )
            array = array.reshape(cube.shape)
        return array

    def rows(self, cube: Cube, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` along the cube's first array axis, as stored, in memory (a
        virtual cube's computed from the same rows of its inputs)."""
        if cube.virtual:  # by blocks, so that the intermediates of a chain stay small
            start, stop, step = max(0, start), min(stop, cube.shape[0]), _step(cube)
            if stop - start <= step:
                return self._computed(cube, start, stop)
            block = np.empty((stop - start, *cube.shape[1:]), np.dtype(cube.storage))
            for at in range(start, stop, step):
                block[at - start : at - start + step] = self._computed(
                    cube, at, min(stop, at + step)
                )
            return block
        with _damage_of(cube):
            block = self.arrays.rows(cube.data_file, start, stop)
        inner = cube.shape[1:]
        return block if block.shape[1:] == inner else block.reshape(len(block), *inner)

    def member_rows(self, cube: Cube, start: int, stop: int) -> list[np.ndarray]:
        """Rows ``start:stop`` of each frame of a stacked cube, one array per frame."""
        with _damage_of(cube):
            return self.arrays.member_rows(cube.data_file, start, stop)

    def _computed(self, cube: Cube, start: int, stop: int) -> np.ndarray:
        """Rows of a virtual cube, from its recipe (or its array, when it got one since)."""
        recipe = self.recipes.get(cube.id, cube.shape, np.dtype(cube.storage))
        try:
            if recipe is not None:
                inputs = [self.cube(i) for i in recipe.inputs]  # kept while the recipe is
                return recipe.compute(
                    [
                        self.data(c).reshape(()) if i in recipe.whole else self.rows(c, start, stop)
                        for i, c in enumerate(inputs)
                    ]
                )
        except NotFoundError:  # materialised elsewhere, then its inputs deleted
            self.recipes.forget(cube.id)
        fresh = self.cube(cube.id)
        if fresh.virtual:
            raise StoreError(f"cube {cube.pid} cannot be computed: an input is missing")
        return self.rows(fresh, start, stop)

    def replace_dims(self, cube: Cube, dims: Sequence[Dim]) -> Cube:
        """The cube with new dimension records (same values in the same order: only sizes of
        one may be added or collapsed ones dropped); a virtual cube is written first."""
        cube = self.materialise(cube)
        with self.catalog.write() as db:
            db.execute("DELETE FROM cube_dims WHERE cube = ?", (cube.id,))
            insert_cube_dims(db, cube.id, dims)
        return self.cube(cube.id)

    def parents(self, cube: Cube) -> list[int]:
        """Ids of the cubes this one was made from (some may be deleted since)."""
        rows = self.catalog.query(
            "SELECT parent FROM cube_parents WHERE cube = ? ORDER BY parent", (cube.id,)
        )
        return [r[0] for r in rows]

    def children(self, cube: Cube) -> list[int]:
        """Ids of the cubes made from this one, still in the store."""
        rows = self.catalog.query(
            "SELECT cube FROM cube_parents WHERE parent = ? ORDER BY cube", (cube.id,)
        )
        return [r[0] for r in rows]


def _step(cube: Cube) -> int:
    """How many rows of a virtual cube are computed at once (:data:`COMPUTED_BLOCK` bytes)."""
    row_bytes = max(1, cube.elements // max(1, cube.shape[0])) * np.dtype(cube.storage).itemsize
    return max(1, COMPUTED_BLOCK // row_bytes)


@contextmanager
def _damage_of(cube: Cube) -> Iterator[None]:
    """A damaged or missing array file, reported as the cube's."""
    try:
        yield
    except StoreError as err:
        raise StoreError(
            f"cube {cube.pid} cannot be read: {err.message}",
            hint=err.hint or "delete it (oph_delete) and make it again",
        ) from err
