"""Containers in the catalog: the one place that reads and writes them and the dimensions
(with their time facts) they declare."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ophsh.engine.arrays import ArrayFiles
from ophsh.engine.catalog import TIME_COLUMNS, Catalog, name_taken, now
from ophsh.engine.model import Container, TimeInfo
from ophsh.errors import NotFoundError, OperatorError

__all__ = ["ContainerTable"]


class ContainerTable:
    """Find, create, move and delete containers."""

    def __init__(self, catalog: Catalog, arrays: ArrayFiles, web_server: str) -> None:
        self.catalog = catalog
        self.arrays = arrays
        self.web_server = web_server

    def by_id(self, container_id: int) -> Container:
        row = self.catalog.one("SELECT * FROM containers WHERE id = ?", (container_id,))
        if row is None:
            raise NotFoundError(f"container {container_id} does not exist")
        return self._record(row)

    def named(self, folder: int, name: str) -> Container | None:
        row = self.catalog.one(
            "SELECT * FROM containers WHERE folder = ? AND name = ?", (folder, name)
        )
        return self._record(row) if row else None

    def in_folder(self, folder: int) -> list[Container]:
        rows = self.catalog.query(
            "SELECT * FROM containers WHERE folder = ? ORDER BY name", (folder,)
        )
        return [self._record(r) for r in rows]

    def _record(self, row) -> Container:
        dims = self.catalog.query(
            "SELECT * FROM container_dims WHERE container = ? ORDER BY pos", (row["id"],)
        )
        return Container(
            id=row["id"],
            folder=row["folder"],
            name=row["name"],
            description=row["description"],
            vocabulary=row["vocabulary"],
            dims=tuple((d["name"], d["type"], d["hierarchy"]) for d in dims),
            web_server=self.web_server,
            times=tuple(
                (d["name"], TimeInfo(*(d[c] for c in TIME_COLUMNS))) for d in dims if d["units"]
            ),
        )

    def create(
        self,
        folder: int,
        name: str,
        dims: Iterable[tuple[str, str, str]],
        *,
        description: str = "",
        vocabulary: str = "CF",
        times: Mapping[str, TimeInfo] | None = None,
    ) -> Container:
        """A new container declaring ``dims`` (name, type, hierarchy); ``times`` gives the time
        facts of its oph_time dimensions."""
        with self.catalog.write() as db:
            if name_taken(db, folder, name):
                raise OperatorError(f"container or folder '{name}' already exists here")
            cur = db.execute(
                "INSERT INTO containers (folder, name, description, vocabulary, created) "
                "VALUES (?, ?, ?, ?, ?)",
                (folder, name, description, vocabulary, now()),
            )
            cid = cur.lastrowid
            _insert_dims(db, cid, dims, times or {})
        return self.by_id(cid)

    def record_times(self, container: Container, times: Mapping[str, TimeInfo]) -> None:
        """Make declared dimensions without time facts time axes with the facts in ``times``."""
        sets = ", ".join(["hierarchy = 'oph_time'", *(f"{c} = ?" for c in TIME_COLUMNS)])
        with self.catalog.write() as db:
            db.executemany(
                f"UPDATE container_dims SET {sets} WHERE container = ? AND name = ? AND units = ''",
                [
                    (*(getattr(t, c) for c in TIME_COLUMNS), container.id, name)
                    for name, t in times.items()
                ],
            )

    def move(self, container: Container, folder: int, name: str) -> None:
        with self.catalog.write() as db:
            if name_taken(db, folder, name, container=container.id):
                raise OperatorError(f"container or folder '{name}' already exists there")
            db.execute(
                "UPDATE containers SET folder = ?, name = ? WHERE id = ?",
                (folder, name, container.id),
            )

    def delete(self, container: Container, *, force: bool) -> list[str]:
        """Delete a container; with ``force`` its cubes go too. Returns the deleted cube PIDs."""
        with self.catalog.write() as db:
            rows = db.execute(
                "SELECT id, data_file FROM cubes WHERE container = ?", (container.id,)
            ).fetchall()
            if rows and not force:
                raise OperatorError(
                    f"container '{container.name}' still holds {len(rows)} cube(s)",
                    hint="delete them first, or add force=yes",
                )
            db.executemany("DELETE FROM cubes WHERE id = ?", [(r["id"],) for r in rows])
            db.execute("DELETE FROM containers WHERE id = ?", (container.id,))
        for row in rows:
            self.arrays.remove(row["data_file"])
        return [f"{container.pid}/{r['id']}" for r in rows]


def _insert_dims(
    db, container: int, dims: Iterable[tuple[str, str, str]], times: Mapping[str, TimeInfo]
) -> None:
    """Declare the dimensions of a new container, in order, with the facts of its time axes."""
    columns = ", ".join(("container", "pos", "name", "type", "hierarchy", *TIME_COLUMNS))
    rows = []
    for i, (name, kind, hierarchy) in enumerate(dims):
        time = times.get(name)
        facts = tuple(getattr(time, c) for c in TIME_COLUMNS) if time else ("",) * 6
        rows.append((container, i, name, kind, hierarchy, *facts))
    marks = ", ".join("?" * (5 + len(TIME_COLUMNS)))
    db.executemany(f"INSERT INTO container_dims ({columns}) VALUES ({marks})", rows)
