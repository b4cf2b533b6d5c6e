"""RemoteBackend: every request goes to an Ophidia server through PyOphidia's submit call.

The shell builds the same one-task JSON workflow it hands the embedded store; PyOphidia wraps
it in SOAP, posts it over HTTPS with Basic authentication and unwraps the answer. What comes
back (error code, job id, response document) becomes the same :class:`~ophsh.backend.Reply`,
so rendering, scripts and variables behave identically on both backends.
"""

from __future__ import annotations

import contextlib
import getpass
import io
import json
import os
import socket
import sys
import threading
from argparse import Namespace
from typing import Any

from ophsh.backend import Entry, ProgressCallback, Reply, StartState
from ophsh.document import Document
from ophsh.errors import BackendError
from ophsh.request import Context, TaskRequest, to_workflow

__all__ = ["RemoteBackend"]

DEFAULT_PORT = "11732"
DEFAULT_TIMEOUT = 3600.0  # seconds to wait for an answer, as oph_term's OPH_TIMEOUT
TOKEN_USER = "__token__"  # PyOphidia's convention: a token goes in the password field


class RemoteBackend:
    """A connection to one Ophidia server as one user."""

    def __init__(
        self, host: str, port: str, user: str, password: str, *, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        try:
            from PyOphidia import ophsubmit
        except ImportError as err:  # pragma: no cover - PyOphidia is a dependency
            raise BackendError("remote mode needs PyOphidia: pip install PyOphidia") from err
        self._submit_raw = ophsubmit.submit
        self.host, self.port, self.user, self._password = host, port, user, password
        self.label = f"{user}@{host}:{port}"
        self.timeout = timeout
        self._lock = threading.Lock()

    @classmethod
    def from_options(cls, options: Namespace) -> RemoteBackend:
        """Host, port and credentials from the command line, else OPH_* variables; a password
        still missing is asked for on the terminal without echo."""
        env = os.environ
        host = options.hostname or env.get("OPH_SERVER_HOST")
        port = str(options.port or env.get("OPH_SERVER_PORT") or DEFAULT_PORT)
        token = options.token or env.get("OPH_TOKEN")
        user = options.username or env.get("OPH_USER")
        password = options.password or env.get("OPH_PASSWD")
        if not user and token:
            user, password = TOKEN_USER, token
        if not host:
            raise BackendError("no server given", hint="use -H HOST or set OPH_SERVER_HOST")
        if not user:
            raise BackendError("no user name given", hint="use -u USER or set OPH_USER")
        if not password:
            if not sys.stdin.isatty():
                raise BackendError("no password given", hint="use -p, OPH_PASSWD or OPH_TOKEN")
            password = getpass.getpass(f"Password for {user}@{host}: ")
        try:
            timeout = float(env.get("OPH_TIMEOUT") or DEFAULT_TIMEOUT)
        except ValueError:
            raise BackendError("OPH_TIMEOUT must be a number of seconds") from None
        return cls(host, port, user, password, timeout=timeout)

    # -- the Backend interface -------------------------------------------------------------
    def start(self) -> StartState:
        """Ask the server for the user's last session, cwd, cdd and cube (oph_get_config)."""
        reply = self._send(
            {
                "name": "oph_get_config",
                "author": self.user,
                "tasks": [
                    {"name": "Task 0", "operator": "oph_get_config", "arguments": ["key=all"]}
                ],
                "exec_mode": "sync",
                "sessionid": "null",
            }
        )
        if not reply.ok or reply.document is None:
            raise BackendError(f"{self.label} refused to start a session: {reply.failure}")
        grid = reply.document.grid("get_config")
        config = {row[0]: row[1] for row in grid.rows} if grid else {}
        return StartState(
            session=config.get("OPH_SESSION_ID", ""),
            cwd=config.get("OPH_CWD") or "/",
            cdd=config.get("OPH_CDD") or "/",
            datacube=config.get("OPH_DATACUBE", ""),
        )

    def submit(self, request: TaskRequest, *, progress: ProgressCallback | None = None) -> Reply:
        workflow = to_workflow(request, self.user)
        workflow.setdefault("exec_mode", "sync")
        return self._send(workflow)

    def submit_workflow(self, workflow: dict[str, Any]) -> Reply:
        return self._send(workflow)

    # -- what exists, asked of the server with its own operators ---------------------------
    def cubes(self, where: Context) -> list[Entry]:
        grid = self._grid("oph_list", where, "list", level="2", recursive="yes", path="/")
        return [Entry(row[2], row[3]) for row in grid if len(row) > 3 and row[2]]

    def containers(self, where: Context) -> list[Entry]:
        grid = self._grid("oph_list", where, "list", level="1")
        return [Entry(row[1], "container") for row in grid if row[0] == "c"]

    def folders(self, where: Context) -> list[Entry]:
        grid = self._grid("oph_list", where, "list", level="0")
        return [Entry(row[1].rstrip("/"), "folder", True) for row in grid if row[0] == "f"]

    def files(self, where: Context, directory: str) -> list[Entry]:
        grid = self._grid("oph_fs", where, "fs", command="ls", dpath=directory or "")
        return [Entry(row[1], "folder" if row[0] == "d" else "file", row[0] == "d") for row in grid]

    def _grid(self, operator: str, where: Context, objkey: str, **args: str) -> list[tuple]:
        """The rows of one grid of a small synchronous request run where the user is."""
        request = TaskRequest(operator, tuple((k, v) for k, v in args.items() if v))
        request = where.apply(request.with_arg("exec_mode", "sync"), None)
        reply = self._send(to_workflow(request, self.user))
        grid = reply.document.grid(objkey) if reply.ok and reply.document else None
        return list(grid.rows) if grid else []

    def interrupt(self) -> None:
        """Nothing to stop locally: the server keeps running the job (use kill JOBID)."""

    def close(self) -> None:
        """Nothing to release: every request is its own HTTPS connection."""

    # -- transport ---------------------------------------------------------------------------
    def _send(self, workflow: dict) -> Reply:
        chatter = io.StringIO()  # PyOphidia prints its connection errors; we report them once
        with self._lock, contextlib.redirect_stdout(chatter):
            # PyOphidia opens its connections with the default timeout: set it for this call
            previous = socket.getdefaulttimeout()
            socket.setdefaulttimeout(self.timeout)
            try:
                response, jobid, session, code, error = self._submit_raw(
                    self.user, self._password, self.host, self.port, json.dumps(workflow)
                )
            finally:
                socket.setdefaulttimeout(previous)
        if code == 1 and isinstance(error, TimeoutError):
            raise BackendError(
                f"{self.host}:{self.port} gave no answer within {self.timeout:g} s",
                hint="OPH_TIMEOUT sets how long to wait",
            )
        if code:
            reason = str(error or chatter.getvalue().strip() or "no answer")
            if code == 5 or "unauthorized" in reason.lower():
                raise BackendError(
                    f"{self.host}:{self.port} refused the credentials of {self.user}",
                    hint="check -u/-p (OPH_USER/OPH_PASSWD) or the token",
                )
            if code == 1 and response is None:
                raise BackendError(
                    f"cannot reach the Ophidia server at {self.host}:{self.port}: {reason}",
                    hint="check -H/-P (OPH_SERVER_HOST/OPH_SERVER_PORT) and that it is running",
                )
            return Reply(error=code, jobid=jobid, message=reason)
        document = None
        if response:
            try:
                document = Document.from_json(response)
            except (ValueError, KeyError, TypeError) as err:
                raise BackendError(
                    f"{self.label} answered something that is not a reply: {err}"
                ) from None
        # PyOphidia hands a job id without '?' (oph_manage_session action=new) back as a session
        return Reply(jobid=jobid or session or None, document=document)
