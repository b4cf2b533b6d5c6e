"""The HTTPS side of ``ophsh serve``: one POST per request, Basic authentication, SOAP in and
out, the embedded store's :class:`~ophsh.engine.service.Service` in between.

Each connection gets its own thread (the TLS handshake too, so a slow client cannot hold the
others up); bodies are bounded in size and their reading in time; a request that cannot be
understood gets a SOAP fault and the server goes on.
"""

from __future__ import annotations

import base64
import binascii
import logging
import ssl
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ophsh.engine.service import AUTH_ERROR, Service
from ophsh.server import soap
from ophsh.server.users import Users

__all__ = ["OphidiaServer"]

log = logging.getLogger(__name__)


class OphidiaServer(ThreadingHTTPServer):
    """An HTTPS server answering Ophidia's ``ophExecuteMain`` for the users of a store."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(
        self,
        address: tuple[str, int],
        service: Service,
        users: Users,
        context: ssl.SSLContext,
        *,
        max_body: int = 16 << 20,
        read_timeout: float = 30.0,
    ) -> None:
        super().__init__(address, _Handler)
        self.socket = context.wrap_socket(
            self.socket, server_side=True, do_handshake_on_connect=False
        )
        self.service = service
        self.users = users
        self.max_body = max_body
        self.read_timeout = read_timeout

    def handle_error(self, request, client_address) -> None:
        log.warning("error while serving %s", client_address[0], exc_info=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"https://{host}:{port}"


class _Handler(BaseHTTPRequestHandler):
    server: OphidiaServer
    server_version = "ophsh"

    def setup(self) -> None:
        self.timeout = self.server.read_timeout  # applies to the handshake and every read
        super().setup()
        self.shaken = False
        try:
            self.connection.do_handshake()
            self.shaken = True
        except (ssl.SSLError, OSError) as err:
            log.info("TLS handshake with %s failed: %s", self.client_address[0], err)

    def handle(self) -> None:
        if not self.shaken:
            return
        try:
            super().handle()
        except (TimeoutError, ConnectionError, ssl.SSLError) as err:
            log.info("connection from %s dropped: %s", self.client_address[0], err)

    def do_GET(self) -> None:
        self._send(405, soap.fault("only POST of ophExecuteMain is served"))

    def do_POST(self) -> None:
        length = self.headers.get("Content-Length")
        if length is None or not length.strip().isdigit():
            self._send(411, soap.fault("the request needs a Content-Length"))
            return
        size = int(length)
        if size > self.server.max_body:
            self._send(413, soap.fault(f"the request is larger than {self.server.max_body} bytes"))
            return
        body = self.rfile.read(size)
        if len(body) < size:
            self._send(400, soap.fault(f"the body ended after {len(body)} of {size} bytes"))
            return
        user = self._user()
        if user is None:
            self._send(200, soap.response(AUTH_ERROR))
            return
        try:
            request = soap.parse_request(body)
        except soap.SoapError as err:
            self._send(400, soap.fault(str(err)))
            return
        try:
            reply = self.server.service.execute(user, request)
        except Exception:  # a bug: the client gets a fault, the log the traceback
            log.exception("request of %s failed", user)
            self._send(500, soap.fault("internal server error", client=False))
            return
        document = reply.document.to_json() if reply.document is not None else None
        if reply.error and reply.message and document is None:
            log.info("request of %s refused (%s): %s", user, reply.error, reply.message)
        self._send(200, soap.response(reply.error, reply.jobid, document))

    def _user(self) -> str | None:
        """The authenticated user name, or None."""
        header = self.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            name, sep, password = base64.b64decode(encoded.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if not sep or not self.server.users.authenticate(name, password):
            return None
        return name

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", 'text/xml; charset="UTF-8"')
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, format: str, *args) -> None:
        log.debug("%s %s", self.client_address[0], format % args)
