"""oph_metadata: read, insert, update and delete the metadata of a cube."""

from __future__ import annotations

from ophsh.engine.catalog import now
from ophsh.engine.context import OpContext
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


def _selection(p: Params, cube: Cube) -> tuple[str, list]:
    """SQL condition and arguments for the items chosen by id, keys and the three filters."""
    where, args = ["cube = ?"], [cube.id]
    item_id = p.int("metadata_id")
    if item_id > 0:
        return "cube = ? AND id = ?", [cube.id, item_id]
    keys = p.list("metadata_key")
    if keys and keys != ["all"]:
        where.append(f"key IN ({','.join('?' * len(keys))})")
        args += keys
    for param, column in (
        ("variable_filter", "variable"),
        ("metadata_type_filter", "type"),
        ("metadata_value_filter", "value"),
    ):
        value = p.str(param)
        if value and value != "all":
            where.append(f"instr({column}, ?) > 0")
            args.append(value)
    return " AND ".join(where), args


def _read(ctx: OpContext, p: Params, cube: Cube) -> None:
    condition, args = _selection(p, cube)
    rows = ctx.store.catalog.query(
        f"SELECT * FROM metadata WHERE {condition} ORDER BY id", tuple(args)
    )
    ctx.doc.add_text("metadata_summary", "Summary", f"Found {len(rows)} items")
    ctx.doc.add_grid(
        "metadata_list",
        "Searching results",
        METADATA_COLUMNS,
        ["string"] * len(METADATA_COLUMNS),
        [
            [
                r["id"],
                r["variable"],
                r["key"],
                r["type"],
                r["value"],
                r["modified"],
                r["user"],
                r["vocabulary"],
            ]
            for r in rows
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
    with ctx.store.catalog.write() as db:
        db.executemany(
            "INSERT INTO metadata (cube, variable, key, type, value, modified, user) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (cube.id, variable, k, kind, v, now(), ctx.user)
                for k, v in zip(keys, values, strict=False)
            ],
        )


def _one(ctx: OpContext, p: Params, cube: Cube):
    item_id = p.int("metadata_id")
    if item_id <= 0:
        raise ValidationError("this mode needs metadata_id= (see the Id column of mode=read)")
    row = ctx.store.catalog.one(
        "SELECT * FROM metadata WHERE cube = ? AND id = ?", (cube.id, item_id)
    )
    if row is None:
        raise NotFoundError(f"cube {cube.pid} has no metadata item {item_id}")
    if row["vocabulary"] and not p.yes("force"):
        raise OperatorError(f"'{row['key']}' is controlled by a vocabulary", hint="add force=yes")
    return row


def _update(ctx: OpContext, p: Params, cube: Cube) -> None:
    row = _one(ctx, p, cube)
    value = p.opt("metadata_value")
    if value is None:
        raise ValidationError("update needs metadata_value=")
    _check_type(row["type"], value)
    with ctx.store.catalog.write() as db:
        db.execute(
            "UPDATE metadata SET value = ?, modified = ?, user = ? WHERE id = ?",
            (value, now(), ctx.user, row["id"]),
        )


def _delete(ctx: OpContext, p: Params, cube: Cube) -> None:
    if p.int("metadata_id") > 0:
        rows = [_one(ctx, p, cube)]
    else:
        condition, args = _selection(p, cube)
        rows = ctx.store.catalog.query(f"SELECT * FROM metadata WHERE {condition}", tuple(args))
        locked = [r["key"] for r in rows if r["vocabulary"]]
        if locked and not p.yes("force"):
            raise OperatorError(
                f"'{locked[0]}' is controlled by a vocabulary", hint="add force=yes"
            )
    with ctx.store.catalog.write() as db:
        db.executemany("DELETE FROM metadata WHERE id = ?", [(r["id"],) for r in rows])
