"""The HTTPS side of ``ophsh serve``: one POST per request, Basic authentication, SOAP in and
out, the embedded store's :class:`~ophsh.engine.service.Service` in between.

Each connection gets its own thread (the TLS handshake too, so a slow client cannot hold the
others up), up to a number of connections in all and per client address; beyond that a new
connection is closed at once. The handshake, headers and body of a request must arrive within
one deadline, however slowly they trickle in; bodies are bounded in size. A request that cannot
be understood gets a clear answer, and anything unexpected an answer naming an error id that
the log shows with the traceback; the server goes on.
"""

from __future__ import annotations

import base64
import io
import logging
import re
import secrets
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ophsh.document import Document
from ophsh.engine.service import AUTH_ERROR, WRONG_PARAMETER, Service
from ophsh.server import soap
from ophsh.server.users import Refused, Users
from ophsh.server.xml_catalogue import XmlCatalogue

__all__ = ["OphidiaServer"]

log = logging.getLogger(__name__)

UNKNOWN_ERROR = 1
_LENGTH = re.compile(r"[0-9]{1,15}")


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
        max_connections: int = 128,
        max_per_address: int = 32,
        catalogue: XmlCatalogue | None = None,
    ) -> None:
        super().__init__(address, _Handler)
        self.socket = context.wrap_socket(
            self.socket, server_side=True, do_handshake_on_connect=False
        )
        self.service = service
        self.users = users
        self.max_body = max_body
        self.read_timeout = read_timeout
        self.max_connections, self.max_per_address = max_connections, max_per_address
        self.catalogue = catalogue
        self._open: dict[str, int] = {}  # client address -> connections being served
        self._open_lock = threading.Lock()

    def process_request(self, request: socket.socket, client_address) -> None:
        address = client_address[0]
        with self._open_lock:
            full = (
                sum(self._open.values()) >= self.max_connections
                or self._open.get(address, 0) >= self.max_per_address
            )
            if not full:
                self._open[address] = self._open.get(address, 0) + 1
        if full:
            log.warning("too many connections: one from %s closed unanswered", address)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._closed(address)
            raise

    def process_request_thread(self, request: socket.socket, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.service.store.catalog.close()  # this thread's connection, not left to the GC
            self._closed(client_address[0])

    def _closed(self, address: str) -> None:
        with self._open_lock:
            left = self._open.get(address, 0) - 1
            if left > 0:
                self._open[address] = left
            else:
                self._open.pop(address, None)

    def handle_error(self, request, client_address) -> None:
        log.warning("error while serving %s", client_address[0], exc_info=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"https://{host}:{port}"


class _Deadline(io.RawIOBase):
    """Reads from a socket, each read allowed only what is left of one deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock, self.deadline = sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request did not arrive in time")
        self.sock.settimeout(left)
        return self.sock.recv_into(buffer)


class _Handler(BaseHTTPRequestHandler):
    server: OphidiaServer
    server_version = "ophsh"

    def setup(self) -> None:
        self.timeout = self.server.read_timeout  # the handshake, then writes
        deadline = time.monotonic() + self.server.read_timeout
        super().setup()
        self.rfile.close()  # reads go through the deadline instead
        self.rfile = io.BufferedReader(_Deadline(self.connection, deadline))
        self.answered = False
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
        self._page(with_body=True)

    def do_HEAD(self) -> None:
        self._page(with_body=False)

    def _page(self, *, with_body: bool) -> None:
        """The operator XMLs (and their index) oph_term downloads for completion: public,
        as on Ophidia's web server; anything else is not served."""
        page = self.server.catalogue.page(self.path) if self.server.catalogue else None
        self.answered = True
        if page is None:
            body = b"not found: POST ophExecuteMain to /, or GET / for the operator XMLs\n"
            self.send_response(404)
            self.send_header("Content-Type", "text/plain; charset=us-ascii")
        else:
            body = page.body
            self.send_response(200)
            self.send_header("Content-Type", page.content_type)
            self.send_header("Last-Modified", page.last_modified)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if with_body:
            self.wfile.write(body)
        self.close_connection = True

    def do_POST(self) -> None:
        body = self._body()
        if body is None:
            return
        try:
            self._answer(body)
        except Exception as err:
            if self.answered and isinstance(err, (ConnectionError, TimeoutError, ssl.SSLError)):
                raise  # the client left while the answer was being sent
            ident = secrets.token_hex(4)
            log.exception("internal error %s while serving %s", ident, self.client_address[0])
            if not self.answered:
                message = f"internal error {ident} in ophsh serve; its log has the details"
                document = Document(producer="ophsh").fail(message).to_json()
                self._send(200, soap.response(UNKNOWN_ERROR, document=document))

    def _body(self) -> bytes | None:
        """The body, read within the deadline; None when it was refused (and answered)."""
        length = self.headers.get("Content-Length")
        if length is None:
            self._send(411, soap.fault("the request needs a Content-Length"))
            return None
        if not _LENGTH.fullmatch(length.strip()):
            self._send(400, soap.fault("the Content-Length is not a number of bytes"))
            return None
        size = int(length)
        if size > self.server.max_body:
            self._send(413, soap.fault(f"the request is larger than {self.server.max_body} bytes"))
            return None
        body = self.rfile.read(size)
        if len(body) < size:
            self._send(400, soap.fault(f"the body ended after {len(body)} of {size} bytes"))
            return None
        self.connection.settimeout(self.server.read_timeout)  # for the answer
        return body

    def _answer(self, body: bytes) -> None:
        credentials = self._credentials()
        if credentials is None:
            self._send(400, soap.fault("the Authorization header is not Basic user:password"))
            return
        if not credentials[0]:  # no name: nothing to check, nothing to throttle
            self._send(200, soap.response(AUTH_ERROR))
            return
        try:
            user = self.server.users.authenticate(*credentials, self.client_address[0])
        except Refused as refused:
            self._send(200, soap.response(AUTH_ERROR), retry_after=refused.wait)
            return
        if user is None:
            self._send(200, soap.response(AUTH_ERROR))
            return
        try:
            request = soap.parse_request(body)
        except soap.SoapError as err:
            self._send(400, soap.fault(str(err)))
            return
        if soap.json_depth(request) > soap.MAX_JSON_DEPTH:
            log.info("request of %s refused: JSON nested too deep", user)
            self._send(200, soap.response(WRONG_PARAMETER))
            return
        reply = self.server.service.execute(user, request)
        document = reply.document.to_json() if reply.document is not None else None
        if reply.error and reply.message and document is None:
            log.info("request of %s refused (%s): %s", user, reply.error, reply.message)
        self._send(200, soap.response(reply.error, reply.jobid, document))

    def _credentials(self) -> tuple[str, str] | None:
        """(name, password) of a Basic Authorization header; ("", "") when there is none,
        None when it is malformed."""
        header = self.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if not header or scheme.lower() != "basic":
            return ("", "") if not header else None
        try:
            text = base64.b64decode(encoded.strip(), validate=True).decode()
        except ValueError:  # not base64 (or not ASCII), or not UTF-8 once decoded
            return None
        name, sep, password = text.partition(":")
        return (name, password) if sep else None

    def _send(self, status: int, body: bytes, *, retry_after: float | None = None) -> None:
        self.answered = True
        self.send_response(status)
        self.send_header("Content-Type", 'text/xml; charset="UTF-8"')
        self.send_header("Content-Length", str(len(body)))
        if retry_after is not None:
            self.send_header("Retry-After", str(max(1, round(retry_after))))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, format: str, *args) -> None:
        log.debug("%s %s", self.client_address[0], format % args)
