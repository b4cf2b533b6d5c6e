"""The backend contract on the embedded store."""

from __future__ import annotations

import pytest
from contract import BackendContract
from factories import raw_frame, write_fits

from ophsh.engine.embedded import EmbeddedBackend
from ophsh.shell.shell import Shell
from ophsh.shell.state import ShellState
from ophsh.workflow.run import WorkflowEngine


def frames(directory) -> None:
    for name, kind in (("a.fits", "BIAS"), ("b.fits", "FLAT")):
        data, cards = raw_frame(seed=len(name) + ord(kind[0]), kind=kind)
        write_fits(directory / "raw" / name, data, **cards)


class TestEmbedded(BackendContract):
    @pytest.fixture
    def where(self, tmp_path, specs, monkeypatch):
        data = tmp_path / "data"
        frames(data)
        monkeypatch.chdir(data)  # the embedded shell's data directory is where it starts
        backend = EmbeddedBackend(
            tmp_path / "store", user="tester", workflows=WorkflowEngine(specs)
        )
        shell = Shell(backend, specs, state=ShellState(specs, environ={}))
        shell.start()
        yield shell
        backend.close()
