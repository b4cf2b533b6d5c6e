"""Lessons are data: one TOML file per lesson in ``ophsh/tutorial/lessons/``, loaded here.

A file ``NN_slug.toml`` holds ``title``, ``intro``, optional ``files`` (files next to the lesson
copied to ``/data`` when the lesson starts) and ``[[steps]]``. A step has a ``goal``, the
``tutorial``'s own text (as printed, lost underscores and all), ``text`` in our words, a
``hint``, a ``solution`` (one command per entry), ``done`` (said when it passes),
``[[steps.checks]]`` (``name`` of a check and its parameters), ``[[steps.traps]]`` (``match``, a
regular expression on the typed line and its error, and what to ``say``), and
``elsewhere = true`` when the solution is typed in another terminal. A step without checks only
explains; ``next`` moves on. ``{store}``, ``{disk}``, ``{raw}``, ``{practice}``, ``{port}``
and ``{python}`` in the texts become the practice area's real paths, the server's port and the
Python running ophsh.
"""

from __future__ import annotations

import inspect
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

__all__ = ["LESSONS_DIR", "Check", "Lesson", "LessonError", "Step", "Trap", "load_lessons"]

LESSONS_DIR = Path(__file__).parent / "lessons"
_LESSON_KEYS = {"title", "intro", "files", "steps"}
_STEP_KEYS = {
    "goal",
    "tutorial",
    "text",
    "hint",
    "solution",
    "done",
    "checks",
    "traps",
    "elsewhere",
}


class LessonError(ValueError):
    """A lesson file that cannot be used, with the file and the reason."""


@dataclass(frozen=True)
class Check:
    name: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Trap:
    match: re.Pattern[str]
    say: str


@dataclass(frozen=True)
class Step:
    goal: str
    tutorial: str = ""
    text: str = ""
    hint: str = ""
    solution: tuple[str, ...] = ()
    done: str = ""
    checks: tuple[Check, ...] = ()
    traps: tuple[Trap, ...] = ()
    elsewhere: bool = False


@dataclass(frozen=True)
class Lesson:
    number: int
    slug: str
    title: str
    intro: str
    files: tuple[Path, ...]
    steps: tuple[Step, ...]


Checks = Mapping[str, Callable[..., object]]


def load_lessons(known_checks: Checks, directory: Path = LESSONS_DIR) -> list[Lesson]:
    """Every ``NN_*.toml`` lesson in ``directory``, in number order.

    Each step's checks must be among ``known_checks`` and take the parameters given.
    """
    lessons = [_lesson(path, known_checks) for path in sorted(directory.glob("[0-9]*_*.toml"))]
    numbers = [lesson.number for lesson in lessons]
    if len(set(numbers)) != len(numbers):
        raise LessonError(f"two lessons in {directory} share a number: {numbers}")
    return lessons


def _lesson(path: Path, known_checks: Checks) -> Lesson:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise LessonError(f"{path.name}: {err}") from None
    _only(data, _LESSON_KEYS, path.name)
    prefix = path.stem.partition("_")[0]
    steps = data.get("steps") or []
    if not data.get("title") or not steps:
        raise LessonError(f"{path.name}: a lesson needs a title and at least one step")
    files = tuple(path.parent / name for name in data.get("files", []))
    for file in files:
        if not file.is_file():
            raise LessonError(f"{path.name}: files names {file.name}, which is not there")
    return Lesson(
        number=int(prefix),
        slug=path.stem,
        title=data["title"],
        intro=data.get("intro", "").strip(),
        files=files,
        steps=tuple(
            _step(s, f"{path.name} step {i}", known_checks) for i, s in enumerate(steps, 1)
        ),
    )


def _step(data: dict, where: str, known_checks: Checks) -> Step:
    _only(data, _STEP_KEYS, where)
    if not data.get("goal"):
        raise LessonError(f"{where}: a step needs a goal")
    checks = []
    for raw in data.get("checks", []):
        params = dict(raw)
        name = params.pop("name", "")
        if name not in known_checks:
            raise LessonError(f"{where}: unknown check '{name}' (known: {', '.join(known_checks)})")
        try:
            inspect.signature(known_checks[name]).bind(None, **params)
        except TypeError as err:
            raise LessonError(f"{where}: check {name}: {err}") from None
        checks.append(Check(name, MappingProxyType(params)))
    try:
        traps = tuple(Trap(re.compile(t["match"]), t["say"].strip()) for t in data.get("traps", []))
    except (KeyError, re.error) as err:
        raise LessonError(f"{where}: a trap needs a valid 'match' and a 'say' ({err})") from None
    solution = data.get("solution", [])
    solution = [solution] if isinstance(solution, str) else solution
    if checks and not solution:
        raise LessonError(f"{where}: a step with checks needs a solution")
    return Step(
        goal=data["goal"].strip(),
        tutorial=data.get("tutorial", "").strip(),
        text=data.get("text", "").strip(),
        hint=data.get("hint", "").strip(),
        solution=tuple(line.strip() for line in solution),
        done=data.get("done", "").strip(),
        checks=tuple(checks),
        traps=traps,
        elsewhere=bool(data.get("elsewhere", False)),
    )


def _only(data: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise LessonError(f"{where}: unknown key(s) {', '.join(unknown)}")
