"""A server killed while jobs run: on the next start those jobs end as aborted, with the reason,
and a client polling them sees them finish instead of waiting for ever."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

from test_server import Served, finished, napping


def restart(server: Served) -> None:
    """Kill the server as a crash would, and start it again on the same store and port."""
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=20)
    server.process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ophsh",
            "serve",
            "--port",
            str(server.port),
            "--store",
            str(server.store),
            "--data-dir",
            str(server.data),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    banner = server.process.stdout.readline()
    assert banner.startswith("ophsh serve: https://127.0.0.1:"), server.process.stderr.read()


def test_jobs_running_when_the_server_died_end_aborted_with_the_reason(tmp_path):
    server = Served(tmp_path)
    try:
        client = server.client()
        client.wsubmit(napping("async", 120))  # runs for two minutes
        job = client.last_jobid.split("?")[1].split("#")[0]
        client.submit(f"oph_resume id={job};level=0;")
        assert "OPH_STATUS_RUNNING" in client.last_response
        restart(server)
        client = server.client()
        response = finished(client, job)  # polling ends: the job is over
        text = json.dumps(response)
        assert "OPH_STATUS_ABORTED" in text
        assert "the server stopped before this job finished" in text
    finally:
        server.stop()
