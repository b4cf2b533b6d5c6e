"""Cube metadata in the catalog: the one place that reads and writes it.

Operators ask for items by cube, key and filters, and insert, update or delete them through
:class:`MetadataTable`; none of them writes SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ophsh.engine.catalog import Catalog, now

__all__ = ["MetadataItem", "MetadataRecord", "MetadataSelection", "MetadataTable"]


@dataclass(frozen=True)
class MetadataItem:
    """A metadata item as it is copied from cube to cube, or inserted."""

    key: str
    value: str
    type: str = "text"
    variable: str = ""
    comment: str = ""
    vocabulary: str = ""


@dataclass(frozen=True)
class MetadataRecord:
    """A stored item, with what oph_metadata shows of it."""

    id: int
    item: MetadataItem
    modified: str
    user: str


@dataclass(frozen=True)
class MetadataSelection:
    """Which items of a cube: by id, else by exact keys and substring filters."""

    item_id: int = 0
    keys: tuple[str, ...] = ()
    variable: str = ""  # substring filters; "" = any
    type: str = ""
    value: str = ""


class MetadataTable:
    """Read and change the metadata of cubes."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def items(self, cube_id: int) -> list[MetadataItem]:
        """The cube's metadata in insertion order, ready to be copied to another cube."""
        return [r.item for r in self.select(cube_id, MetadataSelection())]

    def select(self, cube_id: int, chosen: MetadataSelection) -> list[MetadataRecord]:
        where, args = ["cube = ?"], [cube_id]
        if chosen.item_id > 0:
            where.append("id = ?")
            args.append(chosen.item_id)
        else:
            if chosen.keys:
                where.append(f"key IN ({','.join('?' * len(chosen.keys))})")
                args += chosen.keys
            for column, text in (
                ("variable", chosen.variable),
                ("type", chosen.type),
                ("value", chosen.value),
            ):
                if text:
                    where.append(f"instr({column}, ?) > 0")
                    args.append(text)
        rows = self.catalog.query(
            f"SELECT * FROM metadata WHERE {' AND '.join(where)} ORDER BY id", tuple(args)
        )
        return [
            MetadataRecord(
                r["id"],
                MetadataItem(
                    r["key"], r["value"], r["type"], r["variable"], r["comment"], r["vocabulary"]
                ),
                r["modified"],
                r["user"],
            )
            for r in rows
        ]

    def has(self, cube_id: int, key: str, value: str | None = None) -> bool:
        """True when the cube has an item ``key`` (whose value is exactly ``value``, if given)."""
        if value is None:
            row = self.catalog.one(
                "SELECT 1 FROM metadata WHERE cube = ? AND key = ?", (cube_id, key)
            )
        else:
            row = self.catalog.one(
                "SELECT 1 FROM metadata WHERE cube = ? AND key = ? AND value = ?",
                (cube_id, key, value),
            )
        return row is not None

    def insert(self, db, cube_id: int, items: Iterable[MetadataItem], user: str) -> None:
        """Add items inside the caller's write transaction ``db``."""
        stamp = now()
        db.executemany(
            "INSERT INTO metadata (cube, variable, key, type, value, comment, modified, "
            "user, vocabulary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (cube_id, m.variable, m.key, m.type, m.value, m.comment, stamp, user, m.vocabulary)
                for m in items
            ],
        )

    def add(self, cube_id: int, items: Sequence[MetadataItem], user: str) -> None:
        with self.catalog.write() as db:
            self.insert(db, cube_id, items, user)

    def update(self, item_id: int, value: str, user: str) -> None:
        with self.catalog.write() as db:
            db.execute(
                "UPDATE metadata SET value = ?, modified = ?, user = ? WHERE id = ?",
                (value, now(), user, item_id),
            )

    def delete(self, item_ids: Iterable[int]) -> None:
        with self.catalog.write() as db:
            db.executemany("DELETE FROM metadata WHERE id = ?", [(i,) for i in item_ids])
