"""oph_metadata: read, insert, update and delete the metadata of a cube."""

from __future__ import annotations

from ophsh.engine.context import OpContext
from ophsh.engine.metadata import MetadataItem, MetadataRecord, MetadataSelection
from ophsh.engine.model import Cube
from ophsh.engine.params import Params
from ophsh.errors import NotFoundError, OperatorError, ValidationError
from ophsh.syntax import split_values

__all__ = ["METADATA_COLUMNS", "metadata"]

METADATA_COLUMNS = ("Id", "Variable", "Key", "Type", "Value", "Last_Modified", "User", "Vocabulary")
NUMERIC_TYPES = {"double": float, "float": float, "long": int, "int": int, "short": int}


def metadata(ctx: OpContext, p: Params) -> None:
    cube = ctx.cube(p.str("cube"))
    mode = p.str("mode")
    if mode == "read":
        _read(ctx, p, cube)
    elif mode == "insert":
        _insert(ctx, p, cube)
    elif mode == "update":
        _update(ctx, p, cube)
    elif mode == "delete":
        _delete(ctx, p, cube)


def _selection(p: Params) -> MetadataSelection:
    """The items chosen by id, else by keys and the three substring filters."""
    keys = p.list("metadata_key")

    def text(name: str) -> str:
        value = p.str(name)
        return "" if value == "all" else value

    return MetadataSelection(
        item_id=max(0, p.int("metadata_id")),
        keys=tuple(keys) if keys and keys != ["all"] else (),
        variable=text("variable_filter"),
        type=text("metadata_type_filter"),
        value=text("metadata_value_filter"),
    )


def _read(ctx: OpContext, p: Params, cube: Cube) -> None:
    records = ctx.store.metadata.select(cube.id, _selection(p))
    ctx.doc.add_text("metadata_summary", "Summary", f"Found {len(records)} items")
    ctx.doc.add_grid(
        "metadata_list",
        "Searching results",
        METADATA_COLUMNS,
        ["string"] * len(METADATA_COLUMNS),
        [
            [
                r.id,
                r.item.variable,
                r.item.key,
                r.item.type,
                r.item.value,
                r.modified,
                r.user,
                r.item.vocabulary,
            ]
            for r in records
        ],
    )


def _check_type(kind: str, value: str) -> None:
    convert = NUMERIC_TYPES.get(kind)
    if convert is None:
        return
    try:
        convert(value)
    except ValueError:
        raise ValidationError(f"metadata_value '{value}' is not a {kind}") from None


def _insert(ctx: OpContext, p: Params, cube: Cube) -> None:
    keys = p.list("metadata_key")
    values = split_values(p.str("metadata_value")) if p.opt("metadata_value") else []
    if not keys or keys == ["all"] or not values:
        raise ValidationError("insert needs metadata_key= and metadata_value=")
    if len(keys) == 1 and len(values) > 1:
        keys = keys * len(values)
    if len(keys) != len(values):
        raise ValidationError("insert needs one metadata_value per metadata_key")
    kind = p.str("metadata_type")
    for value in values:
        _check_type(kind, value)
    variable = "" if p.str("variable") == "global" else p.str("variable")
    items = [MetadataItem(k, v, kind, variable) for k, v in zip(keys, values, strict=False)]
    ctx.store.metadata.add(cube.id, items, ctx.user)


def _one(ctx: OpContext, p: Params, cube: Cube) -> MetadataRecord:
    item_id = p.int("metadata_id")
    if item_id <= 0:
        raise ValidationError("this mode needs metadata_id= (see the Id column of mode=read)")
    found = ctx.store.metadata.select(cube.id, MetadataSelection(item_id=item_id))
    if not found:
        raise NotFoundError(f"cube {cube.pid} has no metadata item {item_id}")
    if found[0].item.vocabulary and not p.yes("force"):
        raise OperatorError(
            f"'{found[0].item.key}' is controlled by a vocabulary", hint="add force=yes"
        )
    return found[0]


def _update(ctx: OpContext, p: Params, cube: Cube) -> None:
    record = _one(ctx, p, cube)
    value = p.opt("metadata_value")
    if value is None:
        raise ValidationError("update needs metadata_value=")
    _check_type(record.item.type, value)
    ctx.store.metadata.update(record.id, value, ctx.user)


def _delete(ctx: OpContext, p: Params, cube: Cube) -> None:
    if p.int("metadata_id") > 0:
        records = [_one(ctx, p, cube)]
    else:
        records = ctx.store.metadata.select(cube.id, _selection(p))
        locked = [r.item.key for r in records if r.item.vocabulary]
        if locked and not p.yes("force"):
            raise OperatorError(
                f"'{locked[0]}' is controlled by a vocabulary", hint="add force=yes"
            )
    ctx.store.metadata.delete(r.id for r in records)
