"""Files kept open between the blocks an operator reads, so that walking a cube block by block
opens each file once, not once a block."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

__all__ = ["OpenFiles"]


class OpenFiles:
    """Open handles by path (at most ``limit``, the least recently used closed first); handles
    are opened and closed holding ``lock``."""

    def __init__(
        self,
        close: Callable[[Any], None],
        *,
        limit: int,
        lock: AbstractContextManager | None = None,
    ) -> None:
        self.limit = limit
        self._close = close
        self._lock = lock or threading.Lock()
        self._open: OrderedDict[Path, Any] = OrderedDict()

    def get(self, path: Path, open_: Callable[[Path], Any]) -> Any:
        """The handle of ``path``, opened with ``open_`` when it is not open yet."""
        with self._lock:
            handle = self._open.get(path)
            if handle is not None:
                self._open.move_to_end(path)
                return handle
            handle = self._open[path] = open_(path)
            while len(self._open) > self.limit:
                self._close(self._open.popitem(last=False)[1])
            return handle

    def forget(self, path: Path) -> None:
        """Close the handle of ``path`` and those of the files in it (a stack's members)."""
        with self._lock:
            for known in [p for p in self._open if p == path or p.parent == path]:
                self._close(self._open.pop(known))

    def close(self) -> None:
        with self._lock:
            for handle in self._open.values():
                self._close(handle)
            self._open.clear()
