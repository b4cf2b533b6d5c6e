"""Shared fixtures: an isolated environment, a fresh store, a shell, FITS frames, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ophsh.engine.embedded import EmbeddedBackend
from ophsh.shell.shell import Shell
from ophsh.shell.state import ShellState
from ophsh.spec import load_specs
from ophsh.workflow.run import WorkflowEngine

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "scripts"
sys.path.insert(0, str(SCRIPTS))  # the frame generator is shared with the demo and benchmarks


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory, monkeypatch):
    """No OPH_* variable, config or store of the person running the tests leaks in."""
    home = tmp_path_factory.mktemp("home")
    for key in list(os.environ):
        if key.startswith(("OPH_", "OPHSH_")):
            monkeypatch.delenv(key)
    for sub in ("data", "config"):
        (home / sub).mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("OPHSH_STORE", str(home / "store"))


@pytest.fixture(scope="session")
def night(tmp_path_factory) -> Path:
    """A small generated night of raw frames (5 bias, 3 flats and 2 science per filter)."""
    from make_frames import make_night

    raw = tmp_path_factory.mktemp("night")
    make_night(raw, shape=(48, 64), n_bias=5, n_flats=3, n_science=2)
    return raw


@pytest.fixture
def specs():
    return load_specs()


@pytest.fixture
def store_dir(tmp_path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def backend(store_dir):
    backend = EmbeddedBackend(store_dir, user="tester", workflows=WorkflowEngine(load_specs()))
    yield backend
    backend.close()


@pytest.fixture
def shell(backend, specs, tmp_path, monkeypatch) -> Shell:
    """A shell on a fresh store, its data directory (cdd) a fresh tmp directory."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.chdir(data)
    sh = Shell(backend, specs, state=ShellState(specs, environ={}))
    sh.start()
    return sh


@pytest.fixture
def data_dir(tmp_path):
    """The shell's data directory (the ``shell`` fixture makes it and starts there)."""
    return tmp_path / "data"


@pytest.fixture
def run(shell):
    """Run a line and insist that it succeeds; returns the outcome."""

    def _run(line: str):
        outcome = shell.run_line(line)
        assert outcome.ok, f"{line!r} failed: {outcome.message}"
        return outcome

    return _run


def ophsh(
    *args: str, cwd: Path | None = None, input: str | None = None, env=None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run the real command line, ``python -m ophsh ARGS``, and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "ophsh", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
