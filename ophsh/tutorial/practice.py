"""The practice area of the course: a store, the tutorial's data disk, and the progress file.

Layout of the practice directory (``user_data_dir("ophsh")/tutorial`` unless ``--dir``)::

    store/                           the embedded store the course works on
    disk/data/INDIGO-FITS/fits-raw/  a generated night of raw frames
    progress.json                    where the course stopped, and the variables you set

``disk/`` is the store's base path, so the tutorial's ``/data/INDIGO-FITS/fits-raw`` is found
exactly as printed; the shell starts in ``/data`` (its folder on the disk).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from ophsh.engine.embedded import EmbeddedBackend
from ophsh.shell.history import History
from ophsh.shell.shell import Shell
from ophsh.shell.state import ShellState
from ophsh.spec import load_specs
from ophsh.tutorial.frames import make_night
from ophsh.workflow.run import WorkflowEngine

__all__ = ["RAW", "Practice"]

RAW = "/data/INDIGO-FITS/fits-raw"
SHAPE = (64, 64)  # small frames: every step of the course runs in well under a second
COUNTS = {"bias": 5, "flats": 3, "science": 2}
DEFAULT_PORT = "11732"


@dataclass(frozen=True)
class Practice:
    """One practice directory and what lives in it."""

    root: Path

    @classmethod
    def default_root(cls) -> Path:
        return Path(platformdirs.user_data_dir("ophsh")) / "tutorial"

    @property
    def store(self) -> Path:
        return self.root / "store"

    @property
    def disk(self) -> Path:
        return self.root / "disk"

    @property
    def home(self) -> Path:
        """The folder the course runs in: ``/data`` on the practice disk."""
        return self.disk / "data"

    @property
    def raw(self) -> Path:
        return self.real(RAW)

    @property
    def progress_file(self) -> Path:
        return self.root / "progress.json"

    @property
    def counts(self) -> dict[str, int]:
        """How many frames of each kind the night has (flats and science per filter)."""
        return {**COUNTS, "frames": COUNTS["bias"] + 3 * (COUNTS["flats"] + COUNTS["science"])}

    def real(self, virtual: str) -> Path:
        """The file on this machine behind a path as the course's shell sees it."""
        return self.disk / virtual.lstrip("/")

    def prepare(self) -> None:
        """Generate the night the first time (the frames never change afterwards)."""
        if not any(self.raw.glob("LRS.*.fits")):
            make_night(
                self.raw,
                shape=SHAPE,
                n_bias=COUNTS["bias"],
                n_flats=COUNTS["flats"],
                n_science=COUNTS["science"],
            )

    def reset(self) -> None:
        """Forget the store, the disk and the progress (nothing else in the directory)."""
        for path in (self.store, self.disk):
            if path.exists():
                shutil.rmtree(path)
        self.progress_file.unlink(missing_ok=True)

    def open_shell(self) -> Shell:
        """A shell on the practice store, its data directory the practice disk."""
        specs = load_specs()
        backend = EmbeddedBackend(self.store, workflows=WorkflowEngine(specs), base_path=self.disk)
        shell = Shell(backend, specs, state=ShellState(specs), history=History(self.history))
        shell.start()
        return shell

    @property
    def history(self) -> Path:
        return self.store / "history"

    def load_progress(self) -> dict:
        try:
            return json.loads(self.progress_file.read_text())
        except (OSError, ValueError):
            return {}

    def save_progress(self, progress: dict) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        temp = self.progress_file.with_suffix(".tmp")
        temp.write_text(json.dumps(progress, indent=2))
        temp.replace(self.progress_file)
