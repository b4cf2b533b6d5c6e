"""The SOAP envelope of Ophidia's one operation, ``ophExecuteMain``, both ways.

The request carries the JSON workflow as the text of an unqualified ``ophExecuteMainRequest``
inside ``{urn:oph}ophExecuteMain``; the answer is ``{urn:oph}ophResponse`` with unqualified
``jobid``, ``response`` and ``error`` children, in that order, as gSOAP writes them.
"""

from __future__ import annotations

import itertools
import re
from xml.etree import ElementTree
from xml.sax.saxutils import escape

__all__ = ["MAX_JSON_DEPTH", "SoapError", "fault", "json_depth", "parse_request", "response"]

MAX_JSON_DEPTH = 32  # a workflow needs 4 levels; far deeper JSON only costs the parser
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_OPENERS = str.maketrans({"[": "(", "{": "("})
OPH = "urn:oph"
ENVELOPE = "http://schemas.xmlsoap.org/soap/envelope/"


class SoapError(Exception):
    """The body is not an ophExecuteMain request."""


def parse_request(body: bytes) -> str:
    """The JSON text of an ``ophExecuteMain`` request."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as err:
        raise SoapError(f"the body is not XML: {err}") from None
    if root.tag != f"{{{ENVELOPE}}}Envelope":
        raise SoapError("the body is not a SOAP envelope")
    call = root.find(f".//{{{OPH}}}ophExecuteMain")
    if call is None:
        raise SoapError("the envelope holds no ophExecuteMain call")
    request = call.find("ophExecuteMainRequest")
    if request is None or not (request.text or "").strip():
        raise SoapError("ophExecuteMain carries no ophExecuteMainRequest")
    return request.text


def json_depth(text: str) -> int:
    """How deeply the arrays and objects of a JSON text nest, counted without parsing it."""
    brackets = re.sub(r"[^\[\]{}]", "", _JSON_STRING.sub("", text)).translate(_OPENERS)
    steps = (1 if c == "(" else -1 for c in brackets)
    return max(itertools.accumulate(steps, initial=0))


def _envelope(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{ENVELOPE}" xmlns:oph="{OPH}">'
        f"<SOAP-ENV:Body>{body}</SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode("ascii", "xmlcharrefreplace")


def response(error: int, jobid: str | None = None, document: str | None = None) -> bytes:
    """An ``ophResponse``; jobid and response are left out when there are none."""
    parts = []
    if jobid:
        parts.append(f"<jobid>{escape(jobid)}</jobid>")
    if document is not None:
        parts.append(f"<response>{escape(document).replace(chr(10), '&#xA;')}</response>")
    parts.append(f"<error>{int(error)}</error>")
    return _envelope(f"<oph:ophResponse>{''.join(parts)}</oph:ophResponse>")


def fault(reason: str, *, client: bool = True) -> bytes:
    """A SOAP fault: the request could not be understood (client) or served (server)."""
    code = "SOAP-ENV:Client" if client else "SOAP-ENV:Server"
    return _envelope(
        f"<SOAP-ENV:Fault><faultcode>{code}</faultcode>"
        f"<faultstring>{escape(reason)}</faultstring></SOAP-ENV:Fault>"
    )
