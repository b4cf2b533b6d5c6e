"""Where ophsh keeps things by default (platformdirs picks the right place per platform)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["cache_dir", "default_store", "log_file"]


def default_store() -> Path:
    """``OPHSH_STORE``, else the store in the user's data directory."""
    env = os.environ.get("OPHSH_STORE")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("ophsh")) / "store"


def log_file() -> Path:
    """Where the interactive shell logs what it does not show (tracebacks, completion trouble)."""
    return Path(platformdirs.user_log_dir("ophsh")) / "ophsh.log"


def cache_dir() -> Path:
    """Where ophsh keeps what it can make again (the merged specifications)."""
    return Path(platformdirs.user_cache_dir("ophsh"))
