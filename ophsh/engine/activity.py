"""What the service did, as the last lines of its log: the answer to ``oph_log_info``.

Ophidia's administrators read the server's log file through ``oph_log_info``. ophsh keeps the
lines of its service in memory instead, a bounded number (``oph_log_info`` shows at most 10000),
so nothing is written to disk for it and a long-running ``ophsh serve`` does not grow. Each
line may name the container its task made a cube in, for ``log_type=container``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

__all__ = ["ActivityLog", "LogLine"]

LIMIT = 10000  # oph_log_info's largest nlines


@dataclass(frozen=True)
class LogLine:
    when: float  # seconds since the epoch
    level: str  # INFO, WARNING, ERROR
    message: str
    container: int | None = None  # the container the line is about, if any

    @property
    def timestamp(self) -> str:
        """The time as Ophidia's log writes it: ``Tue Dec  1 07:21:52 2026``, local time."""
        return time.ctime(self.when)


class ActivityLog:
    """The last :data:`LIMIT` lines, shared by the threads of one service."""

    def __init__(self, size: int = LIMIT) -> None:
        self._lines: deque[LogLine] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, level: str, message: str, container: int | None = None) -> None:
        with self._lock:
            self._lines.append(LogLine(time.time(), level, message, container))

    def last(self, count: int, *, container: int | None = None) -> list[LogLine]:
        """The last ``count`` lines, oldest first; only those about ``container`` if given."""
        with self._lock:
            lines = list(self._lines)
        if container is not None:
            lines = [line for line in lines if line.container == container]
        return lines[-count:] if count > 0 else []
