"""The embedded backend: the store in a directory on this machine, no server needed."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Any

from ophsh.backend import Entry, ProgressCallback, Reply, StartState
from ophsh.engine.context import CancelFlag
from ophsh.engine.service import Service, WorkflowRunner
from ophsh.engine.sessions import Session
from ophsh.engine.settings import Settings
from ophsh.engine.store import Store
from ophsh.engine.vfs import Tree
from ophsh.errors import OphshError
from ophsh.request import Context, TaskRequest

__all__ = ["EmbeddedBackend"]


class EmbeddedBackend:
    """Runs operators on a store directory, as the user running the shell."""

    def __init__(
        self,
        store_dir: Path | str,
        *,
        user: str | None = None,
        workflows: WorkflowRunner | None = None,
        settings: Settings | None = None,
        base_path: Path | str = "/",
    ) -> None:
        settings = settings or Settings()
        self.store = Store.open(store_dir, fsync=settings.fsync, web_server=settings.web_server)
        self.user = user or _local_user()
        self.service = Service(
            self.store, base_path=base_path, workflows=workflows, settings=settings
        )
        self.label = "embedded"
        self._cancel = CancelFlag()

    def start(self) -> StartState:
        """Resume the user's last session (a new one the first time); cdd is the launch dir.

        When the launch dir is outside the base path, cdd is the base (``/``).
        """
        sessions = self.service.sessions
        session = sessions.last(self.user) or sessions.create(self.user)
        paths = self.service.paths
        here = Path(os.getcwd()).resolve()
        cdd = paths.to_virtual(here) if here == paths.base or paths.base in here.parents else "/"
        return StartState(session=session.url, cwd=session.cwd, cdd=cdd, datacube=session.datacube)

    def submit(self, request: TaskRequest, *, progress: ProgressCallback | None = None) -> Reply:
        self._cancel.clear()
        return self.service.submit(self.user, request, progress=progress, cancel=self._cancel)

    def submit_workflow(self, workflow: dict[str, Any]) -> Reply:
        self._cancel.clear()
        return self.service.execute(self.user, workflow, cancel=self._cancel)

    def interrupt(self) -> None:
        self._cancel.set()

    def close(self) -> None:
        self.service.close()
        self.store.close()

    # -- what exists, straight from the catalog (no job is recorded for a look) -------------
    def cubes(self, where: Context) -> list[Entry]:
        tree = self._tree(where)
        if tree is None:
            return []
        folders = [f.id for f in tree.walk(tree.root, recursive=True)]
        return [
            Entry(c.pid, c.description or f"{c.container_name}, level {c.level}")
            for c in self.store.cubes_in(folders)
        ]

    def containers(self, where: Context) -> list[Entry]:
        tree = self._tree(where)
        if tree is None:
            return []
        folder = tree.folder(where.cwd or "/")
        return [Entry(c.name, c.description) for c in self.store.containers.in_folder(folder.id)]

    def folders(self, where: Context) -> list[Entry]:
        tree = self._tree(where)
        if tree is None:
            return []
        folder = tree.folder(where.cwd or "/")
        return [
            Entry(sub.path.rsplit("/", 1)[-1], "folder", True) for sub in tree.subfolders(folder)
        ]

    def files(self, where: Context, directory: str) -> list[Entry]:
        try:
            real = self.service.paths.real(where.cdd or "/", directory or None)
            entries = sorted(os.scandir(real), key=lambda e: e.name)
        except (OSError, OphshError):
            return []
        return [
            Entry(e.name, "folder" if e.is_dir() else "file", e.is_dir())
            for e in entries
            if not e.name.startswith(".")
        ]

    def _tree(self, where: Context) -> Tree | None:
        session: Session | None = self.service.sessions.by_url(where.sessionid or "")
        if session is None or session.owner != self.user:
            return None
        return Tree(self.store, session)


def _local_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment (some containers)
        return "oph-user"
