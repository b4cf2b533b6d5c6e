"""The limits the engine works within, chosen once by whoever starts it.

The composition roots (``ophsh``, ``ophsh serve``, the tests) build one :class:`Settings`,
usually :meth:`Settings.from_environment`, and hand it to the store and the service; nothing
below them reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Settings"]


def _default_threads() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


@dataclass(frozen=True)
class Settings:
    """Memory budget and threads of one operator's kernels; whether writes are forced to disk;
    the web address new stores name their cubes with; whether element-wise results are
    virtual cubes."""

    memory_bytes: int = 256 << 20
    threads: int = _default_threads()
    fsync: bool = False
    web_server: str | None = None
    max_cube_bytes: int | None = None  # the largest new cube (None: no limit)
    quota_bytes: int | None = None  # what one user's cubes may take together (None: no limit)
    scripts: bool = True  # oph_script may run programs of the data directory
    virtual: bool = True  # element-wise results are recipes computed when read (no array file)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """OPHSH_MEMORY_MB (default 256), OPHSH_THREADS (cores, at most 8), OPHSH_SYNC (no),
        OPHSH_WEB_SERVER (default http://localhost/ophidia), OPHSH_MAX_CUBE_MB and
        OPHSH_QUOTA_MB (default: no limit), OPHSH_VIRTUAL (yes: element-wise results are
        virtual cubes)."""
        env = os.environ if environ is None else environ
        memory = float(env.get("OPHSH_MEMORY_MB") or 256)
        threads = env.get("OPHSH_THREADS")
        return cls(
            memory_bytes=max(1, int(memory * (1 << 20))),
            threads=max(1, int(threads)) if threads else _default_threads(),
            fsync=env.get("OPHSH_SYNC", "no").lower() in ("yes", "1", "true"),
            web_server=env.get("OPHSH_WEB_SERVER") or None,
            max_cube_bytes=_megabytes(env.get("OPHSH_MAX_CUBE_MB")),
            quota_bytes=_megabytes(env.get("OPHSH_QUOTA_MB")),
            virtual=env.get("OPHSH_VIRTUAL", "yes").lower() not in ("no", "0", "false"),
        )


def _megabytes(text: str | None) -> int | None:
    return int(float(text) * (1 << 20)) if text else None
