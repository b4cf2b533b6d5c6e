"""The rows of ``cube_dims``: a cube's dimension records, their values packed as ``.npy``."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Sequence

from ophsh.engine.arrays import load
from ophsh.engine.model import Dim
from ophsh.lazy import numpy as np

__all__ = ["dim_of", "insert_cube_dims"]


def insert_cube_dims(db: sqlite3.Connection, cube_id: int, dims: Sequence[Dim]) -> None:
    """Record the dimensions of cube ``cube_id``, in order, with their values."""
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


def dim_of(row: sqlite3.Row) -> Dim:
    """The dimension a row of ``cube_dims`` records."""
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
