"""The operator XML files oph_term downloads for its completion, made from ``grammar/``.

oph_term asks ``oph_get_config`` for ``OPH_XML_URL``, reads the page at that URL for links
``<a href="OPH_NAME_operator_1.0.xml">``, asks each file's ``Last-Modified`` with a HEAD and
fetches the newer ones; completion then reads ``/operator/@name`` and every
``//args/argument`` (type, mandatory, default, minvalue, maxvalue, values). The files follow the
layout of Ophidia's operator XMLs; the parameter facts come from ``grammar/operators.json``, the
abstract from our own help (the one oph_man shows).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formatdate
from xml.sax.saxutils import escape, quoteattr

from ophsh.engine.ops.catalogue import AUTHOR, VERSION, abstract
from ophsh.spec import OperatorSpec, ParamSpec, Specs, grammar_dir

__all__ = ["XmlCatalogue", "operator_xml"]

_ARG_INDENT = "\t\t"


def file_name(spec: OperatorSpec) -> str:
    """``OPH_CUBESIZE_operator_1.0.xml`` for oph_cubesize, as Ophidia names them."""
    return f"{spec.name.upper()}_operator_{VERSION}.xml"


def _argument(param: ParamSpec) -> str:
    attrs = [("type", param.type), ("mandatory", "yes" if param.mandatory else "no")]
    for name in ("default", "minvalue", "maxvalue"):
        value = getattr(param, name)
        if value is not None:
            attrs.append((name, value))
    if param.values:
        attrs.append(("values", "|".join(param.values)))
    if param.allownot:
        attrs.append(("allownot", "yes"))
    if param.multivalue:
        attrs.append(("multivalue", "yes"))
    text = " ".join(f"{key}={quoteattr(value)}" for key, value in attrs)
    return f"{_ARG_INDENT}<argument {text}>{escape(param.name)}</argument>"


def operator_xml(spec: OperatorSpec) -> str:
    """One operator's XML document."""
    params = [p for p in spec.params if not p.is_global]
    arguments = "\n".join(_argument(p) for p in params)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE operator SYSTEM "ophidiaoperator.dtd">\n'
        f'<operator name="{spec.name.upper()}" version="{VERSION}">\n'
        "    <info>\n"
        f"        <abstract>{escape(abstract(spec))}</abstract>\n"
        f"        <author>{escape(AUTHOR)}</author>\n"
        f"        <category>{escape(spec.category)}</category>\n"
        f"        <permission>{escape(spec.permission)}</permission>\n"
        "    </info>\n"
        "    <args>\n"
        f"{arguments}\n"
        "    </args>\n"
        "</operator>\n"
    )


@dataclass(frozen=True)
class Page:
    """A file of the catalogue as served: body, content type, Last-Modified."""

    body: bytes
    content_type: str
    last_modified: str


class XmlCatalogue:
    """Every operator's XML and an index page linking them, made once."""

    def __init__(self, specs: Specs) -> None:
        stamp = max(p.stat().st_mtime for p in grammar_dir().rglob("*") if p.is_file())
        modified = formatdate(stamp, usegmt=True)
        self.files: dict[str, Page] = {}
        for spec in sorted(specs.operators.values(), key=lambda s: s.name):
            body = operator_xml(spec).encode("ascii", "xmlcharrefreplace")
            self.files[file_name(spec)] = Page(body, "application/xml", modified)
        links = "\n".join(f'<li><a href="{name}">{name}</a></li>' for name in self.files)
        index = (
            "<!DOCTYPE html>\n<html><head><title>Ophidia operators (ophsh serve)</title></head>\n"
            "<body><h1>Ophidia operators</h1>\n<p>The operator descriptions oph_term reads for "
            "its completion.</p>\n<ul>\n"
            f"{links}\n</ul></body></html>\n"
        )
        self.index = Page(index.encode("ascii"), "text/html; charset=us-ascii", modified)

    def page(self, path: str) -> Page | None:
        """The page at a URL path (``/`` or ``/OPH_..._operator_1.0.xml``), None if none."""
        name = path.split("?", 1)[0].lstrip("/")
        if not name or name == "index.html":
            return self.index
        return self.files.get(name)
