"""The course: which step is current, what the user's line means for it, and progress on disk.

The course never prints. Each method returns messages as ``(kind, text)`` pairs (kinds: ``title``,
``step``, ``ok``, ``wrong``, ``hint``, ``solution``, ``info``; and ``outcome`` with the Outcome of
a command run for the user) for the app to show, so the same logic runs in a terminal and in
tests. Progress (lesson, step, the variables the user set) is saved to the practice directory
after every line, so a restart resumes where the user stopped.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass

from ophsh.shell.outcome import Outcome
from ophsh.shell.shell import Shell
from ophsh.tutorial.checks import Context, run_check
from ophsh.tutorial.expected import Night
from ophsh.tutorial.lessons import Lesson, Step
from ophsh.tutorial.practice import DEFAULT_PORT, RAW, Practice

__all__ = ["COMMANDS", "Course", "Message", "fill"]

Message = tuple[str, "str | Outcome"]
COMMANDS = {
    "hint": "a hint for this step",
    "show solution": "the command(s) that do it",
    "skip": "run the solution for you and go on",
    "back": "go back one step",
    "next": "check now and go on (or go on after an explanation)",
    "step": "show this step again",
    "lessons": "the lessons and where you are",
    "lesson N": "start lesson N",
    "quit": "leave (your progress is kept)",
}


def fill(text: str, practice: Practice, port: str) -> str:
    """Put the practice area's real paths, the server's port and this Python into a text."""
    values = {
        "store": practice.store,
        "disk": practice.disk,
        "raw": RAW,
        "practice": practice.root,
        "port": port,
        "python": sys.executable,
    }
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text


@dataclass
class Position:
    """Where the user is: a lesson (index) and a step in it."""

    lesson: int = 0  # index into the lessons
    step: int = 0


class Course:
    """A walk through the lessons on one practice area and one shell."""

    def __init__(self, lessons: list[Lesson], practice: Practice, shell: Shell) -> None:
        self.lessons = lessons
        self.practice = practice
        self.shell = shell
        self.night = Night(practice.raw)
        self.pos = Position()
        self.finished = False
        self._resume()

    # -- where we are -------------------------------------------------------------------------
    @property
    def lesson(self) -> Lesson:
        return self.lessons[self.pos.lesson]

    @property
    def step(self) -> Step:
        return self.lesson.steps[self.pos.step]

    def start_lesson(self, number: int) -> list[Message]:
        """Go to the first step of lesson ``number``."""
        for index, lesson in enumerate(self.lessons):
            if lesson.number == number:
                self.pos, self.finished = Position(index, 0), False
                self._save()
                return self.show(intro=True)
        known = ", ".join(str(lesson.number) for lesson in self.lessons)
        return [("wrong", f"There is no lesson {number}; the lessons are {known}.")]

    def show(self, *, intro: bool = False) -> list[Message]:
        """The current step (with the lesson's introduction at its first step)."""
        if self.finished:
            return [("info", "You have finished the course. `lessons` lists them to do one again.")]
        messages: list[Message] = []
        lesson, step = self.lesson, self.step
        if intro or self.pos.step == 0:
            for file in lesson.files:
                shutil.copy(file, self.practice.home / file.name)
            head = f"Lesson {lesson.number}: {lesson.title}"
            messages.append(
                ("title", head + ("\n" + self.fill(lesson.intro) if lesson.intro else ""))
            )
        lines = [f"Step {self.pos.step + 1}/{len(lesson.steps)}: {self.fill(step.goal)}"]
        if step.tutorial:
            quoted = "\n".join("    " + line for line in self.fill(step.tutorial).splitlines())
            lines.append(f"The tutorial says:\n{quoted}")
        if step.text:
            lines.append(self.fill(step.text))
        if not step.checks:
            lines.append("(type next to go on)")
        messages.append(("step", "\n".join(lines)))
        return messages

    def fill(self, text: str) -> str:
        return fill(text, self.practice, self.shell.state.get("OPH_SERVER_PORT") or DEFAULT_PORT)

    # -- what the user typed --------------------------------------------------------------------
    def command(self, line: str) -> list[Message] | None:
        """The answer to a course command, or None when the line is for the shell."""
        word = " ".join(line.split())
        if word == "hint":
            return [("hint", self.fill(self.step.hint) or "No hint for this one: see the step.")]
        if word in ("show solution", "solution"):
            where = "in another terminal" if self.step.elsewhere else "at the prompt"
            text = "\n".join(self.fill(s) for s in self.step.solution) or "next"
            lines = "\n".join("    " + line for line in text.splitlines())
            return [("solution", f"Type {where}:\n{lines}")]
        if word == "skip":
            return self._skip()
        if word == "back":
            if self.pos.step > 0:
                self.pos.step -= 1
            elif self.pos.lesson > 0:
                self.pos = Position(
                    self.pos.lesson - 1, len(self.lessons[self.pos.lesson - 1].steps) - 1
                )
            self.finished = False
            self._save()
            return self.show()
        if word == "next":
            return self.verdict(None)
        if word == "step":
            return self.show()
        if word == "lessons":
            return [("info", self.listing())]
        if word.startswith("lesson ") and word[7:].isdigit():
            return self.start_lesson(int(word[7:]))
        return None

    def verdict(self, outcome: Outcome | None) -> list[Message]:
        """After a shell line (or ``next``): traps it fell into, and whether the step is done."""
        if self.finished:
            return []
        step = self.step
        messages: list[Message] = []
        if outcome is not None:
            said = f"{outcome.request}\n{outcome.message or ''}"
            messages += [("wrong", t.say) for t in step.traps if t.match.search(said)]
        problem = self.problem(outcome)
        if problem is None:
            messages.append(("ok", self.fill(step.done) or "Right."))
            messages += self._advance()
        elif not messages and (outcome is None or outcome.ok):  # a failure was said already
            messages.append(("wrong", problem))
        self._save()
        return messages

    def problem(self, outcome: Outcome | None) -> str | None:
        """What is still wrong with the current step, or None when it is done."""
        ctx = Context(self.shell, self.practice, self.night, outcome)
        for check in self.step.checks:
            problem = run_check(ctx, check.name, check.params)
            if problem is not None:
                return problem
        return None

    def _skip(self) -> list[Message]:
        messages: list[Message] = []
        if not self.step.elsewhere and (not self.step.checks or self.problem(None) is not None):
            for line in self.step.solution:
                messages.append(("solution", f">> {self.fill(line)}"))
                messages.append(("outcome", self.shell.run_line(self.fill(line))))
        messages.append(("info", "Skipped."))
        messages += self._advance()
        self._save()
        return messages

    def _advance(self) -> list[Message]:
        if self.pos.step + 1 < len(self.lesson.steps):
            self.pos.step += 1
            return self.show()
        done = [("ok", f"Lesson {self.lesson.number} ({self.lesson.title}) is done.")]
        if self.pos.lesson + 1 < len(self.lessons):
            self.pos = Position(self.pos.lesson + 1, 0)
            return done + self.show(intro=True)
        self.finished = True
        return [*done, ("ok", "That was the last lesson: the course is complete. Well done!")]

    def listing(self) -> str:
        lines = []
        for index, lesson in enumerate(self.lessons):
            here = " <- you are here" if index == self.pos.lesson and not self.finished else ""
            lines.append(f"{lesson.number:2d}. {lesson.title} ({len(lesson.steps)} steps){here}")
        return "\n".join(lines)

    # -- progress on disk -----------------------------------------------------------------------
    def _save(self) -> None:
        known = self.shell.specs.variables
        variables = {k: v for k, v in self.shell.state.variables.items() if k not in known}
        self.practice.save_progress(
            {
                "lesson": self.lesson.slug,
                "step": self.pos.step,
                "finished": self.finished,
                "variables": variables,
            }
        )

    def _resume(self) -> None:
        saved = self.practice.load_progress()
        for index, lesson in enumerate(self.lessons):
            if lesson.slug == saved.get("lesson"):
                self.pos = Position(index, min(int(saved.get("step", 0)), len(lesson.steps) - 1))
                self.finished = bool(saved.get("finished"))
        for name, value in saved.get("variables", {}).items():
            self.shell.state.set(name, value)
