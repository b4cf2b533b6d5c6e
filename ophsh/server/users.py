"""Users of ``ophsh serve``: names and salted scrypt hashes, and tokens, in the store's catalog.

A password check costs the same whether the name exists or not (an unknown name is checked
against a dummy hash), so answers do not tell which names exist; checks run a few at a time,
since each takes 16 MiB; failed logins are throttled (:mod:`ophsh.server.throttle`). A token
(Ophidia's user ``__token__`` with the token as password) is stored only as its SHA-256: it is
random and long, so a slow hash would protect nothing.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import os
import re
import secrets
import threading

from ophsh.engine.catalog import now
from ophsh.engine.store import Store
from ophsh.errors import NotFoundError, OphshError
from ophsh.server.throttle import Throttle

__all__ = ["TOKEN_USER", "Refused", "Users", "check_password", "hash_password"]

log = logging.getLogger(__name__)

# scrypt cost: about 50 ms and 16 MiB per check; verified credentials are then remembered.
_N, _R, _P = 1 << 14, 8, 1
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
TOKEN_USER = "__token__"
_TOKENS = """CREATE TABLE IF NOT EXISTS tokens (
    digest TEXT PRIMARY KEY, user TEXT NOT NULL, created TEXT NOT NULL)"""


class Refused(Exception):
    """A login refused before any check, because of earlier failures; says for how long."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"too many failed logins; retry in {wait:.0f} s")
        self.wait = wait


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P)
    fields = [str(_N), str(_R), str(_P), base64.b64encode(salt).decode()]
    return "$".join(["scrypt", *fields, base64.b64encode(digest).decode()])


def check_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    expected = base64.b64decode(digest)
    actual = hashlib.scrypt(
        password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p)
    )
    return hmac.compare_digest(actual, expected)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Users:
    """Add, remove, list and authenticate users of a store; issue their tokens."""

    def __init__(self, store: Store, *, checks_at_once: int = 2) -> None:
        self.catalog = store.catalog
        with self.catalog.write() as db:
            db.execute(_TOKENS)
        self.throttle = Throttle()
        self.checks = 0  # password checks run so far (scrypt), shown in the log
        self._running = 0
        self._slots = threading.BoundedSemaphore(checks_at_once)
        self._verified: dict[str, bytes] = {}  # user -> digest of the password last accepted
        self._lock = threading.Lock()

    @functools.cached_property
    def _dummy(self) -> str:
        """The hash an unknown name's password is checked against, made on first need."""
        return hash_password(secrets.token_hex(16))

    def add(self, name: str, password: str, *, admin: bool = False) -> None:
        if not _NAME.match(name) or name == TOKEN_USER:
            raise OphshError(f"'{name}' is not a valid user name (letters, digits, _ . @ -)")
        if len(password) < 4:
            raise OphshError("the password must have at least 4 characters")
        with self.catalog.write() as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise OphshError(f"user '{name}' already exists")
            db.execute(
                "INSERT INTO users (name, pw_hash, is_admin, created) VALUES (?, ?, ?, ?)",
                (name, hash_password(password), int(admin), now()),
            )

    def delete(self, name: str) -> None:
        with self.catalog.write() as db:
            if not db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount:
                raise NotFoundError(f"user '{name}' does not exist")
            db.execute("DELETE FROM tokens WHERE user = ?", (name,))
        with self._lock:
            self._verified.pop(name, None)

    def names(self) -> list[str]:
        return [r["name"] for r in self.catalog.query("SELECT name FROM users ORDER BY name")]

    def issue_token(self, name: str) -> str:
        """A new token for ``name``; only its digest is kept, so it is shown once."""
        token = secrets.token_urlsafe(32)
        with self.catalog.write() as db:
            if not db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise NotFoundError(f"user '{name}' does not exist")
            db.execute(
                "INSERT INTO tokens (digest, user, created) VALUES (?, ?, ?)",
                (_token_digest(token), name, now()),
            )
        return token

    def revoke_tokens(self, name: str) -> int:
        with self.catalog.write() as db:
            return db.execute("DELETE FROM tokens WHERE user = ?", (name,)).rowcount

    def authenticate(self, name: str, password: str, address: str) -> str | None:
        """The user these credentials belong to, or None; raises :class:`Refused` while
        earlier failures for the name or the address make it wait."""
        throttled = None if name == TOKEN_USER else name[:64]  # longer names cannot exist
        wait = self.throttle.remaining(throttled, address)
        if wait > 0:
            log.warning("login for %r from %s refused for %.0f s more", name, address, wait)
            raise Refused(wait)
        user = self._token_owner(password) if name == TOKEN_USER else self._check(name, password)
        if user is None:
            self.throttle.failed(throttled, address)
        else:
            self.throttle.succeeded(user)
        return user

    def _token_owner(self, token: str) -> str | None:
        row = self.catalog.one(
            "SELECT tokens.user FROM tokens JOIN users ON users.name = tokens.user "
            "WHERE digest = ?",
            (_token_digest(token),),
        )
        return row["user"] if row else None

    def _check(self, name: str, password: str) -> str | None:
        """The name when ``password`` is its user's; a repeated check costs a lookup."""
        remembered = hashlib.sha256(f"{name}\0{password}".encode()).digest()
        with self._lock:
            if hmac.compare_digest(self._verified.get(name, b""), remembered):
                return name if self._exists(name) else None
        row = self.catalog.one("SELECT pw_hash FROM users WHERE name = ?", (name,))
        known = row is not None and bool(row["pw_hash"])
        with self._slots:  # unknown names cost a check too, against the dummy hash
            with self._lock:
                self.checks += 1
                self._running += 1
                number, running = self.checks, self._running
            try:
                right = check_password(password, row["pw_hash"] if known else self._dummy)
            finally:
                with self._lock:
                    self._running -= 1
        kind = "known name" if known else "dummy"
        log.info("password check %d (%d at once) for %r: %s", number, running, name, kind)
        if not (known and right):
            return None
        with self._lock:
            self._verified[name] = remembered
        return name

    def is_admin(self, name: str) -> bool:
        """Whether ``name`` may run the administrators' operators (oph_log_info)."""
        row = self.catalog.one("SELECT is_admin FROM users WHERE name = ?", (name,))
        return bool(row and row["is_admin"])

    def _exists(self, name: str) -> bool:
        return self.catalog.one("SELECT 1 FROM users WHERE name = ?", (name,)) is not None
