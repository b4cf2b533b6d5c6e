"""The conditions of oph_if and oph_elseif: after variable substitution, ``true``/``false``, a
number, or a comparison with ``&&``, ``||`` and arithmetic. The text is parsed, never run."""

from __future__ import annotations

import ast
import operator

from ophsh.engine.ast_lock import AST_LOCK
from ophsh.errors import OphshError

__all__ = ["ConditionError", "truth"]


class ConditionError(OphshError):
    """A condition that cannot be read."""


_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_ARITH = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
}


def truth(condition: str) -> bool:
    """A condition after variable substitution: true/false, a number, or a comparison."""
    text = condition.strip()
    if text.lower() in ("true", "yes"):
        return True
    if text.lower() in ("false", "no", ""):
        return False
    source = text.replace("&&", " and ").replace("||", " or ").replace("!=", "≠")
    source = source.replace("==", "=").replace("=", "==").replace("≠", "!=")
    source = source.replace("<==", "<=").replace(">==", ">=")
    try:
        with AST_LOCK:
            tree = ast.parse(source, mode="eval")
    except SyntaxError:
        raise ConditionError(f"condition '{condition}' is not an expression") from None

    def walk(node):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)):
            return node.value
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)):
            value = walk(node.operand)
            return -value if isinstance(node.op, ast.USub) else not value
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
            return _ARITH[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.BoolOp):
            values = [walk(v) for v in node.values]
            return all(values) if isinstance(node.op, ast.And) else any(values)
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
            return _COMPARE[type(node.ops[0])](walk(node.left), walk(node.comparators[0]))
        raise ConditionError(f"condition '{condition}': only numbers, names and comparisons")

    try:
        return bool(walk(tree))
    except TypeError:
        raise ConditionError(
            f"condition '{condition}' compares things of different kinds"
        ) from None
