"""Finding (or building) the real Ophidia Terminal, and running it against `ophsh serve`.

The tests in test_oph_term.py drive the C client ``oph_term`` 1.9: one command with ``-e``,
commands piped on stdin, a workflow file with ``-w``, and a pseudo-terminal (pexpect) for what
needs one (completion, ``watch``). The binary is ``$OPHSH_OPH_TERM``, else the one
shared/tools/real-ophidia installs in /opt/ophidia-ref, else one built here from the terminal's
sources (``$OPHSH_OPH_TERM_SRC``: a source tree or a bare git repository) when the build tools
are present; the build is kept in pytest's cache.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pexpect

KNOWN_PLACES = (Path("/opt/ophidia-ref/oph-terminal/bin/oph_term"),)
MIRROR = Path("/work/.mirror/OphidiaBigData+ophidia-terminal/repo")
BUILD_TOOLS = ("autoreconf", "libtoolize", "make", "cc", "pkg-config")
NOT_BUILT = "oph_term is not built here: see shared/tools/real-ophidia (or set OPHSH_OPH_TERM)"
# The prompt ends in ">>", then the colour reset, then a space.
PROMPT = r">>(?:\x1b\[0m)? "
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _sources() -> Path | None:
    given = os.environ.get("OPHSH_OPH_TERM_SRC")
    candidates = [Path(given)] if given else [MIRROR]
    return next((c for c in candidates if c.exists()), None)


def build_oph_term(cache: Path) -> Path | str:
    """oph_term built from its sources into ``cache`` (once), or why it cannot be."""
    binary = cache / "install" / "bin" / "oph_term"
    if binary.exists():
        return binary
    sources = _sources()
    missing = [tool for tool in BUILD_TOOLS if shutil.which(tool) is None]
    if sources is None or missing:
        return NOT_BUILT + (f" (missing build tools: {', '.join(missing)})" if missing else "")
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="oph_term-src-", dir=cache))
    if (sources / "configure.ac").exists():
        shutil.copytree(sources, work, dirs_exist_ok=True)
    else:  # a bare git repository
        archive = subprocess.run(
            ["git", "--git-dir", str(sources), "archive", "HEAD"], capture_output=True, check=False
        )
        if archive.returncode:
            return f"{NOT_BUILT} (cannot read {sources})"
        subprocess.run(["tar", "-x", "-C", str(work)], input=archive.stdout, check=True)
    log = cache / "build.log"
    script = (
        "set -e; ./bootstrap; "
        f"./configure --prefix={cache / 'install'} --disable-xml-ssl-check; "
        "make -j2; make install"
    )
    with log.open("w") as out:
        done = subprocess.run(["sh", "-c", script], cwd=work, stdout=out, stderr=out, check=False)
    shutil.rmtree(work, ignore_errors=True)
    if done.returncode or not binary.exists():
        return f"{NOT_BUILT} (building it from {sources} failed; see {log})"
    return binary


def locate_oph_term(cache: Path) -> Path | str:
    """The oph_term binary to test with, or the reason there is none."""
    given = os.environ.get("OPHSH_OPH_TERM")
    if given:
        path = Path(given)
        return path if os.access(path, os.X_OK) else f"OPHSH_OPH_TERM={given} is not executable"
    for place in KNOWN_PLACES:
        if os.access(place, os.X_OK):
            return place
    return build_oph_term(cache)


@dataclass
class Ran:
    """One run of oph_term: exit status and output; ``reply`` is the -j envelope, if any."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def plain(self) -> str:
        """stdout without colours and carriage returns, as a person reads it."""
        return ANSI.sub("", self.stdout).replace("\r", "")

    @property
    def reply(self) -> dict:
        return json.loads(self.stdout)

    @property
    def response(self) -> dict:
        return self.reply["response"]

    def grid(self, objkey: str) -> dict:
        """The first grid of an objkey in the -j response."""
        for obj in self.response["response"]:
            if obj["objkey"] == objkey:
                return obj["objcontent"][0]
        raise KeyError(objkey)


class Terminal:
    """oph_term logged in to one `ophsh serve`, with its own HOME (history, XML cache)."""

    def __init__(self, binary: Path, port: int, home: Path, user: str, password: str) -> None:
        self.binary, self.port, self.home = binary, port, home
        self.login = ["-H", "127.0.0.1", "-P", str(port), "-u", user, "-p", password]
        home.mkdir(parents=True, exist_ok=True)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPH_", "OPHSH_"))}
        env.update(HOME=str(self.home), TERM="xterm", COLUMNS="160", LC_ALL="C.UTF-8")
        return env

    def run(self, *args: str, stdin: str | None = None, login: bool = True) -> Ran:
        done = subprocess.run(
            [str(self.binary), *(self.login if login else []), *args],
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            cwd=self.home,
            env=self.env(),
            timeout=120,
        )
        return Ran(done.returncode, done.stdout, done.stderr)

    def e(self, line: str, *, json_out: bool = True) -> Ran:
        """``oph_term -e LINE [-j]``."""
        return self.run("-e", line, *(["-j"] if json_out else []))

    def ok(self, line: str) -> Ran:
        """``-e LINE -j`` that must succeed (status SUCCESS)."""
        ran = self.e(line)
        assert ran.returncode == 0, (line, ran.stdout, ran.stderr)
        assert '"title": "SUCCESS"' in ran.stdout, (line, ran.stdout)
        return ran

    def piped(self, *lines: str) -> Ran:
        """Lines typed on stdin (readline reads them, echoing prompt and line), then quit."""
        return self.run(stdin="\n".join([*lines, "quit"]) + "\n")

    def spawn(self) -> pexpect.spawn:
        """An interactive oph_term on a pseudo-terminal, at its first prompt."""
        child = pexpect.spawn(
            str(self.binary),
            self.login,
            cwd=str(self.home),
            env=self.env(),
            encoding="utf-8",
            timeout=60,
            dimensions=(50, 160),
        )
        child.expect(PROMPT)
        return child
