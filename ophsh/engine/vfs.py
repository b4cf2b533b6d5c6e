"""The virtual folder tree of a session: paths, folders, and the containers in them.

Paths are written as on a POSIX disk, ``/`` being the session's root; a path without a leading
``/`` is relative to the current folder (cwd). Folders are shown with a trailing ``/``.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from ophsh.engine.catalog import name_taken
from ophsh.engine.model import Container
from ophsh.engine.sessions import Session
from ophsh.engine.store import Store
from ophsh.errors import NotFoundError, OperatorError

__all__ = ["Folder", "Tree", "normalize"]


@dataclass(frozen=True)
class Folder:
    id: int
    path: str  # absolute, "/" for the root, no trailing slash otherwise


def normalize(cwd: str, path: str | None) -> str:
    """The absolute form of ``path`` seen from ``cwd``; '..' may not climb above the root."""
    path = (path or "").strip()
    joined = path if path.startswith("/") else posixpath.join(cwd or "/", path)
    parts: list[str] = []
    for part in joined.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise OperatorError(f"path '{path}' goes above the session root")
            parts.pop()
        else:
            parts.append(part)
    return "/" + "/".join(parts)


class Tree:
    """Folder operations inside one session."""

    def __init__(self, store: Store, session: Session) -> None:
        self.store = store
        self.catalog = store.catalog
        self.session = session

    @property
    def root(self) -> Folder:
        return Folder(self.session.root, "/")

    def folder(self, cwd: str, path: str | None = None) -> Folder:
        """The folder at ``path`` (relative to ``cwd``); an error if it does not exist."""
        found = self.find(cwd, path)
        if found is None:
            raise NotFoundError(f"folder '{normalize(cwd, path)}' does not exist")
        return found

    def find(self, cwd: str, path: str | None = None) -> Folder | None:
        """The folder at ``path`` (relative to ``cwd``), or None when there is none."""
        absolute = normalize(cwd, path)
        folder_id = self.session.root
        for name in [p for p in absolute.split("/") if p]:
            row = self.catalog.one(
                "SELECT id FROM folders WHERE parent = ? AND name = ?", (folder_id, name)
            )
            if row is None:
                return None
            folder_id = row["id"]
        return Folder(folder_id, absolute)

    def subfolders(self, folder: Folder) -> list[Folder]:
        rows = self.catalog.query(
            "SELECT id, name FROM folders WHERE parent = ? ORDER BY name", (folder.id,)
        )
        return [Folder(r["id"], posixpath.join(folder.path, r["name"])) for r in rows]

    def walk(self, folder: Folder, *, recursive: bool) -> list[Folder]:
        """``folder`` and, when recursive, every folder below it, depth first."""
        out = [folder]
        if recursive:
            for sub in self.subfolders(folder):
                out.extend(self.walk(sub, recursive=True))
        return out

    def path_of(self, folder_id: int) -> str:
        names = []
        while folder_id != self.session.root:
            row = self.catalog.one("SELECT parent, name FROM folders WHERE id = ?", (folder_id,))
            if row is None or row["parent"] is None:
                raise NotFoundError(f"folder {folder_id} is not in this session")
            names.append(row["name"])
            folder_id = row["parent"]
        return "/" + "/".join(reversed(names))

    def mkdir(self, cwd: str, path: str) -> Folder:
        absolute = normalize(cwd, path)
        parent_path, name = posixpath.split(absolute)
        if not name:
            raise OperatorError("the session root already exists")
        parent = self.folder("/", parent_path)
        with self.catalog.write() as db:
            if name_taken(db, parent.id, name):
                raise OperatorError(f"'{absolute}' already exists")
            folder_id = db.execute(
                "INSERT INTO folders (parent, name) VALUES (?, ?)", (parent.id, name)
            ).lastrowid
        return Folder(folder_id, absolute)

    def rmdir(self, cwd: str, path: str) -> Folder:
        folder = self.folder(cwd, path)
        if folder.id == self.session.root:
            raise OperatorError("the session root cannot be removed")
        if normalize("/", cwd) == folder.path or normalize("/", cwd).startswith(folder.path + "/"):
            raise OperatorError(f"'{folder.path}' is the current folder or contains it")
        with self.catalog.write() as db:
            busy = db.execute(
                "SELECT 1 FROM folders WHERE parent = ? UNION SELECT 1 FROM containers "
                "WHERE folder = ?",
                (folder.id, folder.id),
            ).fetchone()
            if busy:
                raise OperatorError(f"folder '{folder.path}' is not empty")
            db.execute("DELETE FROM folders WHERE id = ?", (folder.id,))
        return folder

    def move(self, cwd: str, source: str, target: str) -> Folder:
        """Move or rename a folder; ``target`` may be an existing folder to move into."""
        folder = self.folder(cwd, source)
        if folder.id == self.session.root:
            raise OperatorError("the session root cannot be moved")
        destination = normalize(cwd, target)
        into = self.find("/", destination)
        if into is not None:
            destination = posixpath.join(into.path, posixpath.basename(folder.path))
        if destination == folder.path or destination.startswith(folder.path + "/"):
            raise OperatorError(f"cannot move '{folder.path}' into itself")
        parent_path, name = posixpath.split(destination)
        parent = self.folder("/", parent_path)
        with self.catalog.write() as db:
            if name_taken(db, parent.id, name):
                raise OperatorError(f"'{destination}' already exists")
            db.execute(
                "UPDATE folders SET parent = ?, name = ? WHERE id = ?", (parent.id, name, folder.id)
            )
        return Folder(folder.id, destination)

    def container(self, cwd: str, name: str) -> Container:
        """The container called ``name`` (a bare name in cwd, or a path to it)."""
        folder_path, base = posixpath.split(name.strip())
        folder = self.folder(cwd, folder_path or None)
        found = self.store.containers.named(folder.id, base)
        if found is None:
            where = folder.path
            raise NotFoundError(f"container '{base}' does not exist in {where}")
        return found
