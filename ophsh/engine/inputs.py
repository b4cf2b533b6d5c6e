"""Tasks waiting for oph_input: an ``oph_wait type=input`` of a running workflow registers here,
and oph_input hands it an answer (continue, abort or wait, with variables to set)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["ACTIONS", "Answer", "Inputs", "variables"]

ACTIONS = ("continue", "abort", "wait")


@dataclass(frozen=True)
class Answer:
    """What oph_input says to a waiting task: its action and the variables to set."""

    action: str
    variables: tuple[tuple[str, str], ...] = ()


def variables(keys: str, values: str) -> tuple[tuple[str, str], ...]:
    """The variables ``key=a|b;value=1|2`` sets; a missing value repeats the last one."""
    names = [k for k in keys.split("|") if k not in ("", "-")]
    given = values.split("|")
    return tuple((name, given[min(i, len(given) - 1)]) for i, name in enumerate(names))


Key = tuple[str, int, str]  # session code, workflow id, task name


class Inputs:
    """The tasks now waiting for input, each with the inbox its answers arrive in."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[Key, queue.Queue[Answer]] = {}

    @contextmanager
    def waiting(self, session: str, workflow: int, task: str) -> Iterator[queue.Queue[Answer]]:
        """Register a task as waiting while the block runs; its answers come in the queue."""
        key, inbox = (session, workflow, task), queue.Queue()
        with self._lock:
            self._waiting[key] = inbox
        try:
            yield inbox
        finally:
            with self._lock:
                self._waiting.pop(key, None)

    def give(self, session: str, workflow: int, task: str, answer: Answer) -> bool:
        """Hand ``answer`` to the task; False when no such task is waiting."""
        with self._lock:
            inbox = self._waiting.get((session, workflow, task))
        if inbox is None:
            return False
        inbox.put(answer)
        return True
