"""Values that point into a parent task's reply, as Ophidia's oph_set, oph_wait and oph_for read
them: ``objkey.title.column``, ``objkey.title``, ``title.column``, ``title`` or ``objkey``, the
last part optionally followed by ``(row)`` or ``(row,column)`` (1-based, ``*`` for all, ``end``
for the last). A text gives its message; a grid gives one cell, or a whole row or column joined
with ``|``. A value that names nothing in the replies stays as written."""

from __future__ import annotations

from typing import Any

from ophsh.document import Document

__all__ = ["expand"]

ALL, LAST = "*", "end"


def expand(values: str, replies: list[Document]) -> str:
    """``values`` (``|``-separated) with each item that names part of a reply replaced."""
    items = []
    for item in values.split("|"):
        found = next((v for doc in replies if (v := _lookup(item, doc)) is not None), None)
        items.append(item if found is None else found)
    return "|".join(items)


def _lookup(item: str, doc: Document) -> str | None:
    parts = [p for p in item.split(".") if p]
    if not parts or len(parts) > 3:
        return None
    last, row, col = _indexes(parts[-1])
    if last is None:
        return None
    parts[-1] = last
    objkey, title, column = [*parts, None, None][:3]
    obj = next((o for o in doc.objects if o.get("objkey") == objkey), None)
    if obj is None:
        if column is not None:
            return None
        title, column = objkey, title  # the form title[.column]
        holders = [o for o in doc.objects if any(_titled(o, title))]
        if len(holders) != 1 or len(list(_titled(holders[0], title))) != 1:
            return None
        obj = holders[0]
    contents = list(_titled(obj, title)) if title else obj.get("objcontent", [])
    if len(contents) != 1:
        return None
    if obj.get("objclass") == "text":
        return contents[0].get("message") or ""
    if obj.get("objclass") == "grid":
        return _cells(contents[0], column, row, col)
    return None


def _titled(obj: dict[str, Any], title: str):
    if obj.get("objclass") in ("text", "grid"):
        yield from (c for c in obj.get("objcontent", []) if c.get("title") == title)


def _indexes(part: str) -> tuple[str | None, str | None, str | None]:
    """The name before ``(...)`` and the row and column inside (None when absent); a bracket
    left open gives no name."""
    if "(" not in part:
        return part, None, None
    name, inside = part.split("(", 1)
    if not inside.endswith(")"):
        return None, None, None
    inside = inside[:-1]
    row, _, col = inside.partition(",")
    return name, row, (col if "," in inside else None)


def _cells(grid: dict[str, Any], column: str | None, row: str | None, col: str | None):
    keys = grid.get("rowkeys", [])
    rows = [[str(c) for c in r] for r in grid.get("rowvalues", [])]
    if column is not None:
        if column not in keys:
            return None
        col = str(keys.index(column) + 1)
    if row == ALL and col == ALL:
        return None  # only a row or a column, never the whole grid
    width = len(keys) if keys else (len(rows[0]) if rows else 0)
    r, c = _position(row, len(rows)), _position(col, width)
    if r is None or c is None:
        return None
    if r == ALL:
        return "|".join(line[c] for line in rows)
    if c == ALL:
        return "|".join(rows[r])
    return rows[r][c]


def _position(index: str | None, size: int) -> int | str | None:
    """0-based position of a 1-based index (``*`` kept), or None when out of range."""
    if index == ALL:
        return ALL if size else None
    if index == LAST:
        position = size - 1
    else:
        try:
            position = max(int(index or 1), 1) - 1
        except ValueError:
            return None
    return position if 0 <= position < size else None
