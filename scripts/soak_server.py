"""Soak test of `ophsh serve` on 127.0.0.1: nothing it acknowledged is lost, even to SIGKILL.

Starts a real server on a fresh store (a temporary directory, the data directory beside it),
then N PyOphidia clients each submit M requests (two small oph_randcube for every oph_list).
When half of all requests have been answered the server is killed with SIGKILL, in the middle
of whatever it was writing, and started again on the same store and port; the clients keep
going (requests sent while it is down are not answered, and are counted). At the end every cube
a client was told about is looked up through the restarted server, the server is stopped, and
the store is checked: SQLite's integrity check, and one array file per cube row.

    python scripts/soak_server.py [--clients 8] [--requests 40]

Prints the requests answered, the cubes acknowledged and found; exits 1 if any was lost.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from PyOphidia import client as oph_client

USER, PASSWORD = "soak", "soak-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`ophsh serve` as a child process that can be killed and started again."""

    def __init__(self, store: Path, data: Path, port: int) -> None:
        self.command = [
            *(sys.executable, "-m", "ophsh", "serve", "--port", str(port)),
            *("--store", str(store), "--data-dir", str(data)),
        ]
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, text=True)
        banner = self.process.stdout.readline()
        if not banner.startswith("ophsh serve: https://"):
            raise SystemExit(f"the server did not start: {banner!r}")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=40, help="per client")
    args = parser.parse_args(argv)
    total = args.clients * args.requests
    chatter = io.StringIO()  # PyOphidia prints as it goes; the figures are what matters
    with (
        tempfile.TemporaryDirectory() as tmp,
        contextlib.redirect_stdout(chatter),
        contextlib.redirect_stderr(chatter),
    ):
        store, data, port = Path(tmp) / "store", Path(tmp) / "data", free_port()
        data.mkdir()
        subprocess.run(
            [
                *(sys.executable, "-m", "ophsh", "user", "add", USER, "--password-stdin"),
                *("--store", str(store)),
            ],
            input=PASSWORD + "\n",
            text=True,
            check=True,
            capture_output=True,
        )
        server = Server(store, data, port)
        server.start()
        lock = threading.Lock()
        answered, unanswered, acknowledged = [0], [0], []
        half = threading.Event()

        def work(i: int) -> None:
            client = oph_client.Client(USER, PASSWORD, "127.0.0.1", str(port))
            client.submit(f"oph_createcontainer container=s{i};dim=x|y;dim_type=int|int;")
            for k in range(args.requests):
                making = k % 3 != 2
                query = (
                    f"oph_randcube container=s{i};dim=x|y;dim_size=8|16;exp_ndim=1;nfrag=2;"
                    "ntuple=4;measure=m;measure_type=double;"
                    if making
                    else "oph_list level=2;"
                )
                before = client.cube
                client.submit(query)
                with lock:
                    if isinstance(client.last_error, Exception):  # no answer: the server is down
                        unanswered[0] += 1
                    else:
                        answered[0] += 1
                        if making and client.last_error is None and client.cube != before:
                            acknowledged.append(client.cube)
                    if answered[0] >= total // 2:
                        half.set()
                if isinstance(client.last_error, Exception):
                    time.sleep(0.2)  # it is being restarted

        threads = [threading.Thread(target=work, args=(i,)) for i in range(args.clients)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        half.wait()
        server.kill()
        killed_at = answered[0]
        server.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
        checker = oph_client.Client(USER, PASSWORD, "127.0.0.1", str(port))
        found = 0
        for pid in acknowledged:
            checker.submit(f"oph_cubesize cube={pid};")
            found += checker.last_error is None
        server.stop()
        with sqlite3.connect(store / "catalog.sqlite") as db:
            integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
            rows = {row[0] for row in db.execute("SELECT data_file FROM cubes")}
        files = {path.name for path in (store / "data").iterdir()}
    print(
        f"{args.clients} clients x {args.requests} requests = {total} in {elapsed:.1f} s; "
        f"server killed (SIGKILL) after {killed_at} answers and restarted"
    )
    print(f"requests answered: {answered[0]} (not answered while it was down: {unanswered[0]})")
    print(
        f"cubes acknowledged: {len(acknowledged)}, found after the restart: {found}, "
        f"lost: {len(acknowledged) - found}"
    )
    print(
        f"store: integrity {integrity}; {len(rows)} cube rows, {len(files)} array files, "
        f"{len(files ^ rows)} unmatched"
    )
    whole = integrity == "ok" and files == rows
    return 0 if found == len(acknowledged) and whole else 1


if __name__ == "__main__":
    raise SystemExit(main())
