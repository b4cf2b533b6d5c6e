"""The command language: parse a line, expand variables and aliases, validate against specs."""

from ophsh.syntax.expand import (
    expand_alias,
    split_words,
    strip_comment,
    substitute,
    substitute_positional,
)
from ophsh.syntax.parse import (
    Pairs,
    is_group,
    parse_arguments,
    parse_request,
    split_values,
)
from ophsh.syntax.repair import repair
from ophsh.syntax.validate import missing_mandatory, resolve_operator, validate

__all__ = [
    "Pairs",
    "expand_alias",
    "is_group",
    "missing_mandatory",
    "parse_arguments",
    "parse_request",
    "repair",
    "resolve_operator",
    "split_values",
    "split_words",
    "strip_comment",
    "substitute",
    "substitute_positional",
    "validate",
]
