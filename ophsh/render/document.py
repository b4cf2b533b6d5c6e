"""Render a response document for people: grids as tables, texts as titled paragraphs.

OPH_TERM_FORMAT picks the layout: ``classic`` (boxed tables), ``compact`` (no borders, no
titles underlined), ``extended`` (each object announced with its objkey, plus the execution
time and the source). The ``status`` object is not shown on success; failures are rendered by
the caller as one line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ophsh.document import Document, Grid

__all__ = ["FORMATS", "render_document"]

FORMATS = ("classic", "compact", "extended", "extended_compact")
# Objects that only matter to machines, or that the status line already says.
QUIET_KEYS = frozenset({"status"})


def render_document(
    doc: Document, fmt: str = "classic", *, accent: str | None = None
) -> RenderableType:
    """Everything a person wants to see in ``doc``, as one rich renderable; ``accent`` colours
    the titles (oph_term's coloured viewers)."""
    parts: list[RenderableType] = []
    extended = fmt.startswith("extended")
    compact = fmt.endswith("compact")
    for obj in doc.objects:
        key = obj.get("objkey", "")
        if key in QUIET_KEYS:
            continue
        if extended:
            parts.append(Text(f"[ {key} ]", style="bold blue"))
        parts.extend(_object(doc, obj, compact=compact, accent=accent))
    if extended and "execution_time" in doc.extra:
        parts.append(Text(f"Execution time: {doc.extra['execution_time']} seconds", style="dim"))
    return Group(*parts)


def _object(
    doc: Document, obj: dict, *, compact: bool, accent: str | None
) -> Iterator[RenderableType]:
    kind = obj.get("objclass")
    key = obj.get("objkey", "")
    if kind == "text":
        for item in doc.texts(key):
            yield from _text(item.title, item.message, compact=compact, accent=accent)
    elif kind == "grid":
        for grid in doc.grids(key):
            yield _grid(grid, compact=compact, accent=accent)
    else:
        yield Text(f"{key}: a {kind} object (shown with -j)", style="dim")


def _text(
    title: str, message: str | None, *, compact: bool, accent: str | None
) -> Iterator[RenderableType]:
    style = f"bold {accent}" if accent else "bold"
    if compact:
        yield Text.assemble((title, style), ": ", message or "")
        return
    yield Text(title, style=style)
    yield Text("\u00af" * len(title), style="dim")
    if message:
        yield Text(message.rstrip("\n"))
    yield Text("")


_TEN_ZEROS = re.compile(r"^(-?\d+)\.0{10}$")


def _whole_numbers(grid: Grid) -> list[tuple[str, ...]]:
    """The rows with a real measure that holds only whole numbers (ADU counts) shown as
    integers: Ophidia writes every double with 10 decimals (996.0000000000), which -j keeps."""
    values = [v for row in grid.rows for v in row[-1].split(", ")]
    if not values or not all(_TEN_ZEROS.match(v) for v in values):
        return list(grid.rows)
    return [
        (*row[:-1], ", ".join(_TEN_ZEROS.sub(r"\1", v) for v in row[-1].split(", ")))
        for row in grid.rows
    ]


def _grid(grid: Grid, *, compact: bool, accent: str | None) -> RenderableType:
    table = Table(
        caption=Text(grid.description) if grid.description else None,
        box=None if compact else box.SQUARE,
        show_edge=not compact,
        header_style="bold",
        pad_edge=not compact,
    )
    numeric = {"int", "long", "short", "byte", "float", "double"}
    for name, kind in zip(grid.keys, grid.types, strict=False):
        table.add_column(name, justify="right" if kind in numeric else "left", overflow="fold")
    rows = _whole_numbers(grid) if grid.objkey == "explorecube_data" else grid.rows
    for row in rows:
        table.add_row(*(Text(str(cell)) for cell in row))  # cells are data, never rich markup
    # The title goes above the table on its own line, so a long path is never folded to fit.
    style = f"bold {accent}" if accent else "bold"
    title = [] if compact or not grid.title else [Text(grid.title, style=style)]
    empty = [] if grid.rows else [Text("(no rows)", style="dim")]
    return Group(*title, table, *empty, Text(""))
