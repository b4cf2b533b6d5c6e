"""The prompt: backend, current folder and current cube, coloured as OPH_TERM_PS1 asks.

OPH_TERM_PS1 is either one of oph_term's colour names (black, red, green, yellow, blue, purple,
cyan, white; a substring is enough, as in oph_term) or a template using {backend}, {cwd},
{cube} (the last cube's container/cube ids) and {session} (the short session code).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prompt_toolkit.formatted_text import FormattedText

if TYPE_CHECKING:
    from ophsh.shell.shell import Shell

__all__ = ["prompt_text"]

COLOURS = {
    "black": "ansiblack",
    "red": "ansired",
    "green": "ansigreen",
    "yellow": "ansiyellow",
    "blue": "ansiblue",
    "purple": "ansimagenta",
    "cyan": "ansicyan",
    "white": "ansiwhite",
}
TEMPLATE = "[{backend}] {cwd}{cube} >> "


def _colour(setting: str) -> str:
    for name, style in COLOURS.items():
        if name in setting.lower():
            return style
    return "ansired"


def prompt_text(shell: Shell) -> FormattedText:
    state = shell.state
    setting = state.get("OPH_TERM_PS1") or ""
    cube = state.get("OPH_DATACUBE") or ""
    short = "/".join(cube.rstrip("/").split("/")[-2:]) if cube else ""
    session = state.get("OPH_SESSION_ID") or ""
    code = session.rstrip("/").split("/")[-2] if session.count("/") > 2 else ""
    values = {
        "backend": shell.backend.label,
        "cwd": state.get("OPH_CWD") or "/",
        "cube": f" ({short})" if short else "",
        "session": f"{code[:2]}..{code[-4:]}" if code else "",
    }
    template = setting if "{" in setting else TEMPLATE
    try:
        text = template.format(**values)
    except (KeyError, IndexError, ValueError):
        text = TEMPLATE.format(**values)
    return FormattedText([(f"bold {_colour(setting)}", text)])
