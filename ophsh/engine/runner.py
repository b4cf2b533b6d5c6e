"""Jobs of a service: run now (sync) or on a pool (async), where oph_cancel can reach them.

A synchronous job stops when its caller raises the cancel flag (Ctrl-C) or when it outlives the
service's time limit; an asynchronous one gets a flag of its own. Each running job's flag is kept
by (session, workflow id) so that oph_cancel can find it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from ophsh.backend import Reply
from ophsh.document import Document
from ophsh.engine.context import CancelFlag
from ophsh.engine.sessions import Job, Session

__all__ = ["JobRunner"]

JobBody = Callable[[CancelFlag], Document]


class JobRunner:
    """Runs the jobs of one service and remembers the flags of those still running."""

    def __init__(self, *, workers: int = 4, sync_limit: float | None = None) -> None:
        self.sync_limit = sync_limit
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ophsh-job")
        self._running: dict[str, Future] = {}
        self._flags: dict[tuple[str, int], CancelFlag] = {}
        self._lock = threading.Lock()

    def launch(
        self, mode: str, session: Session, job: Job, body: JobBody, cancel: CancelFlag | None
    ) -> Reply:
        """Run ``body`` as ``job``: to the end when ``mode`` is sync, else in the background."""
        jobid = session.jobid(job.workflow, job.marker)
        key = (session.url, job.workflow)
        flag = CancelFlag() if mode == "async" or cancel is None else cancel
        with self._lock:
            self._flags[key] = flag
        if mode == "async":
            with self._lock:
                self._running[jobid] = self._pool.submit(self._in_pool, key, body, flag)
            return Reply(jobid=jobid)
        timer = None
        if self.sync_limit is not None:
            reason = (
                f"stopped after {self.sync_limit:g} s, the longest a synchronous request may "
                "run here; submit long work with exec_mode=async"
            )
            timer = threading.Timer(self.sync_limit, flag.raise_for, (reason,))
            timer.daemon = True
            timer.start()
        try:
            return Reply(jobid=jobid, document=body(flag))
        finally:
            if timer is not None:
                timer.cancel()
            self._forget(key)

    def flags_of(self, session: Session) -> dict[int, CancelFlag]:
        """The cancel flags of the session's running workflows, by workflow id."""
        with self._lock:
            return {wid: flag for (url, wid), flag in self._flags.items() if url == session.url}

    def _in_pool(self, key: tuple[str, int], body: JobBody, flag: CancelFlag) -> Document:
        try:
            return body(flag)
        finally:
            self._forget(key)

    def _forget(self, key: tuple[str, int]) -> None:
        with self._lock:
            self._flags.pop(key, None)

    def wait(self) -> None:
        """Block until every asynchronous job has finished."""
        with self._lock:
            futures = list(self._running.values())
        for future in futures:
            future.result()

    def close(self) -> None:
        self.wait()
        self._pool.shutdown(wait=True)
