"""`ophsh serve` keeps what it acknowledged and lets nobody in who should not be: exports and
oph_fs never replace files unasked, the store stays out of clients' reach, logins cannot be
guessed quickly or told apart, slow or malformed requests get an answer and cost little, and
no error shows a traceback or a server path. Real server on 127.0.0.1, real HTTPS, PyOphidia.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import re
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
from xml.etree import ElementTree

import pytest
from conftest import ophsh
from PyOphidia import client as oph_client
from test_server import Served, envelope, still_serving

from ophsh.engine.paths import DataPaths
from ophsh.errors import OperatorError


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = Served(tmp_path_factory.mktemp("secure"), "-v", umask=0o027)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cube(served) -> str:
    client = served.client()
    client.submit("oph_createcontainer container=sec;dim=x|y;dim_type=double|double;")
    client.submit(
        "oph_randcube container=sec;dim=x|y;dim_size=2|3;exp_ndim=1;nfrag=2;ntuple=1;"
        "measure=m;measure_type=double;"
    )
    return client.cube


def failure(client: oph_client.Client, command: str) -> str:
    """The one-line error of a command that must fail."""
    assert client.submit(command) is None, f"{command} succeeded"
    message = str(client.last_error).strip()
    assert "\n" not in message and "Traceback" not in message
    return message


def tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    return context


def answer(body: bytes) -> tuple[int, dict | None]:
    """(error code, response document) of an ophResponse."""
    reply = ElementTree.fromstring(body).find(".//{urn:oph}ophResponse")
    assert reply is not None, body
    document = reply.find("response")
    parsed = json.loads(document.text) if document is not None else None
    return int(reply.find("error").text), parsed


def status_message(document: dict) -> str:
    status = next(o for o in document["response"] if o["objkey"] == "status")
    return status["objcontent"][0].get("message", "")


def submit_raw(served: Served, operator: str, *arguments: str, auth: str = "alice:wonderland"):
    """A single-command workflow as raw JSON (so any character can be sent); (status, body)."""
    workflow = {
        "name": operator,
        "exec_mode": "sync",
        "tasks": [{"name": "Task 0", "operator": operator, "arguments": list(arguments)}],
    }
    return served.post(envelope(workflow), auth=auth)


def raw_exchange(port: int, request: bytes) -> bytes:
    """Send bytes over TLS and return everything the server answers."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=30) as raw,
        tls_context().wrap_socket(raw) as tls,
    ):
        tls.sendall(request)
        chunks = []
        while chunk := tls.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


# -- 1, 4: exports honour force, and an output path may name the file -----------------------
def test_an_export_never_replaces_a_file_without_force(served, cube):
    client = served.client()
    client.submit(f"oph_exportfits cube={cube};output_path=keep;output_name=a;")
    target = served.data / "keep" / "a.fits"
    before = target.read_bytes()
    message = failure(client, f"oph_exportfits cube={cube};output_path=keep;output_name=a;")
    assert "'keep/a.fits' already exists" in message and "force=yes" in message
    assert target.read_bytes() == before
    assert client.submit(f"oph_exportfits cube={cube};output_path=keep;output_name=a;force=yes;")


def test_an_output_path_ending_in_fits_is_the_file(served, cube):
    client = served.client()
    client.submit(f"oph_exportfits cube={cube};output_path=named/calibrated_V.fits;")
    assert (served.data / "named" / "calibrated_V.fits").is_file()
    message = failure(client, f"oph_exportfits cube={cube};output_path=named/calibrated_V.fits;")
    assert "force=yes" in message
    client.submit(f"oph_exportfits cube={cube};output_path=named/calibrated_V.fits;force=yes;")
    message = failure(
        client, f"oph_exportfits cube={cube};output_path=named/b.fits;output_name=c;force=yes;"
    )
    assert "names a file" in message
    (served.data / "named" / "made_by_hand.fits").mkdir()
    message = failure(
        client, f"oph_exportfits cube={cube};output_path=named/made_by_hand.fits;force=yes;"
    )
    assert "'named/made_by_hand.fits' is a directory" in message
    assert "IsADirectoryError" not in served.log_text()


# -- 2: oph_fs mv never replaces ---------------------------------------------------------------
def test_fs_mv_refuses_to_replace_an_existing_file(served):
    folder = served.data / "moves"
    folder.mkdir()
    (folder / "a.fits").write_text("A")
    (folder / "b.fits").write_text("B")
    client = served.client()
    message = failure(client, "oph_fs command=mv;dpath=moves/a.fits|moves/b.fits;")
    assert "'moves/b.fits' already exists" in message
    assert (folder / "a.fits").read_text() == "A" and (folder / "b.fits").read_text() == "B"
    client.submit("oph_fs command=mv;dpath=moves/a.fits|moves/c.fits;")
    assert not (folder / "a.fits").exists() and (folder / "c.fits").read_text() == "A"


# -- 5: the store stays out of the data directory ---------------------------------------------
def test_the_server_refuses_a_store_its_clients_could_reach(tmp_path):
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    cases = [
        (["--store", str(data / "store"), "--data-dir", str(data)], tmp_path),
        (["--store", str(data / "sub" / "store")], data),  # the default data dir is here
        (["--store", str(tmp_path / "st"), "--data-dir", str(tmp_path / "st")], tmp_path),
    ]
    (tmp_path / "st").mkdir()
    for options, cwd in cases:
        done = ophsh("serve", "--port", "1", *options, cwd=cwd, timeout=60)
        assert done.returncode != 0
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
        assert "lies inside" in done.stderr


def test_data_paths_refuse_forbidden_roots(tmp_path):
    (tmp_path / "store").mkdir()
    paths = DataPaths(tmp_path, forbidden=[tmp_path / "store"])
    assert paths.real("/", "frames/x.fits") == tmp_path / "frames" / "x.fits"
    for path in ("store", "store/catalog.sqlite", "frames/../store/tls/key.pem"):
        with pytest.raises(OperatorError, match="reserved for the store"):
            paths.real("/", path)


# -- 7: logins -------------------------------------------------------------------------------
def password_checks(log: str) -> list[tuple[str, str]]:
    return re.findall(r"password check \d+ \(\d+ at once\) for '([^']*)': (known name|dummy)", log)


def test_unknown_names_cost_a_password_check_like_wrong_passwords(served):
    for name in ("ghost", "alice"):
        status, body = served.post(envelope({"name": "x", "tasks": []}), auth=f"{name}:guess")
        assert status == 200 and answer(body)[0] == 5
    checks = password_checks(served.log_text())
    assert ("ghost", "dummy") in checks and ("alice", "known name") in checks


def test_failed_logins_are_throttled_per_name_and_per_address(tmp_path):
    server = Served(tmp_path, "-v")
    try:
        for _ in range(3):  # three free failures for a name
            assert served_post_error(server, "bob:wrong") == (5, None)
        error, retry = served_post_error(server, "bob:builder99")  # right, but bob must wait
        assert error == 5 and retry is not None and int(retry) >= 1
        assert "login for 'bob' from 127.0.0.1 refused" in server.log_text()
        assert still_serving(server)  # alice is not bob
        for i in range(10):  # ten free failures for an address, the last ones refused
            served_post_error(server, f"nobody{i}:x")
        error, retry = served_post_error(server, "alice:wonderland")
        assert error == 5 and retry is not None
        assert "login for 'alice' from 127.0.0.1 refused" in server.log_text()
    finally:
        server.stop()


def served_post_error(served: Served, auth: str) -> tuple[int, str | None]:
    """The error code and Retry-After header of a request with these credentials."""
    conn = http.client.HTTPSConnection("127.0.0.1", served.port, context=tls_context())
    body = envelope(
        {
            "name": "oph_list",
            "exec_mode": "sync",
            "tasks": [{"name": "Task 0", "operator": "oph_list", "arguments": []}],
        }
    )
    conn.request(
        "POST",
        "/",
        body=body,
        headers={"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()},
    )
    reply = conn.getresponse()
    assert reply.status == 200
    return answer(reply.read())[0], reply.getheader("Retry-After")


def test_password_checks_run_at_most_two_at_once(served):
    threads = [
        threading.Thread(target=served.post, args=(b"x",), kwargs={"auth": f"n{i}:x"})
        for i in range(4)  # four more failures for this address (ten are free)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    running = [
        int(n) for n in re.findall(r"password check \d+ \((\d+) at once\)", served.log_text())
    ]
    assert running and max(running) <= 2


def test_a_token_logs_in_as_its_user_and_only_its_digest_is_stored(served):
    issued = ophsh("user", "token", "bob", "--store", str(served.store))
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    client = oph_client.Client("__token__", token, "127.0.0.1", str(served.port))
    client.submit("oph_createcontainer container=by_token;dim=x;dim_type=double;")
    bob = served.client("bob")
    bob.submit("oph_list level=1;recursive=yes;")
    assert "by_token" in bob.last_response
    with sqlite3.connect(served.store / "catalog.sqlite") as db:
        rows = db.execute("SELECT digest, user FROM tokens").fetchall()
    assert (hashlib.sha256(token.encode()).hexdigest(), "bob") in rows
    assert all(token not in digest for digest, _ in rows)
    assert ophsh("user", "token", "bob", "--revoke", "--store", str(served.store)).returncode == 0
    status, body = submit_raw(served, "oph_list", auth=f"__token__:{token}")
    assert status == 200 and answer(body)[0] == 5


# -- 9, 11: slow and malformed requests ------------------------------------------------------
def test_a_request_trickling_in_is_cut_off_at_the_deadline(tmp_path):
    server = Served(tmp_path, "--read-timeout", "3")
    try:
        request = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n" + b"y" * 20
        with (
            socket.create_connection(("127.0.0.1", server.port), timeout=30) as raw,
            tls_context().wrap_socket(raw) as tls,
        ):
            sent = 0
            try:
                for byte in request:  # one byte a second: each read is quick, the whole is not
                    tls.sendall(bytes([byte]))
                    sent += 1
                    time.sleep(1)
            except OSError:  # the server closed the connection
                pass
        assert sent < len(request)
        assert still_serving(server)
    finally:
        server.stop()


def test_connections_beyond_the_caps_are_closed_and_others_are_served(tmp_path):
    server = Served(tmp_path, "--max-connections", "6", "--max-connections-per-address", "4")
    held: list[ssl.SSLSocket] = []

    def connect(source: str) -> ssl.SSLSocket | None:
        raw = socket.create_connection(("127.0.0.1", server.port), 30, (source, 0))
        try:  # the handshake is made by the connection's thread: no thread, no handshake
            tls = tls_context().wrap_socket(raw)
        except OSError:
            raw.close()
            return None
        tls.sendall(b"POST / HTTP/1.1\r\n")  # and then nothing
        return tls

    try:
        held += [connect("127.0.0.2") for _ in range(4)]
        assert all(held)
        assert connect("127.0.0.2") is None  # a fifth from one address
        assert still_serving(server)  # another address is served
        held += [connect("127.0.0.3") for _ in range(2)]
        assert all(held)
        assert connect("127.0.0.4") is None  # a seventh in all
        for tls in held:
            tls.close()
        assert "too many connections" in server.log_text()
    finally:
        server.stop()


@pytest.mark.parametrize(
    "header",
    [
        b"Authorization: Basic \xc3\xa9\xff==",
        b"Content-Length: \xc2\xb2",
        b"Authorization: Bearer x",
    ],
)
def test_malformed_headers_get_a_clear_http_answer(served, header):
    lines = [b"POST / HTTP/1.1", b"Host: x", header]
    if not header.startswith(b"Content-Length"):
        lines.append(b"Content-Length: 5")
    reply = raw_exchange(served.port, b"\r\n".join(lines) + b"\r\n\r\nhello")
    assert reply.startswith((b"HTTP/1.0 400", b"HTTP/1.0 411")), reply[:200]
    assert b"faultstring" in reply
    assert still_serving(served)


# -- 12: nothing unexpected reaches a client as a 500 or a traceback -------------------------
@pytest.mark.parametrize(
    "workflow",
    [
        '{"name": "x", "exec_mode": "sync", "tasks": [{"name": "t", "operator": "oph_list", '
        '"arguments": 5}]}',
        '{"name": "x", "exec_mode": "sync", "tasks": [{"name": "t", "operator": "oph_list", '
        '"arguments": ["jobid=3"]}]}',
        '{"name": "x", "exec_mode": "sync", "tasks": [{"name": "t", "operator": "oph_resume", '
        '"arguments": ["id=99999999999999999999999"]}]}',
        '{"name": "x", "tasks": [{"name": "t", "operator": "oph_list", "arguments": []}], "a": '
        + "[" * 100_000
        + "]" * 100_000
        + "}",
    ],
    ids=["arguments-not-a-list", "reserved-key", "huge-id", "deep-json"],
)
def test_unexpected_failures_answer_one_line_with_an_id(served, workflow):
    status, body = served.post(envelope(workflow))
    assert status == 200, body[:300]
    error, document = answer(body)
    if error == 1:  # the http layer caught it: the id leads to the traceback in the log
        message = status_message(document)
        assert message.count("\n") == 1 and "Traceback" not in message
        ident = re.search(r"internal error ([0-9a-f]{8})", message)[1]
        assert re.search(rf"internal error {ident} .*\nTraceback", served.log_text())
    else:
        assert error in (0, 7)
    assert still_serving(served)


# -- 13: errors name the user's path, never the server's -------------------------------------
@pytest.mark.parametrize(
    "arguments",
    [
        ["command=ls", "dpath=a\0b"],
        ["command=mkdir", "dpath=" + "n" * 300],
        ["command=mkdir", "dpath=" + "/".join(["d" * 200] * 30)],
        ["command=mv", "dpath=nothing_here.fits|" + "m" * 300],
        ["command=cd", "dpath=" + "c" * 300],
    ],
    ids=["nul", "long-name", "long-path", "mv-long-target", "cd-long"],
)
def test_fs_errors_never_show_server_paths(served, arguments):
    assert_user_error(served, submit_raw(served, "oph_fs", *arguments))


@pytest.mark.parametrize(
    "arguments",
    [
        ["output_path=x\0y"],
        ["output_path=out", "output_name=a\0b"],
        ["output_path=out", "output_name=" + "e" * 300],
        ["output_path=" + "/".join(["p" * 200] * 30)],
    ],
    ids=["nul-path", "nul-name", "long-name", "long-path"],
)
def test_export_errors_never_show_server_paths(served, cube, arguments):
    assert_user_error(served, submit_raw(served, "oph_exportfits", f"cube={cube}", *arguments))


def assert_user_error(served: Served, reply: tuple[int, bytes]) -> None:
    status, body = reply
    assert status == 200
    error, document = answer(body)
    assert error == 0 and document is not None
    message = status_message(document)
    assert message.count("\n") == 1 and "internal error" not in message, message
    for secret in (str(served.data), str(served.store), str(served.store.parent)):
        assert secret.encode() not in body


# -- 15: temporary files of exports, and the mode of exported files --------------------------
def test_exports_sweep_stale_temporaries_and_follow_the_umask(served, cube):
    folder = served.data / "swept"
    folder.mkdir()
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    dead = folder / f".ophsh-export-{ended.pid}-dead.fits"
    reused = folder / f".ophsh-export-{served.process.pid}-0ad.fits"  # older than its process
    living = folder / ".ophsh-export-1-beef.fits"  # pid 1 lives, and started before it
    for path in (dead, reused, living):
        path.write_bytes(b"half a FITS")
    hour_ago = time.time() - 3600
    os.utime(reused, (hour_ago, hour_ago))
    client = served.client()
    client.submit(f"oph_exportfits cube={cube};output_path=swept;output_name=x;")
    assert sorted(p.name for p in folder.iterdir()) == [living.name, "x.fits"]
    assert (folder / "x.fits").stat().st_mode & 0o777 == 0o640  # 0666 & ~umask 027
    client.submit("oph_fs command=ls;dpath=swept;")
    assert ".ophsh" not in client.last_response


def test_the_server_survived_all_of_it(served):
    assert still_serving(served)
    log = served.log_text()  # every traceback belongs to an error id a client was given
    assert log.count("Traceback") == len(re.findall(r"internal error [0-9a-f]{8} while", log))


def test_scripts_are_refused_unless_the_server_allows_them(served):
    message = failure(served.client(), "oph_script script=anything.sh;")
    assert "not allowed on this server" in message and "--allow-scripts" in message
