"""Users of ``ophsh serve``: names and salted scrypt hashes in the store's catalog."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import threading

from ophsh.engine.catalog import now
from ophsh.engine.store import Store
from ophsh.errors import NotFoundError, OphshError

__all__ = ["Users", "check_password", "hash_password"]

# scrypt cost: about 50 ms and 16 MiB per check; verified credentials are then remembered.
_N, _R, _P = 1 << 14, 8, 1
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


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


class Users:
    """Add, remove, list and authenticate users of a store."""

    def __init__(self, store: Store) -> None:
        self.catalog = store.catalog
        self._verified: dict[str, bytes] = {}  # user -> digest of the password last accepted
        self._lock = threading.Lock()

    def add(self, name: str, password: str) -> None:
        if not _NAME.match(name) or name == "__token__":
            raise OphshError(f"'{name}' is not a valid user name (letters, digits, _ . @ -)")
        if len(password) < 4:
            raise OphshError("the password must have at least 4 characters")
        with self.catalog.write() as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise OphshError(f"user '{name}' already exists")
            db.execute(
                "INSERT INTO users (name, pw_hash, created) VALUES (?, ?, ?)",
                (name, hash_password(password), now()),
            )

    def delete(self, name: str) -> None:
        with self.catalog.write() as db:
            if not db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount:
                raise NotFoundError(f"user '{name}' does not exist")
        with self._lock:
            self._verified.pop(name, None)

    def names(self) -> list[str]:
        return [r["name"] for r in self.catalog.query("SELECT name FROM users ORDER BY name")]

    def authenticate(self, name: str, password: str) -> bool:
        """True when ``password`` is the user's; a repeated check costs a dictionary lookup."""
        token = hashlib.sha256(f"{name}\0{password}".encode()).digest()
        with self._lock:
            if hmac.compare_digest(self._verified.get(name, b""), token):
                return self._exists(name)
        row = self.catalog.one("SELECT pw_hash FROM users WHERE name = ?", (name,))
        if row is None or not row["pw_hash"] or not check_password(password, row["pw_hash"]):
            return False
        with self._lock:
            self._verified[name] = token
        return True

    def _exists(self, name: str) -> bool:
        return self.catalog.one("SELECT 1 FROM users WHERE name = ?", (name,)) is not None
