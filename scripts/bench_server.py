"""Load test of `ophsh serve` on 127.0.0.1: N parallel PyOphidia clients, requests per second.

Starts a real server on a fresh store (a temporary directory), adds a user, then runs N client
threads that each make a container and submit R commands (a small oph_randcube, an oph_list and
an oph_cubesize in turn). Prints the count of errors, of cubes made and expected, and the
throughput. Loopback only; nothing leaves the machine.

    python scripts/bench_server.py [--clients 8] [--requests 30]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from PyOphidia import client as oph_client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=30, help="per client")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        store, data, port = Path(tmp) / "store", Path(tmp) / "data", free_port()
        data.mkdir()  # apart from the store, which serve refuses to expose
        ophsh = [sys.executable, "-m", "ophsh"]
        subprocess.run(
            [*ophsh, "user", "add", "load", "--password-stdin", "--store", str(store)],
            input="loadtest\n",
            text=True,
            check=True,
            capture_output=True,
        )
        server = subprocess.Popen(
            [*ophsh, "serve", "--port", str(port), "--store", str(store), "--data-dir", str(data)],
            stdout=subprocess.PIPE,
            text=True,
        )
        server.stdout.readline()
        errors: list[str] = []
        made = [0] * args.clients
        stored = [0] * args.clients

        def work(i: int) -> None:
            client = oph_client.Client("load", "loadtest", "127.0.0.1", str(port), api_mode=True)
            client.submit(f"oph_createcontainer container=c{i};dim=x|y;dim_type=double|double;")
            for k in range(args.requests - 1):
                if k % 3 == 0:
                    query = (
                        f"oph_randcube container=c{i};dim=x|y;dim_size=4|8;exp_ndim=1;"
                        "nfrag=4;ntuple=1;measure=m;measure_type=double;"
                    )
                else:
                    query = (
                        "oph_list level=2;" if k % 3 == 1 else f"oph_cubesize cube={client.cube};"
                    )
                if client.submit(query) is None:
                    errors.append(f"client {i}: {client.last_error}")
                elif k % 3 == 0:
                    made[i] += 1
            client.submit("oph_list level=2;path=/;")  # what this client's session holds
            rows = json.loads(client.last_response)["response"][0]["objcontent"][0]["rowvalues"]
            stored[i] = sum(1 for r in rows if len(r) > 2 and r[1] == f"c{i}" and r[2])

        threads = [threading.Thread(target=work, args=(i,)) for i in range(args.clients)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
        server.terminate()
        server.wait()
    total = args.clients * (args.requests + 1)
    print(
        f"{args.clients} clients x {args.requests} requests = {total} in {elapsed:.2f} s: "
        f"{total / elapsed:.0f} requests/s"
    )
    print(f"errors: {len(errors)}; cubes made {sum(made)}, in the store {sum(stored)}")
    for line in errors[:5]:
        print("  ", line)
    return 1 if errors or sum(stored) != sum(made) else 0


if __name__ == "__main__":
    raise SystemExit(main())
