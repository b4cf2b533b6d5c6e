"""The error hierarchy of ophsh.

Every error a user can cause derives from :class:`OphshError` and carries a one-line message and
an exit code. They become something a user sees at these boundaries, and nowhere else:

- the shell: :meth:`Shell.run_line <ophsh.shell.shell.Shell.run_line>` turns them into an
  ``Outcome`` that the prompt, the script runner and ``-e``/``-j`` show (the script runner also
  reports a ``$N`` it cannot fill); the command line entry points (``ophsh``, ``ophsh serve``,
  ``ophsh user``) report those raised before a shell exists;
- the engine's door, :class:`Service <ophsh.engine.service.Service>`: a refused request becomes a
  reply with Ophidia's error code, a failed operator the ERROR status of its document, as Ophidia
  reports them (also per target of a massive operation, in its task list, and per task of a
  workflow, in the workflow's task list);
- the server's HTTP handler, for what cannot even reach the service.

Anything else is a bug: it is logged with its traceback and an id, and the user sees one line
with that id.
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "ExitCode",
    "NotFoundError",
    "OperatorError",
    "OphshError",
    "ParseError",
    "QuotaError",
    "StoreError",
    "StoreFull",
    "UnknownCommandError",
    "ValidationError",
]


class ExitCode:
    """Exit statuses, following oph_term where it has one."""

    OK = 0
    ERROR = 1  # an operator or the server answered with an error
    TRANSPORT = 2  # the server could not be reached or answered garbage
    UNKNOWN_COMMAND = 3
    USAGE = 4  # bad command-line option
    INVALID_PARAMETER = 8
    INTERNAL = 70


class OphshError(Exception):
    """Base class: a failure the user can understand and act on."""

    exit_code = ExitCode.ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class ParseError(OphshError):
    """A line that the command grammar does not accept."""

    exit_code = ExitCode.INVALID_PARAMETER

    def __init__(self, message: str, *, column: int | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.column = column


class ValidationError(OphshError):
    """A parameter that is unknown, missing or has a value the operator does not allow."""

    exit_code = ExitCode.INVALID_PARAMETER

    def __init__(
        self,
        message: str,
        *,
        operator: str | None = None,
        param: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.operator = operator
        self.param = param


class UnknownCommandError(OphshError):
    """A first word that is neither an operator, a built-in nor an alias."""

    exit_code = ExitCode.UNKNOWN_COMMAND


class NotFoundError(OphshError, LookupError):
    """A cube, container, folder, file or variable that does not exist."""


class OperatorError(OphshError):
    """An operator ran and failed (the reply's status is ERROR)."""


class BackendError(OphshError):
    """The backend could not be used: server down, refused credentials, garbage reply."""

    exit_code = ExitCode.TRANSPORT


class StoreError(OphshError):
    """The embedded store on disk cannot be opened, is not an ophsh store, or is damaged."""


class StoreFull(StoreError):
    """The disk that holds the store has no room left."""


class QuotaError(OphshError):
    """A new cube above what this store allows: its largest new cube, or the user's quota."""
