"""The embedded datacube store: a catalog plus array files in one directory.

Layout of a store directory::

    catalog.sqlite   users, sessions, jobs, folders, containers, cubes, dimensions, metadata
    data/<uuid>.npy  one array per cube, in the cube's dimension order
    tmp/             arrays being written (see :mod:`ophsh.engine.arrays`)
    reserve          a few MiB set aside, so that deletions can be recorded on a full disk
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ophsh.engine.arrays import ArrayFiles, Staged, load
from ophsh.engine.catalog import SCHEMA_VERSION, Catalog, migrate, now
from ophsh.engine.containers import ContainerTable
from ophsh.engine.metadata import MetadataItem, MetadataTable
from ophsh.engine.model import Container, Cube, Dim, parse_pid
from ophsh.errors import NotFoundError, StoreError
from ophsh.lazy import numpy as np

__all__ = ["DEFAULT_WEB_SERVER", "NewCube", "Store"]

DEFAULT_WEB_SERVER = "http://localhost/ophidia"
CATALOG = "catalog.sqlite"
RESERVE = "reserve"
RESERVE_BYTES = 2 << 20


@dataclass
class NewCube:
    """What an operator hands the store to create a cube."""

    container: Container
    measure: str
    measure_type: str
    dims: Sequence[Dim]
    data: Staged
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
            used = {row[0] for row in db.execute("SELECT data_file FROM cubes")}
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
            dims=tuple(_dim(d) for d in dims),
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
                _insert_cube_dims(db, cube_id, new.dims)
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
        with self.catalog.write() as db:
            db.execute("DELETE FROM cubes WHERE id = ?", (cube.id,))
        self.arrays.remove(cube.data_file)

    def data(self, cube: Cube) -> np.ndarray:
        """The cube's array as stored (memory-mapped; dtype may be narrower than the measure).
        A cube that gained dimensions of size 1 (oph_cubeschema action=add) reads its array in
        its own shape."""
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
        """Rows ``start:stop`` along the cube's first array axis, as stored, in memory."""
        with _damage_of(cube):
            block = self.arrays.rows(cube.data_file, start, stop)
        inner = cube.shape[1:]
        return block if block.shape[1:] == inner else block.reshape(len(block), *inner)

    def replace_dims(self, cube: Cube, dims: Sequence[Dim]) -> Cube:
        """The cube with new dimension records (same values in the same order: only sizes of
        one may be added or collapsed ones dropped)."""
        with self.catalog.write() as db:
            db.execute("DELETE FROM cube_dims WHERE cube = ?", (cube.id,))
            _insert_cube_dims(db, cube.id, dims)
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


@contextmanager
def _damage_of(cube: Cube) -> Iterator[None]:
    """A damaged or missing array file, reported as the cube's."""
    try:
        yield
    except StoreError as err:
        raise StoreError(
            f"cube {cube.pid} cannot be read: {err.message}",
            hint="delete it (oph_delete) and make it again",
        ) from err


def _insert_cube_dims(db, cube_id: int, dims: Sequence[Dim]) -> None:
    db.executemany(
        "INSERT INTO cube_dims VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                cube_id,
                i,
                d.name,
                d.type,
                d.size,
                int(d.explicit),
                d.level,
                d.hierarchy,
                d.concept_level,
                int(d.collapsed),
                _pack(d.values),
            )
            for i, d in enumerate(dims)
        ],
    )


def _pack(values: np.ndarray | None) -> bytes | None:
    if values is None:
        return None
    buf = io.BytesIO()
    np.save(buf, np.asarray(values), allow_pickle=False)
    return buf.getvalue()


def _dim(row) -> Dim:
    blob = row["vals"]
    values = load(io.BytesIO(blob)) if blob else np.arange(1, row["size"] + 1)
    return Dim(
        name=row["name"],
        type=row["type"],
        size=row["size"],
        explicit=bool(row["explicit"]),
        level=row["level"],
        values=values,
        hierarchy=row["hierarchy"],
        concept_level=row["concept_level"],
        collapsed=bool(row["collapsed"]),
    )
