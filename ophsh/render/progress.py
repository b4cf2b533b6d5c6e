"""Progress bars for long operations, drawn on a terminal and nowhere else.

Operators report ``progress(label, done, total)`` (total 0 when unknown) from whatever thread
runs them; :class:`TerminalProgress` turns that into rich bars with the elapsed time, drawn on
standard error, and erased when the command ends.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, TextIO

from rich.console import Console

if TYPE_CHECKING:  # rich.progress loads with the first bar: most commands never draw one
    from rich.progress import Progress

__all__ = ["TerminalProgress"]


class TerminalProgress:
    """A progress callback; ``close()`` after each command. Silent unless ``enabled``."""

    def __init__(self, stream: TextIO | None = None, *, enabled: bool = True) -> None:
        stream = stream or sys.stderr
        self.enabled = enabled and stream.isatty()
        self._console = Console(file=stream) if self.enabled else None
        self._bars: Progress | None = None
        self._tasks: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, label: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        with self._lock:
            if self._bars is None:
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TextColumn,
                    TimeElapsedColumn,
                )

                self._bars = Progress(
                    TextColumn("[bold]{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    console=self._console,
                    transient=True,
                )
                self._tasks.clear()
                task = self._bars.add_task(label, total=total or None, completed=done)
                self._tasks[label] = task
                self._bars.start()
                return
            if label not in self._tasks:
                self._tasks[label] = self._bars.add_task(label, total=total or None)
            self._bars.update(self._tasks[label], completed=done, total=total or None)

    def close(self) -> None:
        """Erase the bars of the command that just ended."""
        with self._lock:
            if self._bars is not None:
                self._bars.stop()
                self._bars = None
