"""Parse an operator line into a :class:`~ophsh.request.TaskRequest`, with the grammar of
``grammar/command.lark``."""

from __future__ import annotations

from functools import cache

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ophsh.errors import ParseError
from ophsh.request import TaskRequest
from ophsh.spec import load_specs

__all__ = ["Pairs", "is_group", "parse_arguments", "parse_request", "split_values"]

# ``key=value`` pairs in the order written; values are the raw text, trimmed, brackets kept.
Pairs = tuple[tuple[str, str], ...]


@cache
def _parser() -> Lark:
    # cache=True keeps the compiled tables in the temporary directory, keyed by the grammar's
    # text: building them took a third of the time `ophsh -e` needed to start.
    return Lark(
        load_specs().grammar_text,
        start=["request", "arguments"],
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=False,
        cache=True,
    )


def parse_request(text: str) -> TaskRequest:
    """Parse ``oph_operator key=value;...``: the operator word as typed (not yet checked
    against the specs), the pairs in order (keys in lower case, as Ophidia compares them),
    and the text itself as the command."""
    tree = _parse(text, "request")
    name = tree.children[0]
    assert isinstance(name, Token)
    arguments: Pairs = ()
    if len(tree.children) > 1:
        args_tree = tree.children[1]
        assert isinstance(args_tree, Tree)
        arguments = _arguments(args_tree, text)
    return TaskRequest(str(name), arguments, text)


def parse_arguments(text: str) -> Pairs:
    """Parse ``key=value;key=value`` alone, e.g. the inside of a bracket filter."""
    if not text.strip(" ;\t"):
        return ()
    return _arguments(_parse(text, "arguments"), text)


def _parse(text: str, start: str) -> Tree:
    try:
        return _parser().parse(text, start=start)
    except UnexpectedInput as err:
        raise _explain(err, text) from None


def _arguments(tree: Tree, text: str) -> Pairs:
    out = []
    for pair in tree.children:
        assert isinstance(pair, Tree)
        key, value = pair.children
        assert isinstance(key, Token) and isinstance(value, Tree)
        raw = text[value.meta.start_pos : value.meta.end_pos] if value.children else ""
        out.append((str(key).lower(), raw.strip()))
    return tuple(out)


def _explain(err: UnexpectedInput, text: str) -> ParseError:
    """Turn a lark error into one sentence a user can act on."""
    column = getattr(err, "column", None)
    where = f" at column {column}" if isinstance(column, int) and column > 0 else ""
    if isinstance(err, UnexpectedEOF) or (
        isinstance(err, UnexpectedToken) and err.token.type == "$END"
    ):
        if text.count("[") > text.count("]"):
            return ParseError("unclosed '[' in a value", column=column, hint="add the missing ']'")
        prev = _word_before(text, len(text))
        return ParseError(f"expected '=' after '{prev}'", column=column, hint=f"write {prev}=VALUE")
    if isinstance(err, UnexpectedToken):
        token = err.token
        if token.type == "RSQB":
            return ParseError(f"']' without a matching '['{where}", column=column)
        if token.type == "EQUAL" or str(token).startswith("="):
            return ParseError(f"missing parameter name before '='{where}", column=column)
        if "EQUAL" in err.expected:
            prev = _word_before(text, token.start_pos or 0)
            return ParseError(
                f"expected '=' after '{prev}'{where}",
                column=column,
                hint="parameters are written key=value and separated by ';'",
            )
        return ParseError(f"unexpected '{token}'{where}", column=column)
    if isinstance(err, UnexpectedCharacters):
        char = text[err.pos_in_stream] if err.pos_in_stream < len(text) else ""
        if char == "]":
            return ParseError(f"']' without a matching '['{where}", column=column)
        if char == "[":
            return ParseError(
                f"a '[' group must follow '='{where}",
                column=column,
                hint="write key=[...]",
            )
        return ParseError(f"unexpected character {char!r}{where}", column=column)
    return ParseError(f"cannot read this command{where}", column=column)


def _word_before(text: str, pos: int) -> str:
    words = text[:pos].replace(";", " ").split()
    return words[-1] if words else text.strip()


def is_group(value: str) -> bool:
    """True when the whole value is one bracket group, e.g. ``[container=c;level=0]``."""
    if not (value.startswith("[") and value.endswith("]")):
        return False
    depth = 0
    for i, char in enumerate(value):
        depth += char == "["
        depth -= char == "]"
        if depth == 0 and i < len(value) - 1:
            return False
    return depth == 0


def split_values(value: str) -> list[str]:
    """Split a multi-value on ``|`` outside brackets: ``a|[x|y]|b`` -> ``a``, ``[x|y]``, ``b``."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(value):
        if char == "[":
            depth += 1
        elif char == "]":
            depth = max(0, depth - 1)
        elif char == "|" and depth == 0:
            parts.append(value[start:i].strip())
            start = i + 1
    parts.append(value[start:].strip())
    return parts
