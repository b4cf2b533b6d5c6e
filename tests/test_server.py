"""`ophsh serve` on 127.0.0.1 answering the real PyOphidia client, raw HTTPS and ophsh -H."""

from __future__ import annotations

import base64
import http.client
import io
import json
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from conftest import SCRIPTS, ophsh
from PyOphidia import client as oph_client
from PyOphidia import cube as oph_cube

PASSWORDS = {"alice": "wonderland", "bob": "builder99"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Served:
    """A running `ophsh serve` and what a test needs to talk to it; its log goes to a file."""

    def __init__(self, root: Path, *options: str, umask: int = -1) -> None:
        self.store, self.data = root / "store", root / "data"
        self.log = root / "serve.log"
        self.data.mkdir(parents=True)
        for name, password in PASSWORDS.items():
            done = ophsh(
                "user",
                "add",
                name,
                "--password-stdin",
                "--store",
                str(self.store),
                input=password + "\n",
            )
            assert done.returncode == 0, done.stderr
        self.port = free_port()
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "ophsh",
                    "serve",
                    "--port",
                    str(self.port),
                    "--store",
                    str(self.store),
                    "--data-dir",
                    str(self.data),
                    *options,
                ],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                umask=umask,
            )
        banner = self.process.stdout.readline()
        assert banner.startswith("ophsh serve: https://127.0.0.1:"), self.log.read_text()

    def log_text(self) -> str:
        return self.log.read_text()

    def client(self, user: str = "alice") -> oph_client.Client:
        return oph_client.Client(user, PASSWORDS[user], "127.0.0.1", str(self.port))

    def post(self, body: bytes, *, auth: str | None = "alice:wonderland", length=None):
        """A raw HTTPS POST; returns (status, body)."""
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=context, timeout=30)
        headers = {"Content-Type": "text/xml", "Content-Length": str(length or len(body))}
        if auth:
            headers["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
        conn.request("POST", "/", body=body, headers=headers)
        answer = conn.getresponse()
        return answer.status, answer.read()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


@pytest.fixture(scope="module")
def served(tmp_path_factory, night):
    server = Served(tmp_path_factory.mktemp("served"))
    shutil.copytree(night, server.data / "raw")
    yield server
    server.stop()


def envelope(workflow: dict | str) -> bytes:
    text = workflow if isinstance(workflow, str) else json.dumps(workflow)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        '<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope '
        'xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns0="urn:oph">'
        "<SOAP-ENV:Body><ns0:ophExecuteMain><ophExecuteMainRequest>"
        f"{text}</ophExecuteMainRequest></ns0:ophExecuteMain></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()


LIST = {
    "name": "oph_list",
    "exec_mode": "sync",
    "tasks": [{"name": "Task 0", "operator": "oph_list", "arguments": []}],
}


def still_serving(served: Served) -> bool:
    status, body = served.post(envelope(LIST))
    return status == 200 and b"<error>0</error>" in body


def test_pyophidia_connects_and_prints_what_it_prints_against_ophidia(served, capsys):
    first = served.client("bob")  # a new user has no session until a command makes one
    assert "Current session" not in capsys.readouterr().out
    first.submit("oph_list level=2;")
    assert json.loads(first.last_response)["response"][0]["objkey"] == "list"
    served.client("bob")  # the next connection resumes that session
    printed = capsys.readouterr().out
    assert f"Current session is {first.session}" in printed
    assert first.session.startswith("http://localhost/ophidia/sessions/")
    assert "Current cwd is /" in printed


def test_the_tutorial_with_pyophidia_gives_numpy_numbers(served, night):
    oph_cube.Cube.setclient("alice", PASSWORDS["alice"], "127.0.0.1", str(served.port))
    client = oph_cube.Cube.client
    client.submit("oph_createcontainer container=tut;dim=NAXIS2|NAXIS1;dim_type=int|int;")
    client.submit(
        "oph_importfits src_path=[path=raw;file=*.fits];container=tut;exp_dim=NAXIS2;"
        "imp_dim=NAXIS1;import_metadata=yes;ncores=2;"
    )

    def pids(kind: str, filt: str) -> list[str]:
        found = oph_cube.Cube.search(
            container_filter="tut",
            metadata_key_filter="OBS_TYPE|FLT_ID",
            metadata_value_filter=f"{kind}|{filt}",
            display=False,
        )
        rows = json.loads(client.last_response)["response"][0]["objcontent"][0]["rowvalues"]
        assert found is None or found is not False
        counts: dict[str, int] = {}
        for row in rows:
            counts[row[0]] = counts.get(row[0], 0) + 1
        return sorted(pid for pid, n in counts.items() if n == 2)  # both pairs matched

    bias = pids("BIAS", "OPEN")
    assert len(bias) == 5
    stack = oph_cube.Cube.mergecubes2(cubes="|".join(bias), dim="z", display=False)
    master = stack.reduce2(dim="z", operation="quantile", order=0.5, display=False)
    flat_stack = oph_cube.Cube.mergecubes2(cubes="|".join(pids("FLAT", "V_JOHN_11")), dim="z")
    flat = flat_stack.reduce2(dim="z", operation="quantile", order=0.5)
    corrected = flat.intercube(cube2=master.pid, operation="sub")
    client.submit("oph_exportfits output_path=out;output_name=flatV;force=yes;")  # last cube
    frames = {p: fits.getheader(p) for p in sorted(night.glob("*.fits"))}

    def med(kind, filt):
        chosen = [p for p, h in frames.items() if h["OBS_TYPE"] == kind and h["FLT_ID"] == filt]
        return np.median([fits.getdata(p).astype(float) for p in chosen], axis=0)

    expected = med("FLAT", "V_JOHN_11") - med("BIAS", "OPEN")
    actual = fits.getdata(served.data / "out" / "flatV.fits")
    assert np.allclose(actual, expected, rtol=1e-12)
    # the difference is a virtual cube: PyOphidia reads it computed, row by row
    db = sqlite3.connect(served.store / "catalog.sqlite")
    cube_id = int(corrected.pid.rsplit("/", 1)[1])
    row = db.execute("SELECT data_file FROM cubes WHERE id = ?", (cube_id,))
    assert row.fetchone() == ("",)
    db.close()
    exported = corrected.export_array()
    rows = np.asarray(exported["measure"][0]["values"], dtype=np.float64)
    assert np.array_equal(rows.reshape(expected.shape), expected)
    again = oph_cube.Cube(pid=corrected.pid)
    again.info(display=False)  # oph_cubesize and oph_cubeschema, read by column position
    assert again.measure_type == "double" and int(again.level) == 3
    assert [d["name"] for d in again.dim_info] == ["NAXIS2", "NAXIS1", "z"]


def test_wrong_password_and_no_credentials_are_refused(served):
    intruder = oph_client.Client("alice", "not-it", "127.0.0.1", str(served.port))
    assert intruder.submit("oph_list") is None  # PyOphidia prints the error and gives None
    assert intruder.last_return_value == 5 and "authentication" in str(intruder.last_error)
    status, body = served.post(envelope(LIST), auth=None)
    assert status == 200 and b"<error>5</error>" in body and b"<response>" not in body
    assert still_serving(served)


@pytest.mark.parametrize(
    "body",
    [b"not xml at all", b"<a/>", envelope("{not json"), b"<?xml version='1.0'?><x><y>"],
)
def test_malformed_requests_are_refused_and_the_server_goes_on(served, body):
    status, answer = served.post(body)
    assert status in (200, 400)
    assert b"Fault" in answer or b"<error>7</error>" in answer
    assert still_serving(served)


def test_truncated_and_huge_bodies(served):
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", served.port)) as raw,
        context.wrap_socket(raw) as tls,
    ):
        tls.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n<partial")
    status, _ = served.post(b"x", length=1 << 30)  # announces a gigabyte
    assert status == 413
    assert still_serving(served)


def test_users_do_not_see_each_other(served):
    alice = served.client("alice")
    alice.submit("oph_createcontainer container=private;dim=x|y;dim_type=double|double;")
    alice.submit(
        "oph_randcube container=private;dim=x|y;dim_size=2|3;exp_ndim=1;nfrag=2;ntuple=1;"
        "measure=m;measure_type=double;"
    )
    pid = alice.cube
    bob = served.client("bob")
    assert bob.submit(f"oph_cubeschema cube={pid};") is None
    assert "does not exist" in str(bob.last_error)
    bob.submit("oph_list level=2;")
    assert pid not in bob.last_response


@pytest.mark.parametrize("path", ["../../etc/passwd", "raw/../../x.fits"])
def test_paths_outside_the_data_directory_are_refused(served, path):
    client = served.client()
    assert client.submit(f"oph_importfits src_path={path};") is None
    assert "leaves the data directory" in str(client.last_error)


def test_parallel_clients_lose_nothing(served):
    errors: list[str] = []

    def work(i: int) -> None:
        try:
            c = served.client("bob")
            c.submit(f"oph_createcontainer container=load{i};dim=x|y;dim_type=double|double;")
            for _ in range(3):
                c.submit(
                    f"oph_randcube container=load{i};dim=x|y;dim_size=4|5;exp_ndim=1;nfrag=4;"
                    "ntuple=1;measure=m;measure_type=double;"
                )
        except Exception as err:  # collected: a thread's failure is the test's failure
            errors.append(repr(err))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    listing = served.client("bob")
    listing.submit("oph_list level=2;recursive=yes;")
    rows = json.loads(listing.last_response)["response"][0]["objcontent"][0]["rowvalues"]
    assert sum(1 for r in rows if len(r) > 2 and r[2].startswith("http")) == 24


def test_ophsh_remote_mode_runs_the_calibration_like_the_embedded_store(served, tmp_path):
    remote = ophsh(
        "-q",
        "-H",
        "127.0.0.1",
        "-P",
        str(served.port),
        "-u",
        "alice",
        "-p",
        "wonderland",
        str(SCRIPTS / "calibrate.oph"),
        "raw",
        "remote_out",
    )
    assert remote.returncode == 0, remote.stderr
    local = ophsh(
        "-q",
        "--store",
        str(tmp_path / "store"),
        str(SCRIPTS / "calibrate.oph"),
        str(served.data / "raw"),
        str(tmp_path / "local_out"),
    )
    assert local.returncode == 0, local.stderr
    for name in ("master_bias", "calibrated_V_JOHN_11"):
        a = fits.getdata(served.data / "remote_out" / f"{name}.fits")
        b = fits.getdata(tmp_path / "local_out" / f"{name}.fits")
        assert np.array_equal(a, b)


def test_ophsh_remote_mode_runs_the_tutorials_terminal_section(served):
    result = ophsh(
        "-H",
        "127.0.0.1",
        "-P",
        str(served.port),
        "-u",
        "bob",
        "-p",
        "builder99",
        str(SCRIPTS / "tutorial_terminal.oph"),
        "raw",
    )
    assert result.returncode == 0, result.stderr
    assert "Found 1 items" in result.stdout and "FLT_ID" in result.stdout


def test_ophsh_remote_mode_errors_are_one_clear_line(served):
    refused = ophsh(
        "-H", "127.0.0.1", "-P", str(served.port), "-u", "bob", "-p", "nope", "-e", "ll"
    )
    assert refused.returncode == 2
    assert "refused the credentials of bob" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    down = ophsh("-H", "127.0.0.1", "-P", str(free_port()), "-u", "bob", "-p", "x", "-e", "ll")
    assert down.returncode == 2 and "cannot reach the Ophidia server" in down.stderr


def test_async_jobs_can_be_polled_as_pyophidia_does(served):
    client = served.client()
    client.submit("oph_list level=2;exec_mode=async;")
    assert client.last_response is None  # async: a job id now, the document later
    workflow = client.last_jobid.split("?")[1].split("#")[0]
    deadline = time.monotonic() + 60  # a generous bound on a busy machine, not a timing check
    while client.get_progress(workflow)["progress rate"] < 1.0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.get_progress(workflow)["progress rate"] == 1.0
    client.submit(f"oph_resume id={workflow};")
    assert json.loads(client.last_response)["response"][0]["objkey"] == "list"


def test_a_client_that_hangs_up_loses_nothing(served):
    client = served.client()
    client.submit("oph_createcontainer container=hangup;dim=NAXIS2|NAXIS1;dim_type=int|int;")
    first = sorted((served.data / "raw").glob("*.fits"))[0].name
    request = envelope(
        {
            "name": "oph_importfits",
            "exec_mode": "sync",
            "sessionid": client.session,
            "tasks": [
                {
                    "name": "Task 0",
                    "operator": "oph_importfits",
                    "arguments": [f"src_path=raw/{first}", "container=hangup"],
                }
            ],
        }
    )

    def jobs() -> int:
        client.submit("oph_resume id=0;")
        return len(json.loads(client.last_response)["response"][0]["objcontent"][0]["rowvalues"])

    def imported() -> bool:
        client.submit("oph_list level=2;path=/;")
        rows = json.loads(client.last_response)["response"][0]["objcontent"][0]["rowvalues"]
        return any(len(r) > 2 and r[1] == "hangup" and r[2] for r in rows)

    def wait_for(condition) -> bool:
        deadline = time.monotonic() + 60  # a bound for a busy machine, not a timing check
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.05)
        return condition()

    before = jobs()
    auth = base64.b64encode(b"alice:wonderland").decode()
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", served.port)) as raw,
        context.wrap_socket(raw) as tls,
    ):
        tls.sendall(
            f"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\n"
            f"Content-Length: {len(request)}\r\n\r\n".encode()
            + request
        )
        assert wait_for(lambda: jobs() > before)  # the server has the request: hang up now
    assert wait_for(imported)  # the import finished though nobody listened for its answer
    assert still_serving(served)


def test_pyophidia_wsubmit_runs_a_workflow(served):
    client = served.client()
    workflow = {
        "name": "random means",
        "author": "alice",
        "abstract": "a cube, its row means",
        "tasks": [
            {
                "name": "box",
                "operator": "oph_createcontainer",
                "arguments": ["container=$1", "dim=a|b", "dim_type=double|double"],
            },
            {
                "name": "cube",
                "operator": "oph_randcube",
                "dependencies": [{"task": "box"}],
                "arguments": [
                    "container=$1",
                    "dim=a|b",
                    "dim_size=3|4",
                    "exp_ndim=1",
                    "nfrag=3",
                    "ntuple=1",
                    "measure=m",
                    "measure_type=double",
                ],
            },
            {
                "name": "mean",
                "operator": "oph_reduce",
                "arguments": ["operation=avg"],
                "dependencies": [{"task": "cube", "type": "single"}],
            },
        ],
    }
    assert client.wsubmit(json.dumps(workflow), "wbox") is not None
    response = json.loads(client.last_response)
    status = [o for o in response["response"] if o["objkey"] == "workflow_status"]
    assert status[0]["objcontent"][0]["message"] == "OPH_STATUS_COMPLETED"
    assert client.cube.startswith("http://localhost/ophidia/")  # the last task's cube


def test_synchronous_requests_are_bounded_in_time_and_jobs_are_not(tmp_path):
    server = Served(tmp_path, "--max-request-seconds", "1")
    try:
        client = server.client()

        def waiting(mode: str, seconds: int) -> str:
            return json.dumps(
                {
                    "name": "nap",
                    "exec_mode": mode,
                    "tasks": [
                        {
                            "name": "wait",
                            "operator": "oph_wait",
                            "arguments": ["type=clock", f"timeout={seconds}"],
                        },
                        {
                            "name": "after",
                            "operator": "oph_list",
                            "dependencies": [{"task": "wait"}],
                        },
                    ],
                }
            )

        client.wsubmit(waiting("sync", 120))  # would take two minutes; the limit is one second
        answer = client.last_response
        assert "stopped after 1 s" in answer and "exec_mode=async" in answer, answer
        status = [o for o in json.loads(answer)["response"] if o["objkey"] == "workflow_status"]
        assert status[0]["objcontent"][0]["message"] == "OPH_STATUS_ABORTED"

        client.wsubmit(napping("async", 2))  # a job may run longer than the limit
        response = finished(client, client.last_jobid.split("?")[1].split("#")[0])
        status = [o for o in response["response"] if o["objkey"] == "workflow_status"]
        assert status[0]["objcontent"][0]["message"] == "OPH_STATUS_COMPLETED", response
        assert still_serving(server)
    finally:
        server.stop()


def napping(mode: str, seconds: int) -> str:
    """A workflow that waits, then lists: a job that takes as long as a test wants."""
    return json.dumps(
        {
            "name": "nap",
            "exec_mode": mode,
            "tasks": [
                {
                    "name": "wait",
                    "operator": "oph_wait",
                    "arguments": ["type=clock", f"timeout={seconds}"],
                },
                {"name": "after", "operator": "oph_list", "dependencies": [{"task": "wait"}]},
            ],
        }
    )


def finished(client: oph_client.Client, workflow: str) -> dict:
    """Poll a job as PyOphidia users do; its final response, task by task."""
    deadline = time.monotonic() + 60  # a bound for a busy machine, not a timing check
    while client.get_progress(workflow)["progress rate"] < 1.0 and time.monotonic() < deadline:
        time.sleep(0.1)
    client.submit(f"oph_resume id={workflow};")
    return json.loads(client.last_response)


def test_oph_cancel_kills_a_running_job_and_abort_lets_the_running_task_finish(served):
    client = served.client()
    client.wsubmit(napping("async", 120))  # two minutes, unless cancelled
    killed = client.last_jobid.split("?")[1].split("#")[0]
    client.submit(f"oph_cancel id={killed};")
    assert f"Workflow {killed}: kill requested" in client.last_response
    response = finished(client, killed)
    status = [o for o in response["response"] if o["objkey"] == "workflow_status"]
    assert status[0]["objcontent"][0]["message"] == "OPH_STATUS_ABORTED", response
    assert "cancelled by oph_cancel" in json.dumps(response)

    client.wsubmit(napping("async", 2))
    aborted = client.last_jobid.split("?")[1].split("#")[0]
    client.submit(f"oph_cancel id={aborted};type=abort;")
    response = finished(client, aborted)
    text = json.dumps(response)
    assert "OPH_STATUS_ABORTED" in text and "the workflow stopped before this task" in text
    assert "cancelled by oph_cancel" not in text  # the running wait was left to finish

    client.submit(f"oph_cancel id={killed};")  # finished: nothing to cancel
    assert f"workflow {killed} is not running" in client.last_response
    assert still_serving(served)


def test_a_password_typed_at_the_prompt_is_not_echoed(served, tmp_path):
    import os

    import pexpect

    env = {k: v for k, v in os.environ.items() if not k.startswith("OPH")}
    env |= {"PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm", "HOME": str(tmp_path)}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "ophsh", "-H", "127.0.0.1", "-P", str(served.port), "-u", "alice"],
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=30,
        env=env,
        dimensions=(40, 160),
    )
    transcript = io.StringIO()
    child.logfile_read = transcript  # everything the terminal showed
    child.expect_exact("Password for alice@127.0.0.1")
    child.sendline("wonderland")
    child.expect_exact(">>")  # connected: the password was right
    child.sendline("pwd")
    child.expect_exact(">>")
    child.sendline("quit")
    child.expect(pexpect.EOF)
    assert "wonderland" not in transcript.getvalue()
    assert not any(
        "wonderland" in p.read_text(errors="ignore") for p in tmp_path.rglob("*") if p.is_file()
    )  # nor kept in any file


def test_oph_input_from_pyophidia_lets_a_waiting_job_go_on(served):
    client = served.client()
    asking = json.loads(napping("async", 1))
    asking["tasks"][0]["arguments"] = ["type=input", "timeout=60"]
    client.wsubmit(json.dumps(asking))
    number = client.last_jobid.split("?")[1].split("#")[0]
    for _ in range(100):  # until the task has started waiting
        answered = client.submit(f"oph_input id={number};taskname=wait;action=continue;")
        if answered is not None or "is waiting for input" not in str(client.last_error):
            break
        time.sleep(0.1)
    assert json.loads(client.last_response)["response"][0]["objcontent"][0]["title"] == "SUCCESS"
    response = finished(client, number)
    status = [o for o in response["response"] if o["objkey"] == "workflow_status"]
    assert status[0]["objcontent"][0]["message"] == "OPH_STATUS_COMPLETED", response
