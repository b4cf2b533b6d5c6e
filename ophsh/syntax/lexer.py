"""A pygments lexer for the command language: operator, key, ``=``, value, ``|``, brackets,
``$variables`` and ``#`` comments. The prompt colours what is typed with it, and it reads
``.oph`` files (``pygmentize -l oph`` once ophsh is installed)."""

from __future__ import annotations

from typing import ClassVar

from pygments.lexer import RegexLexer, bygroups, include
from pygments.token import Comment, Name, Operator, Punctuation, String, Text, Whitespace

__all__ = ["CommandLexer"]


class CommandLexer(RegexLexer):
    name = "Ophidia command"
    aliases: ClassVar[list[str]] = ["oph", "ophsh"]
    filenames: ClassVar[list[str]] = ["*.oph"]

    tokens: ClassVar[dict] = {
        "root": [
            (r"\s*#.*$", Comment.Single),
            (r"\s+", Whitespace),
            (r"(\./|/|~)\S+", Name.Namespace, "arguments"),  # a workflow file
            (r"oph_\w+", Name.Function, "arguments"),
            (r"[A-Za-z_][\w.-]*", Name.Builtin, "arguments"),
        ],
        "arguments": [
            (r"\n", Whitespace, "#pop"),
            (r"[ \t]+", Whitespace),
            (r"#.*$", Comment.Single),
            (r"([A-Za-z_]\w*)(=)", bygroups(Name.Attribute, Operator)),
            include("value"),
        ],
        "bracket": [
            (r"\]", Punctuation, "#pop"),
            (r"([A-Za-z_]\w*)(=)", bygroups(Name.Attribute, Operator)),
            include("value"),
        ],
        "value": [
            (r"\$\{\w+\}|\$\w+", Name.Variable),
            (r"[@&]\{\w+\}", Name.Variable),
            (r"\[", Punctuation, "bracket"),
            (r"\|", Operator),
            (r";", Punctuation),
            (r"!", Operator),
            (r"[^\s;|\[\]$#=]+", String),
            (r"[$#=]", Text),
        ],
    }
