"""The catalog: an SQLite database of users, sessions, jobs, folders, containers, cubes,
dimensions, recipes (of virtual cubes, see :mod:`ophsh.engine.recipes`) and metadata.

One connection per thread, WAL journaling so readers never wait for a writer, and
``BEGIN IMMEDIATE`` for every write so concurrent writers (threads of ``ophsh serve``, or two
shells on one store) queue instead of failing. Array files are published inside the write
transaction (see :mod:`ophsh.engine.arrays`), which is what makes a cube appear whole or not at all.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from ophsh.errors import StoreError, StoreFull

__all__ = ["SCHEMA_VERSION", "TIME_COLUMNS", "Catalog", "migrate", "name_taken", "now"]

SCHEMA_VERSION = "3"

# The time facts of a dimension (Ophidia's oph_time hierarchy), kept per container dimension.
TIME_COLUMNS = ("base_time", "units", "calendar", "month_lengths", "leap_year", "leap_month")

# What turns a store of one schema version into the next.
_MIGRATIONS = {
    "1": [
        f"ALTER TABLE container_dims ADD COLUMN {column} TEXT NOT NULL DEFAULT ''"
        for column in TIME_COLUMNS
    ],
    "2": [],  # the recipe tables of virtual cubes (created by _SCHEMA, IF NOT EXISTS)
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, pw_hash TEXT, is_admin INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS user_state (
    user TEXT PRIMARY KEY, session TEXT NOT NULL DEFAULT '', cdd TEXT NOT NULL DEFAULT '/',
    exec_mode TEXT NOT NULL DEFAULT 'sync', ncores TEXT NOT NULL DEFAULT '1');
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, code TEXT NOT NULL UNIQUE, owner TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '', created TEXT NOT NULL, last_access TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1, root INTEGER NOT NULL, cwd TEXT NOT NULL DEFAULT '/',
    datacube TEXT NOT NULL DEFAULT '', next_workflow INTEGER NOT NULL DEFAULT 1,
    next_marker INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS jobs (
    session INTEGER NOT NULL, workflow INTEGER NOT NULL, marker INTEGER NOT NULL,
    command TEXT NOT NULL, request TEXT NOT NULL, response TEXT, status TEXT NOT NULL,
    created TEXT NOT NULL, finished TEXT, PRIMARY KEY (session, workflow));
CREATE TABLE IF NOT EXISTS folders (
    id INTEGER PRIMARY KEY AUTOINCREMENT, parent INTEGER REFERENCES folders(id),
    name TEXT NOT NULL, UNIQUE (parent, name));
CREATE TABLE IF NOT EXISTS containers (
    id INTEGER PRIMARY KEY AUTOINCREMENT, folder INTEGER NOT NULL REFERENCES folders(id),
    name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '', vocabulary TEXT NOT NULL DEFAULT 'CF',
    created TEXT NOT NULL, UNIQUE (folder, name));
CREATE TABLE IF NOT EXISTS container_dims (
    container INTEGER NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    pos INTEGER NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL, hierarchy TEXT NOT NULL,
    base_time TEXT NOT NULL DEFAULT '', units TEXT NOT NULL DEFAULT '',
    calendar TEXT NOT NULL DEFAULT '', month_lengths TEXT NOT NULL DEFAULT '',
    leap_year TEXT NOT NULL DEFAULT '', leap_month TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (container, name));
CREATE TABLE IF NOT EXISTS cubes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, container INTEGER NOT NULL REFERENCES containers(id),
    measure TEXT NOT NULL, measure_type TEXT NOT NULL, level INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL, data_file TEXT NOT NULL, storage TEXT NOT NULL,
    provenance TEXT NOT NULL DEFAULT '', owner TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS cube_dims (
    cube INTEGER NOT NULL REFERENCES cubes(id) ON DELETE CASCADE, pos INTEGER NOT NULL,
    name TEXT NOT NULL, type TEXT NOT NULL, size INTEGER NOT NULL, explicit INTEGER NOT NULL,
    level INTEGER NOT NULL, hierarchy TEXT NOT NULL, concept_level TEXT NOT NULL,
    collapsed INTEGER NOT NULL DEFAULT 0, vals BLOB, PRIMARY KEY (cube, pos));
CREATE TABLE IF NOT EXISTS cube_parents (
    cube INTEGER NOT NULL REFERENCES cubes(id) ON DELETE CASCADE, parent INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS recipes (
    cube INTEGER PRIMARY KEY REFERENCES cubes(id) ON DELETE CASCADE,
    operation TEXT NOT NULL, params TEXT NOT NULL, depth INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS recipe_inputs (
    cube INTEGER NOT NULL REFERENCES recipes(cube) ON DELETE CASCADE, pos INTEGER NOT NULL,
    input INTEGER NOT NULL REFERENCES cubes(id) DEFERRABLE INITIALLY DEFERRED,
    PRIMARY KEY (cube, pos));
CREATE INDEX IF NOT EXISTS recipe_inputs_input ON recipe_inputs (input);
CREATE TABLE IF NOT EXISTS metadata (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cube INTEGER NOT NULL REFERENCES cubes(id) ON DELETE CASCADE,
    variable TEXT NOT NULL DEFAULT '', key TEXT NOT NULL, type TEXT NOT NULL,
    value TEXT NOT NULL, comment TEXT NOT NULL DEFAULT '', modified TEXT NOT NULL,
    user TEXT NOT NULL DEFAULT '', vocabulary TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS metadata_cube ON metadata (cube);
CREATE INDEX IF NOT EXISTS metadata_key ON metadata (key, value);
CREATE INDEX IF NOT EXISTS cubes_container ON cubes (container);
CREATE INDEX IF NOT EXISTS containers_folder ON containers (folder);
"""


def now() -> str:
    """The current local time as Ophidia prints it: ``YYYY-MM-DD HH:MM:SS``."""
    return datetime.now().strftime("%Y-%m-%d %H:%M:%S")


@contextmanager
def _translated(path: Path) -> Iterator[None]:
    """SQLite's complaints about the disk or the file, as errors a user can act on."""
    try:
        yield
    except sqlite3.OperationalError as err:
        if "full" in str(err):
            raise StoreFull(
                f"the disk holding the store is full ({err})",
                hint="free space, e.g. delete cubes with oph_delete",
            ) from err
        raise
    except sqlite3.IntegrityError as err:
        if "FOREIGN KEY" not in str(err):
            raise
        raise StoreError(
            "a virtual cube is still computed from a cube being deleted; nothing was deleted",
            hint="try again: the cubes computed from it are written first",
        ) from err
    except sqlite3.DatabaseError as err:  # "file is not a database", "malformed"...
        raise StoreError(
            f"the store's catalog ({path.name}) is damaged: {err}",
            hint="restore it from a backup, or start a new store with --store",
        ) from err


def migrate(db: sqlite3.Connection, version: str) -> bool:
    """Bring a store made with schema ``version`` up to SCHEMA_VERSION inside the write
    transaction ``db``; False when the version is unknown (a newer ophsh made the store)."""
    while version != SCHEMA_VERSION:
        steps = _MIGRATIONS.get(version)
        if steps is None:
            return False
        for statement in steps:
            db.execute(statement)
        version = str(int(version) + 1)
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (SCHEMA_VERSION,))
    return True


def name_taken(
    db: sqlite3.Connection, folder: int, name: str, *, container: int | None = None
) -> bool:
    """True when ``folder`` already holds a folder or container called ``name`` (a container
    being renamed, ``container``, does not count)."""
    row = db.execute(
        "SELECT 1 FROM containers WHERE folder = ? AND name = ? AND id IS NOT ? "
        "UNION SELECT 1 FROM folders WHERE parent = ? AND name = ?",
        (folder, name, container, folder, name),
    ).fetchone()
    return row is not None


class Catalog:
    """Thread-safe access to the catalog database at ``path``."""

    def __init__(self, path: Path, *, timeout: float = 60.0) -> None:
        self.path = path
        self._timeout = timeout
        self._local = threading.local()
        # executescript commits on its own, so the schema is created outside a transaction.
        with _translated(path):
            self._connection().executescript(_SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed on success, rolled back on any exception.

        A full disk raises :class:`StoreFull`, a damaged database :class:`StoreError`; both
        leave the catalog as it was.
        """
        conn = self._connection()
        if conn.in_transaction:  # nested use joins the outer transaction
            yield conn
            return
        with _translated(self.path):
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several reads."""
        conn = self._connection()
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def query(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with _translated(self.path):
            return self._connection().execute(sql, args).fetchall()

    def one(self, sql: str, args: tuple = ()) -> sqlite3.Row | None:
        with _translated(self.path):
            return self._connection().execute(sql, args).fetchone()

    def get_meta(self, key: str) -> str | None:
        row = self.one("SELECT value FROM meta WHERE key = ?", (key,))
        return row["value"] if row else None

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
