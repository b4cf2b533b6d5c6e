"""``ophsh serve`` and ``ophsh user``: run the server, manage who may use it."""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import ssl
import sys
import threading
from dataclasses import replace
from pathlib import Path

from ophsh.engine.service import Service
from ophsh.engine.sessions import Sessions
from ophsh.engine.settings import Settings
from ophsh.engine.store import Store
from ophsh.errors import ExitCode, OphshError
from ophsh.locations import default_store
from ophsh.server.http import OphidiaServer
from ophsh.server.tls import self_signed
from ophsh.server.users import Users
from ophsh.server.xml_catalogue import XmlCatalogue
from ophsh.spec import load_specs
from ophsh.workflow.run import WorkflowEngine

__all__ = ["main"]

log = logging.getLogger(__name__)

DEFAULT_PORT = 11732


def _gigabytes(value: float) -> int | None:
    return int(value * (1 << 30)) if value > 0 else None


def _serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ophsh serve",
        description="Serve the embedded store over Ophidia's protocol (HTTPS, SOAP, JSON), "
        "for PyOphidia, oph_term and ophsh -H.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--store", type=Path, help="store directory (or OPHSH_STORE)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path.cwd(),
        help="the only directory clients may read and write (default: here)",
    )
    parser.add_argument("--cert", type=Path, help="TLS certificate (PEM)")
    parser.add_argument("--key", type=Path, help="TLS private key (PEM)")
    parser.add_argument("--max-body-mb", type=float, default=16, help="largest request")
    parser.add_argument(
        "--read-timeout",
        type=float,
        default=30,
        help="seconds a request may take to arrive whole (TLS handshake, headers and body)",
    )
    parser.add_argument(
        "--max-connections", type=int, default=128, help="connections served at once"
    )
    parser.add_argument(
        "--max-connections-per-address",
        type=int,
        default=32,
        help="connections served at once for one client address",
    )
    parser.add_argument(
        "--max-request-seconds",
        type=float,
        default=1800,
        help="longest run of a synchronous request before it is stopped (0: no limit); "
        "asynchronous jobs are not limited",
    )
    parser.add_argument("--workers", type=int, default=4, help="asynchronous jobs at once")
    parser.add_argument(
        "--quota-gb",
        type=float,
        default=20,
        help="what one user's cubes may take together (0: no limit)",
    )
    parser.add_argument(
        "--max-cube-gb", type=float, default=4, help="the largest new cube (0: no limit)"
    )
    parser.add_argument(
        "--allow-scripts",
        action="store_true",
        help="let oph_script run programs of the data directory (off: users could run programs)",
    )
    parser.add_argument(
        "--xml-url",
        help="OPH_XML_URL given to clients: where oph_term downloads the operator XMLs "
        "(default: this server's own https://HOST:PORT/)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return parser


def _user_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ophsh user", description="Users of ophsh serve.")
    parser.add_argument("--store", type=Path, help="store directory (or OPHSH_STORE)")
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="add a user; the password is read from standard input")
    add.add_argument("name")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        required=True,
        help="read the password from standard input (never from the command line)",
    )
    add.add_argument(
        "--admin", action="store_true", help="may read the service's log (oph_log_info)"
    )
    add.add_argument("--store", type=Path, default=argparse.SUPPRESS)
    rm = sub.add_parser("del", help="remove a user")
    rm.add_argument("name")
    rm.add_argument("--store", type=Path, default=argparse.SUPPRESS)
    token = sub.add_parser(
        "token",
        help="issue a token for a user (shown once; the client sends it as the password of "
        "user __token__)",
    )
    token.add_argument("name")
    token.add_argument("--revoke", action="store_true", help="remove the user's tokens instead")
    token.add_argument("--store", type=Path, default=argparse.SUPPRESS)
    ls = sub.add_parser("list", help="list the users")
    ls.add_argument("--store", type=Path, default=argparse.SUPPRESS)
    return parser


def main(argv: list[str]) -> int:
    command, rest = argv[0], argv[1:]
    try:
        return serve(rest) if command == "serve" else user(rest)
    except OphshError as err:
        print(f"ophsh {command}: {err}", file=sys.stderr)
        return err.exit_code


def user(argv: list[str]) -> int:
    options = _user_parser().parse_args(argv)
    store = Store.open(
        options.store or default_store(), web_server=Settings.from_environment().web_server
    )
    try:
        users = Users(store)
        if options.action == "add":
            password = sys.stdin.readline().rstrip("\r\n")
            users.add(options.name, password, admin=options.admin)
            print(f"user {options.name} added")
        elif options.action == "del":
            users.delete(options.name)
            print(f"user {options.name} removed")
        elif options.action == "token" and options.revoke:
            print(f"{users.revoke_tokens(options.name)} token(s) of {options.name} revoked")
        elif options.action == "token":
            print(users.issue_token(options.name))
        else:
            for name in users.names():
                print(f"{name} (administrator)" if users.is_admin(name) else name)
    finally:
        store.close()
    return ExitCode.OK


def _keep_apart(store: Path, data: Path, key: Path | None) -> None:
    """Refuse a store (or TLS key) that clients could reach through the data directory: they
    could list the catalog and the key, and move array files or the whole store away."""

    def inside(path: Path, directory: Path) -> bool:
        return path == directory or directory in path.parents

    if inside(store, data):
        raise OphshError(
            f"the store {store} lies inside the data directory {data}, where every client "
            "could reach its files; give --store elsewhere (or OPHSH_STORE) or another --data-dir"
        )
    if inside(data, store):
        raise OphshError(f"the data directory {data} lies inside the store {store}; choose another")
    if key is not None and inside(key.expanduser().resolve(), data):
        raise OphshError(f"the TLS key {key} lies inside the data directory {data}; move it")


def _public_url(server: OphidiaServer) -> str:
    """The URL clients reach this server at; a wildcard address is named by the host name."""
    host, port = server.server_address[:2]
    if host in ("0.0.0.0", "::", ""):
        host = socket.getfqdn()
    if ":" in host:
        host = f"[{host}]"
    return f"https://{host}:{port}/"


def serve(argv: list[str]) -> int:
    options = _serve_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if options.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    store_dir = (options.store or default_store()).expanduser()
    data_dir = options.data_dir.expanduser().resolve()
    if not data_dir.is_dir():
        raise OphshError(f"--data-dir {data_dir} is not a directory")
    _keep_apart(store_dir.resolve(), data_dir, options.key)
    settings = replace(
        Settings.from_environment(),
        quota_bytes=_gigabytes(options.quota_gb),
        max_cube_bytes=_gigabytes(options.max_cube_gb),
        scripts=options.allow_scripts,
    )
    store = Store.open(store_dir, fsync=settings.fsync, web_server=settings.web_server)
    stopped = Sessions(store).abort_unfinished(
        "the server stopped before this job finished; nothing half-made was kept"
    )
    if stopped:
        log.warning("%d job(s) left unfinished by a stopped server are marked aborted", stopped)
    users = Users(store)
    if not users.names():
        print(
            f"ophsh serve: no user yet; add one with: ophsh user add NAME --password-stdin "
            f"--store {store_dir}",
            file=sys.stderr,
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if bool(options.cert) != bool(options.key):
        raise OphshError("--cert and --key go together")
    cert, key = options.cert, options.key
    if not cert:
        cert, key = self_signed(store.root / "tls", options.host)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as err:
        raise OphshError(f"cannot use the certificate {cert} and key {key}: {err}") from None
    specs = load_specs()
    service = Service(
        store,
        base_path=data_dir,
        specs=specs,
        settings=settings,
        workers=options.workers,
        workflows=WorkflowEngine(specs),
        sync_limit=options.max_request_seconds or None,
        admins=users.is_admin,
    )
    try:
        server = OphidiaServer(
            (options.host, options.port),
            service,
            users,
            context,
            max_body=int(options.max_body_mb * (1 << 20)),
            read_timeout=options.read_timeout,
            max_connections=options.max_connections,
            max_per_address=options.max_connections_per_address,
            catalogue=XmlCatalogue(specs),
        )
    except OSError as err:
        raise OphshError(
            f"cannot listen on {options.host}:{options.port}: {err.strerror}"
        ) from None
    service.server_operators.xml_url = options.xml_url or _public_url(server)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, name="ophsh-serve", daemon=True)
    thread.start()
    print(f"ophsh serve: {server.url} (store {store.root}, data {data_dir})", flush=True)
    stop.wait()
    server.shutdown()
    server.server_close()
    service.close()
    store.close()
    return ExitCode.OK
