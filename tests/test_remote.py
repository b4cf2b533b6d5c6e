"""The remote backend when the server does not answer: OPH_TIMEOUT bounds the wait, as in
oph_term, and the user reads one line."""

from __future__ import annotations

import socket
import threading

from conftest import ophsh


def test_a_server_that_never_answers_is_given_up_after_oph_timeout():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    held: list[socket.socket] = []

    def accept() -> None:  # takes connections and says nothing, not even TLS
        try:
            while True:
                held.append(silent.accept()[0])
        except OSError:
            return

    threading.Thread(target=accept, daemon=True).start()
    port = silent.getsockname()[1]
    try:
        done = ophsh(
            "-H",
            "127.0.0.1",
            "-P",
            str(port),
            "-u",
            "u",
            "-p",
            "p",
            "-e",
            "oph_list",
            env={"OPH_TIMEOUT": "1"},
        )
    finally:
        silent.close()
        for connection in held:
            connection.close()
    assert done.returncode == 2
    assert "gave no answer within 1 s" in done.stderr and "Traceback" not in done.stderr
