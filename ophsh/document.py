"""Ophidia's JSON response document: build it, read it, serialise it.

Every reply in ophsh is one of these documents, whichever backend produced it: the embedded
store builds it, ``ophsh serve`` sends it unchanged, the remote backend receives it, and the
renderer, ``-j`` and the scripts read it. The shape is Ophidia's: a ``response`` list of objects
with ``objkey``, ``objclass`` and ``objcontent``, every grid cell a string, ``status`` last.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["ERROR", "SUCCESS", "Document", "Grid", "Text"]

SUCCESS = "SUCCESS"
ERROR = "ERROR"
STATUS_KEY = "status"


@dataclass(frozen=True)
class Text:
    """A text item: a title and an optional message."""

    objkey: str
    title: str
    message: str | None


@dataclass(frozen=True)
class Grid:
    """A table: column names and types, rows of strings."""

    objkey: str
    title: str
    keys: tuple[str, ...]
    types: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    description: str | None = None

    def column(self, name: str) -> list[str]:
        i = self.keys.index(name)
        return [row[i] for row in self.rows]


class Document:
    """A response document under construction or as received."""

    def __init__(self, producer: str = "", source: dict[str, Any] | None = None) -> None:
        self.source: dict[str, Any] = source or {
            "srckey": "oph",
            "srcname": "Ophidia",
            "description": "Ophidia Data Source",
            "producer": producer,
        }
        self.consumers: list[str] = [producer] if producer else []
        self.objects: list[dict[str, Any]] = []
        self.extra: dict[str, str] = {}

    # -- building -------------------------------------------------------------------------
    def _object(self, objkey: str, objclass: str) -> dict[str, Any]:
        for obj in self.objects:
            if obj["objkey"] == objkey:
                return obj
        obj = {"objclass": objclass, "objkey": objkey, "objcontent": []}
        self.objects.append(obj)
        return obj

    def add_text(self, objkey: str, title: str, message: str | None = None) -> None:
        item: dict[str, Any] = {"title": title}
        if message is not None:
            item["message"] = message
        self._object(objkey, "text")["objcontent"].append(item)

    def add_grid(
        self,
        objkey: str,
        title: str,
        keys: Sequence[str],
        types: Sequence[str],
        rows: Sequence[Sequence[Any]],
        description: str | None = None,
    ) -> None:
        if len(keys) != len(types):
            raise ValueError("a grid needs one type per column")
        item: dict[str, Any] = {"title": title}
        if description is not None:
            item["description"] = description
        item["rowkeys"] = list(keys)
        item["rowfieldtypes"] = list(types)
        item["rowvalues"] = [[_cell(v) for v in row] for row in rows]
        self._object(objkey, "grid")["objcontent"].append(item)

    def add_object(self, obj: dict[str, Any]) -> None:
        """Append an object of any class (tree, digraph...) as given."""
        self.objects.append(obj)

    def set_status(self, ok: bool, message: str | None = None) -> None:
        """Replace the status object; it is always the last object."""
        self.objects = [o for o in self.objects if o["objkey"] != STATUS_KEY]
        if ok:
            self.add_text(STATUS_KEY, SUCCESS)
        else:
            text = (message or "operation failed").rstrip("\n") + "\n"
            self.add_text(STATUS_KEY, ERROR, text)

    def fail(self, message: str) -> Document:
        """Mark the document as failed with ``message`` and return it."""
        self.set_status(False, message)
        return self

    def set_extra(self, key: str, value: str) -> None:
        self.extra[key] = value

    # -- reading --------------------------------------------------------------------------
    @property
    def ok(self) -> bool:
        return self.status[0] != ERROR and not self._workflow_failed()

    @property
    def status(self) -> tuple[str, str | None]:
        """(title, message) of the status object; ("", None) when there is none."""
        for item in self.texts(STATUS_KEY):
            return item.title, item.message
        return "", None

    @property
    def error_message(self) -> str | None:
        """The reason of a failure, or None when the document reports success."""
        title, message = self.status
        if title == ERROR:
            return (message or "").strip() or "the operator failed"
        if self._workflow_failed():
            for key in ("workflow_status", "massive_status"):
                for item in self.texts(key):
                    return item.message
        return None

    def _workflow_failed(self) -> bool:
        for key in ("workflow_status", "massive_status"):
            for item in self.texts(key):
                if item.message and item.message.endswith("ERROR"):
                    return True
        return False

    def texts(self, objkey: str | None = None) -> Iterator[Text]:
        for obj in self.objects:
            if obj.get("objclass") == "text" and objkey in (None, obj.get("objkey")):
                for item in obj.get("objcontent", []):
                    yield Text(obj["objkey"], item.get("title", ""), item.get("message"))

    def grids(self, objkey: str | None = None) -> Iterator[Grid]:
        for obj in self.objects:
            if obj.get("objclass") == "grid" and objkey in (None, obj.get("objkey")):
                for item in obj.get("objcontent", []):
                    yield Grid(
                        obj["objkey"],
                        item.get("title", ""),
                        tuple(item.get("rowkeys", [])),
                        tuple(item.get("rowfieldtypes", [])),
                        tuple(tuple(str(c) for c in row) for row in item.get("rowvalues", [])),
                        item.get("description"),
                    )

    def grid(self, objkey: str) -> Grid | None:
        return next(self.grids(objkey), None)

    def text_titled(self, title: str) -> str | None:
        """The message of the first text item with this title, in any object."""
        for item in self.texts():
            if item.title == title:
                return item.message
        return None

    @property
    def output_cube(self) -> str | None:
        """The cube this reply produced, read the way the clients read it."""
        return self.text_titled("Output Cube") or self.extra.get("cube") or None

    @property
    def cwd(self) -> str | None:
        return self.text_titled("Current Working Directory") or self.extra.get("cwd") or None

    @property
    def cdd(self) -> str | None:
        return self.text_titled("Current Data Directory") or self.extra.get("cdd") or None

    # -- serialising ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        keyset: list[str] = []
        for obj in self.objects:
            if obj["objkey"] not in keyset:
                keyset.append(obj["objkey"])
        out: dict[str, Any] = {
            "source": self.source,
            "consumers": self.consumers,
            "responseKeyset": keyset,
            "response": self.objects,
        }
        if self.extra:
            out["extra"] = {"keys": list(self.extra), "values": list(self.extra.values())}
        return out

    def to_json(self) -> str:
        """Serialise as Ophidia does: four-space indent, ``": "`` separators, ASCII only."""
        return json.dumps(self.to_dict(), indent=4, ensure_ascii=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        doc = cls(source=data.get("source") or {})
        doc.consumers = list(data.get("consumers") or [])
        response = data.get("response")
        if not isinstance(response, list):
            raise ValueError("a response document needs a 'response' list")
        for obj in response:
            if not isinstance(obj, dict) or "objkey" not in obj or "objcontent" not in obj:
                raise ValueError("every response object needs objkey and objcontent")
        doc.objects = response
        extra = data.get("extra") or {}
        doc.extra = dict(zip(extra.get("keys", []), extra.get("values", []), strict=False))
        return doc

    @classmethod
    def from_json(cls, text: str) -> Document:
        return cls.from_dict(json.loads(text))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)
