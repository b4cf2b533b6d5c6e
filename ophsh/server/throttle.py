"""Growing waits after failed logins, per user name and per client address.

After ``free`` failures in a row a key (a name or an address) is refused without any check for
a wait that doubles with every further failure, up to ``longest`` seconds; a success clears the
name's count (never the address's, so one good account cannot hide guesses at others), and a
key is forgotten ``memory`` seconds after its last failure.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

__all__ = ["Throttle"]

log = logging.getLogger(__name__)

_MOST_KEYS = 10_000  # a flood of made-up names cannot grow the table beyond this


@dataclass
class _Failures:
    count: int
    last: float


class Throttle:
    """Failed-login bookkeeping; thread-safe."""

    def __init__(
        self,
        *,
        free_per_name: int = 3,
        free_per_address: int = 10,
        first_wait: float = 2.0,
        longest: float = 60.0,
        memory: float = 900.0,
    ) -> None:
        self.free = {"name": free_per_name, "address": free_per_address}
        self.first_wait, self.longest, self.memory = first_wait, longest, memory
        self._failures: dict[tuple[str, str], _Failures] = {}
        self._lock = threading.Lock()

    def _wait(self, kind: str, failures: _Failures) -> float:
        over = failures.count - self.free[kind]
        return 0.0 if over < 0 else min(self.longest, self.first_wait * 2.0**over)

    def remaining(self, name: str | None, address: str) -> float:
        """Seconds before a login for ``name`` from ``address`` may be checked again (0: now)."""
        now = time.monotonic()
        keys = [("address", address)] + ([("name", name)] if name else [])
        with self._lock:
            waits = [
                failures.last + self._wait(kind, failures) - now
                for kind, value in keys
                if (failures := self._failures.get((kind, value))) is not None
            ]
        return max([0.0, *waits])

    def failed(self, name: str | None, address: str) -> None:
        now = time.monotonic()
        keys = [("address", address)] + ([("name", name)] if name else [])
        with self._lock:
            self._forget(now)
            counts = []
            for key in keys:
                failures = self._failures.get(key)
                if failures is None or now - failures.last > self.memory:
                    failures = self._failures[key] = _Failures(0, now)
                failures.count += 1
                failures.last = now
                counts.append(self._wait(key[0], failures))
        log.warning(
            "failed login for %r from %s; next check of this name or address in %.0f s",
            name or "",
            address,
            max(counts),
        )

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(("name", name), None)

    def _forget(self, now: float) -> None:
        if len(self._failures) < _MOST_KEYS:
            return
        for key, failures in list(self._failures.items()):
            if now - failures.last > self.memory:
                del self._failures[key]
        if len(self._failures) >= _MOST_KEYS:  # still full: the oldest half goes
            oldest = sorted(self._failures, key=lambda k: self._failures[k].last)
            for key in oldest[: len(oldest) // 2]:
                del self._failures[key]
