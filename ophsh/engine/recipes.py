"""Virtual cubes: a cube kept as a *recipe* (an element-wise operation, its parameters and the
ids of its input cubes) instead of an array file, computed block by block when it is read.

A virtual cube's row in ``cubes`` has an empty ``data_file``; its stored type and shape are the
cube's own (``storage`` and its dimensions); the recipe lives in ``recipes`` and its inputs in
``recipe_inputs``. Reading rows of a virtual cube reads the same rows of its inputs, which may be
virtual themselves: a chain is evaluated per block in one pass, with no intermediate file.

The catalog keeps every input alive: ``recipe_inputs.input`` references ``cubes(id)``, so a
transaction that would delete an input still read by a recipe fails as a whole. The store
*materialises* such dependents first (writes their array and drops their recipe in one
transaction), see :meth:`ophsh.engine.store.Store.materialise`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ophsh.engine.catalog import Catalog
from ophsh.lazy import numpy as np

__all__ = ["MAX_DEPTH", "Recipe", "RecipeTable"]

# A recipe reading a chain of more virtual cubes than this is written instead (reads stay cheap).
MAX_DEPTH = 6


@dataclass(frozen=True)
class Recipe:
    """How to compute a cube: ``KERNELS[operation](blocks of inputs, params, dtype)``.

    Inputs listed in ``whole`` are single values applied to every block (read once whole).
    ``shape`` and ``dtype`` describe the result, as a staged array's do, so that a recipe can
    stand where a :class:`~ophsh.engine.arrays.Staged` array would.
    """

    operation: str
    params: dict[str, Any]
    inputs: tuple[int, ...]
    shape: tuple[int, ...] = ()
    dtype: np.dtype = field(default_factory=lambda: np.dtype(np.float64))
    whole: tuple[int, ...] = ()
    depth: int = 1
    name: str = ""  # the data file it has: none

    def compute(self, blocks: Sequence[np.ndarray]) -> np.ndarray:
        from ophsh.engine.elementwise import KERNELS  # with the primitives: only when read

        return KERNELS[self.operation](list(blocks), self.params, self.dtype)

    def publish(self) -> None:
        """Nothing to move into place (the catalog row is all there is)."""

    def discard(self) -> None:
        """Nothing to remove."""


class RecipeTable:
    """The only reader and writer of the ``recipes`` and ``recipe_inputs`` tables. Recipes
    never change, so they are cached once read (a materialised cube's entry is forgotten)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._cache: dict[int, Recipe] = {}
        self._lock = threading.Lock()

    def insert(self, db: sqlite3.Connection, cube: int, recipe: Recipe) -> None:
        params = {**recipe.params, "whole": list(recipe.whole)}
        db.execute(
            "INSERT INTO recipes VALUES (?, ?, ?, ?)",
            (cube, recipe.operation, json.dumps(params), recipe.depth),
        )
        db.executemany(
            "INSERT INTO recipe_inputs VALUES (?, ?, ?)",
            [(cube, pos, source) for pos, source in enumerate(recipe.inputs)],
        )

    def get(self, cube: int, shape: tuple[int, ...], dtype: np.dtype) -> Recipe | None:
        """The recipe of ``cube`` (of ``shape`` and ``dtype``), or None when it has an array."""
        with self._lock:
            known = self._cache.get(cube)
        if known is not None:
            return known
        with self.catalog.read() as db:
            row = db.execute("SELECT * FROM recipes WHERE cube = ?", (cube,)).fetchone()
            inputs = db.execute(
                "SELECT input FROM recipe_inputs WHERE cube = ? ORDER BY pos", (cube,)
            ).fetchall()
        if row is None:
            return None
        params = json.loads(row["params"])
        recipe = Recipe(
            operation=row["operation"],
            params=params,
            inputs=tuple(r[0] for r in inputs),
            shape=shape,
            dtype=np.dtype(dtype),
            whole=tuple(params.pop("whole", ())),
            depth=row["depth"],
        )
        with self._lock:
            self._cache[cube] = recipe
        return recipe

    def depth(self, cube: int) -> int:
        """How many virtual cubes a read of ``cube`` goes through (0: it has an array)."""
        row = self.catalog.one("SELECT depth FROM recipes WHERE cube = ?", (cube,))
        return row[0] if row else 0

    def drop(self, db: sqlite3.Connection, cube: int) -> bool:
        """Remove the recipe of ``cube`` (it got its array); False when it had none."""
        self.forget(cube)
        return db.execute("DELETE FROM recipes WHERE cube = ?", (cube,)).rowcount > 0

    def forget(self, cube: int) -> None:
        with self._lock:
            self._cache.pop(cube, None)

    def dependents(self, inputs: Sequence[int]) -> list[int]:
        """Ids of the virtual cubes that read one of ``inputs`` and are not among them, newest
        first."""
        marks = ",".join("?" * len(inputs))
        rows = self.catalog.query(
            f"SELECT DISTINCT cube FROM recipe_inputs WHERE input IN ({marks}) "
            f"AND cube NOT IN ({marks}) ORDER BY cube DESC",
            (*inputs, *inputs),
        )
        return [r[0] for r in rows]
