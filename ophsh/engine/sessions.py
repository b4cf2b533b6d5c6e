"""Users' sessions, their stored state and their jobs, in Ophidia's forms.

A session id is ``<web server>/sessions/<code>/experiment``; a job id is
``<session id>?<workflow id>#<marker id>``. Each session has its own tree of virtual folders.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass

from ophsh.document import Document
from ophsh.engine.catalog import now
from ophsh.engine.store import Store
from ophsh.errors import NotFoundError

__all__ = ["Job", "Session", "Sessions", "UserState"]


@dataclass(frozen=True)
class Session:
    id: int
    code: str
    owner: str
    root: int
    cwd: str
    datacube: str
    label: str
    created: str
    last_access: str
    active: bool
    web_server: str

    @property
    def url(self) -> str:
        return f"{self.web_server}/sessions/{self.code}/experiment"

    def jobid(self, workflow: int, marker: int) -> str:
        return f"{self.url}?{workflow}#{marker}"


@dataclass(frozen=True)
class UserState:
    session: str  # session URL, "" when the user has none yet
    cdd: str
    exec_mode: str
    ncores: str


@dataclass(frozen=True)
class Job:
    session: int
    workflow: int
    marker: int
    command: str
    request: str
    response: str | None
    status: str
    created: str
    finished: str | None


class Sessions:
    """Session, user-state and job records of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.catalog = store.catalog

    # -- users ----------------------------------------------------------------------------
    def state(self, user: str) -> UserState:
        row = self.catalog.one("SELECT * FROM user_state WHERE user = ?", (user,))
        if row is None:
            return UserState("", "/", "sync", "1")
        return UserState(row["session"], row["cdd"], row["exec_mode"], row["ncores"])

    def save_state(self, user: str, **changes: str) -> None:
        current = self.state(user).__dict__ | changes
        with self.catalog.write() as db:
            db.execute(
                "INSERT INTO user_state (user, session, cdd, exec_mode, ncores) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (user) DO UPDATE SET "
                "session = excluded.session, cdd = excluded.cdd, "
                "exec_mode = excluded.exec_mode, ncores = excluded.ncores",
                (user, current["session"], current["cdd"], current["exec_mode"], current["ncores"]),
            )

    # -- sessions -------------------------------------------------------------------------
    def create(self, owner: str, label: str = "") -> Session:
        seed = f"{time.time_ns()}-{owner}-{os.getpid()}-{os.urandom(8).hex()}"
        code = str(int(hashlib.sha256(seed.encode()).hexdigest()[:28], 16))
        stamp = now()
        with self.catalog.write() as db:
            root = db.execute(
                "INSERT INTO folders (parent, name) VALUES (NULL, ?)", (code,)
            ).lastrowid
            db.execute(
                "INSERT INTO sessions (code, owner, label, created, last_access, root) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (code, owner, label, stamp, stamp, root),
            )
        session = self.by_code(code)
        self.save_state(owner, session=session.url)
        return session

    def by_code(self, code: str) -> Session:
        row = self.catalog.one("SELECT * FROM sessions WHERE code = ?", (code,))
        if row is None:
            raise NotFoundError(f"session {code} does not exist")
        return self._session(row)

    def by_url(self, url: str) -> Session | None:
        """The session named by a session id (a job id is accepted too); None if unknown."""
        url = url.split("?", 1)[0].rstrip("/")
        prefix = f"{self.store.web_server}/sessions/"
        if not url.startswith(prefix):
            return None
        code = url[len(prefix) :].split("/", 1)[0]
        row = self.catalog.one("SELECT * FROM sessions WHERE code = ?", (code,))
        return self._session(row) if row else None

    def of_user(self, owner: str) -> list[Session]:
        rows = self.catalog.query("SELECT * FROM sessions WHERE owner = ? ORDER BY id", (owner,))
        return [self._session(r) for r in rows]

    def last(self, owner: str) -> Session | None:
        url = self.state(owner).session
        session = self.by_url(url) if url else None
        if session is not None and session.owner == owner:
            return session
        return None

    def owner_of_folder(self, folder_id: int) -> str | None:
        """The user whose session tree holds the folder (None for a folder of no session)."""
        row = self.catalog.one(
            "WITH RECURSIVE up(id, parent) AS (SELECT id, parent FROM folders WHERE id = ? "
            "UNION ALL SELECT f.id, f.parent FROM folders f JOIN up ON f.id = up.parent) "
            "SELECT sessions.owner FROM up JOIN sessions ON sessions.root = up.id "
            "WHERE up.parent IS NULL",
            (folder_id,),
        )
        return row["owner"] if row else None

    def touch(self, session: Session, **changes: str) -> None:
        """Record an access, and the session's new cwd or datacube if given."""
        sets = ["last_access = ?"] + [f"{k} = ?" for k in changes]
        with self.catalog.write() as db:
            db.execute(
                f"UPDATE sessions SET {', '.join(sets)} WHERE id = ?",
                (now(), *changes.values(), session.id),
            )

    def _session(self, row) -> Session:
        return Session(
            id=row["id"],
            code=row["code"],
            owner=row["owner"],
            root=row["root"],
            cwd=row["cwd"],
            datacube=row["datacube"],
            label=row["label"],
            created=row["created"],
            last_access=row["last_access"],
            active=bool(row["active"]),
            web_server=self.store.web_server,
        )

    # -- jobs -----------------------------------------------------------------------------
    def new_job(self, session: Session, command: str, request: str, markers: int = 1) -> Job:
        """Reserve a workflow id and ``markers`` marker ids; the job starts PENDING."""
        with self.catalog.write() as db:
            row = db.execute(
                "SELECT next_workflow, next_marker FROM sessions WHERE id = ?", (session.id,)
            ).fetchone()
            workflow, marker = row["next_workflow"], row["next_marker"]
            db.execute(
                "UPDATE sessions SET next_workflow = ?, next_marker = ? WHERE id = ?",
                (workflow + 1, marker + markers, session.id),
            )
            db.execute(
                "INSERT INTO jobs (session, workflow, marker, command, request, status, created) "
                "VALUES (?, ?, ?, ?, ?, 'OPH_STATUS_PENDING', ?)",
                (session.id, workflow, marker, command, request, now()),
            )
        return self.job(session, workflow)

    def reserve_markers(self, session: Session, count: int) -> int:
        """Set ``count`` marker ids of the session aside (for the tasks of a massive
        operation); the first of them."""
        with self.catalog.write() as db:
            first = db.execute(
                "SELECT next_marker FROM sessions WHERE id = ?", (session.id,)
            ).fetchone()["next_marker"]
            db.execute(
                "UPDATE sessions SET next_marker = ? WHERE id = ?", (first + count, session.id)
            )
        return first

    def finish_job(self, job: Job, status: str, response: str | None) -> None:
        with self.catalog.write() as db:
            db.execute(
                "UPDATE jobs SET status = ?, response = ?, finished = ? "
                "WHERE session = ? AND workflow = ?",
                (status, response, now(), job.session, job.workflow),
            )

    def abort_unfinished(self, reason: str) -> int:
        """Mark every job still pending or running as aborted, with ``reason`` as its response
        (for a server starting after one that died): clients polling them see them end."""
        doc = Document()
        doc.add_text("workflow_status", "Workflow Status", "OPH_STATUS_ABORTED")
        doc.fail(reason)
        with self.catalog.write() as db:
            return db.execute(
                "UPDATE jobs SET status = 'OPH_STATUS_ABORTED', response = ?, finished = ? "
                "WHERE status IN ('OPH_STATUS_PENDING', 'OPH_STATUS_RUNNING')",
                (doc.to_json(), now()),
            ).rowcount

    def set_job_status(self, job: Job, status: str) -> None:
        with self.catalog.write() as db:
            db.execute(
                "UPDATE jobs SET status = ? WHERE session = ? AND workflow = ?",
                (status, job.session, job.workflow),
            )

    def job(self, session: Session, workflow: int) -> Job:
        row = self.catalog.one(
            "SELECT * FROM jobs WHERE session = ? AND workflow = ?", (session.id, workflow)
        )
        if row is None:
            raise NotFoundError(f"workflow {workflow} does not exist in this session")
        return Job(**dict(row))

    def jobs(self, session: Session) -> list[Job]:
        rows = self.catalog.query(
            "SELECT * FROM jobs WHERE session = ? ORDER BY workflow", (session.id,)
        )
        return [Job(**dict(r)) for r in rows]
