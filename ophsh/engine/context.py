"""What an operator handler receives: the store, the caller's session and folders, the reply."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ophsh.document import Document
from ophsh.engine.activity import ActivityLog
from ophsh.engine.arrays import Staged
from ophsh.engine.kernels import map_blocks
from ophsh.engine.metadata import MetadataItem
from ophsh.engine.model import Container, Cube, Dim
from ophsh.engine.params import Params
from ophsh.engine.paths import DataPaths
from ophsh.engine.recipes import MAX_DEPTH, Recipe
from ophsh.engine.sessions import Session, Sessions
from ophsh.engine.settings import Settings
from ophsh.engine.store import NewCube, Store
from ophsh.engine.vfs import Tree
from ophsh.errors import NotFoundError, OphshError, QuotaError
from ophsh.lazy import numpy as np
from ophsh.spec import Specs

__all__ = ["CancelFlag", "Cancelled", "Handler", "OpContext", "Progress"]

# How many times the memory budget a cube read whole may take (blockwise work takes one).
WHOLE_FACTOR = 4

# progress(label, done, total): called by long operators; total 0 means unknown.
Progress = Callable[[str, int, int], None]


class Cancelled(OphshError):
    """The user interrupted the operator; nothing it was making is kept."""


class CancelFlag(threading.Event):
    """A cancel flag that remembers why it was raised (Ctrl-C, a time limit, oph_cancel).

    ``halted`` is the gentler request: start nothing new, let what runs finish.
    """

    def __init__(self) -> None:
        super().__init__()
        self.reason = "interrupted"
        self.halted = False

    def raise_for(self, reason: str) -> None:
        self.reason = reason
        self.set()

    def halt(self) -> None:
        self.halted = True

    def clear(self) -> None:
        self.reason = "interrupted"
        self.halted = False
        super().clear()


def _no_progress(label: str, done: int, total: int) -> None:
    return None


@dataclass
class OpContext:
    """One task being run for one user in one session."""

    store: Store
    sessions: Sessions
    session: Session
    user: str
    cwd: str
    cdd: str
    paths: DataPaths
    specs: Specs
    doc: Document
    settings: Settings = field(default_factory=Settings)
    command: str = ""
    marker: tuple[int, int] | None = None  # (workflow id, marker id) of the task, when it has one
    progress: Progress = _no_progress
    cancel: CancelFlag = field(default_factory=CancelFlag)
    outputs: dict[str, str] = field(default_factory=dict)
    activity: ActivityLog = field(default_factory=ActivityLog)  # the service's log
    _owned_folders: dict[int, bool] = field(default_factory=dict)

    @property
    def tree(self) -> Tree:
        return Tree(self.store, self.session)

    def check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled(f"{self.cancel.reason}; nothing was kept")

    # -- finding things -------------------------------------------------------------------
    def cube(self, pid: str) -> Cube:
        """The cube ``pid`` names, if this user may see it."""
        cube = self.store.cube_by_pid(pid)
        if not self.may_see(cube.folder):
            raise NotFoundError(f"cube {pid} does not exist")
        return cube

    def container(self, name: str, *, cwd: str | None = None) -> Container:
        """A container by name (in cwd, or a path) or by its PID."""
        if "://" in name:
            parts = name.rstrip("/").rsplit("/", 1)
            if not parts[-1].isdigit() or parts[0] != self.store.web_server:
                raise NotFoundError(f"'{name}' is not a container PID of this store")
            found = self.store.containers.by_id(int(parts[-1]))
            if not self.may_see(found.folder):
                raise NotFoundError(f"container {name} does not exist")
            return found
        return self.tree.container(cwd or self.cwd, name)

    def may_see(self, folder_id: int) -> bool:
        """True when the folder lies in one of this user's sessions."""
        if folder_id not in self._owned_folders:
            self._owned_folders[folder_id] = self.sessions.owner_of_folder(folder_id) == self.user
        return self._owned_folders[folder_id]

    def expect(self, shape: Sequence[int], dtype: np.dtype) -> None:
        """Refuse a new cube of ``shape`` and ``dtype`` that the limits of this store do not
        allow (the largest new cube, the user's quota); call it before allocating anything."""
        size = math.prod(int(n) for n in shape) * np.dtype(dtype).itemsize
        largest, quota = self.settings.max_cube_bytes, self.settings.quota_bytes
        if largest is not None and size > largest:
            raise QuotaError(
                f"this cube would take {_bytes(size)}; a new cube may take at most "
                f"{_bytes(largest)} here",
                hint="take a subset, or reduce first",
            )
        free = self.store.free_bytes()
        if size > free:
            raise QuotaError(
                f"this cube would take {_bytes(size)}; the store's disk has {_bytes(free)} free"
            )
        if quota is not None:
            used = self.store.bytes_of(self.user)
            if used + size > quota:
                raise QuotaError(
                    f"this cube would take {_bytes(size)}, and your cubes already take "
                    f"{_bytes(used)} of your {_bytes(quota)}",
                    hint="delete cubes you no longer need (oph_delete)",
                )

    def whole(self, cube: Cube) -> np.ndarray:
        """All of a cube's values at once (as stored), for work that cannot go by rows (a cube
        that is a single row, an image stored transposed): refused, before anything is read,
        when it exceeds :data:`WHOLE_FACTOR` times the memory budget."""
        size = cube.elements * np.dtype(cube.storage).itemsize
        limit = WHOLE_FACTOR * self.settings.memory_bytes
        if size > limit:
            raise QuotaError(
                f"this needs all of {cube.pid} in memory at once ({_bytes(size)}), more than "
                f"{WHOLE_FACTOR} times the memory budget ({_bytes(limit)})",
                hint="take a subset first, or raise OPHSH_MEMORY_MB",
            )
        return np.asarray(self.store.data(cube))

    def mapped(self, cube: Cube) -> np.ndarray:
        """The cube's array for reading parts of it anywhere (memory-mapped): a virtual cube
        larger than the memory budget is written first, a smaller one computed in memory."""
        if cube.virtual and cube.elements * np.dtype(cube.storage).itemsize > (
            self.settings.memory_bytes
        ):
            cube = self.store.materialise(cube)
        return self.store.data(cube)

    # -- computing --------------------------------------------------------------------------
    def stream(
        self,
        shape: tuple[int, ...],
        dtype: np.dtype,
        read: Callable[[int, int], Any],
        kernel: Callable[[Any], np.ndarray],
        *,
        label: str,
        row_bytes: int,
    ) -> Staged:
        """Stage an array of ``shape`` computed block by block along its first axis.

        ``read(start, stop)`` gives the input of rows ``start:stop`` and ``kernel`` turns it into
        those rows of the result. Blocks are sized from the memory budget (``row_bytes`` is what
        one row of the input, every input file together, and of the result costs to hold), run
        on the configured threads, are checked for cancellation, and report progress. On any
        failure the staged array is discarded, so nothing half-made survives.
        """
        rows = shape[0]

        def run(block: Any) -> np.ndarray:
            self.check_cancel()
            return kernel(block)

        staged = self.store.arrays.stream(shape, dtype)
        try:
            self.progress(label, 0, rows)
            map_blocks(
                read,
                run,
                staged.append,
                rows,
                row_bytes,
                budget=self.settings.memory_bytes,
                workers=self.settings.threads,
                tick=lambda done: self.progress(label, done, rows),
            )
        except BaseException:
            staged.discard()
            raise
        return staged

    def recipe(
        self,
        operation: str,
        params: dict[str, Any],
        inputs: Sequence[Cube],
        dtype: np.dtype,
        *,
        whole: Sequence[int] = (),
        shape: tuple[int, ...] | None = None,
    ) -> Recipe | None:
        """The recipe of an element-wise result shaped as ``inputs[0]`` unless ``shape`` says
        otherwise (inputs at the positions ``whole`` are single values), to hand to
        :meth:`derive` as ``staged``; None when the result is to be computed and written now:
        virtual cubes are off, or the chain of virtual cubes it would read is too deep."""
        shape = inputs[0].shape if shape is None else shape
        if not self.settings.virtual or not shape:
            return None
        depth = 1 + max(self.store.recipes.depth(c.id) for c in inputs)
        if depth > MAX_DEPTH:
            return None
        return Recipe(
            operation,
            params,
            tuple(c.id for c in inputs),
            shape,
            np.dtype(dtype),
            tuple(whole),
            depth,
        )

    # -- making things --------------------------------------------------------------------
    def make_cube(
        self,
        *,
        container: Container,
        measure: str,
        measure_type: str,
        dims: Sequence[Dim],
        data: np.ndarray | None = None,
        staged=None,
        level: int = 0,
        source: str = "",
        description: str = "",
        metadata: Sequence[MetadataItem] = (),
        parents: Sequence[Cube] = (),
        objkey: str,
    ) -> Cube:
        """Store a new cube, announce it in the reply and make it the current cube.
        ``staged`` is an array written aside or the recipe of a virtual cube."""
        try:
            self.check_cancel()  # made, but the user asked to stop: nothing is kept
            if staged is not None:
                self.expect(staged.shape, staged.dtype)
            else:
                data = np.asarray(data)
                self.expect(data.shape, data.dtype)
        except OphshError:
            if staged is not None:
                staged.discard()
            raise
        staged = staged if staged is not None else self.store.arrays.stage(data)
        cube = self.store.add_cube(
            NewCube(
                container=container,
                measure=measure,
                measure_type=measure_type,
                dims=dims,
                data=staged,
                level=level,
                source=source,
                description=description if description not in ("", "-") else "",
                metadata=metadata,
                parents=[p.id for p in parents],
                provenance=_provenance(parents, self.command),
                owner=self.user,
            )
        )
        self.doc.add_text(objkey, "Output Cube", cube.pid)
        self.outputs["cube"] = cube.pid
        return cube

    def derive(
        self,
        source: Cube,
        *,
        dims: Sequence[Dim],
        objkey: str,
        data: np.ndarray | None = None,
        staged=None,
        container: str | None = None,
        description: str = "",
        measure: str | None = None,
        measure_type: str | None = None,
        parents: Sequence[Cube] = (),
    ) -> Cube:
        """A cube computed from ``source``, as Ophidia makes them: one level up, in the
        source's container unless ``container`` names another, with the source's metadata."""
        target = (
            self.container(container)
            if container
            else self.store.containers.by_id(source.container)
        )
        return self.make_cube(
            container=target,
            measure=measure or source.measure,
            measure_type=measure_type or source.measure_type,
            dims=dims,
            data=data,
            staged=staged,
            level=source.level + 1,
            source=source.source,
            description=description,
            metadata=self.store.metadata.items(source.id),
            parents=parents or [source],
            objkey=objkey,
        )


Handler = Callable[[OpContext, Params], None]


def _bytes(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024 or unit == "PiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} PiB"


def _provenance(parents: Sequence[Cube], command: str) -> str:
    """The commands that made a cube: its parents' history (without repeats), then this one."""
    lines: list[str] = []
    for parent in parents:
        for line in parent.provenance.splitlines():
            if line not in lines:
                lines.append(line)
    if command and command not in lines:
        lines.append(command)
    return "\n".join(lines)
