"""The real Ophidia Terminal (oph_term 1.9, the C client) against `ophsh serve`.

Every oph_term command that talks to the server: the start-up resume (oph_get_config),
operators and the aliases that wrap them, massive operations, man and the operator list,
view (by workflow, marker and job id, and polling), resume (list and switch), jobs,
getprogress, kill, watch, check and workflow files (``-w``, ``./file``), update and the
completion it feeds. Driven with ``-e``/``-j``, with commands piped on stdin and, where a
terminal is needed, through a pseudo-terminal. Skipped, saying why, where oph_term is not built.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
from pathlib import Path
from xml.etree import ElementTree

import pexpect
import pytest
from conftest import ophsh
from oph_term_support import PROMPT, Terminal, locate_oph_term
from PyOphidia import client as oph_client

from ophsh.spec import load_specs

pytestmark = pytest.mark.slow

PASSWORD = "wonderland"
SOME_FRAMES = "*T20-30-*.fits"  # four frames of the generated night


@pytest.fixture(scope="module")
def oph_term(request) -> Path:
    cache = getattr(request.config, "cache", None)  # absent with -p no:cacheprovider
    where = cache.mkdir("oph_term") if cache else Path(tempfile.gettempdir()) / "ophsh-oph_term"
    found = locate_oph_term(where)
    if isinstance(found, str):
        pytest.skip(found)
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory, night):
    """`ophsh serve` with the users alice and bob and the frames under raw/; its port."""
    root = tmp_path_factory.mktemp("oph_term_served")
    store, data = root / "store", root / "data"
    data.mkdir()
    shutil.copytree(night, data / "raw")
    for name in ("alice", "bob"):
        added = ophsh(
            "user", "add", name, "--password-stdin", "--store", str(store), input=PASSWORD
        )
        assert added.returncode == 0, added.stderr
    command = [sys.executable, "-m", "ophsh", "serve", "--port", "0", "--store", str(store)]
    with (root / "serve.log").open("w") as log:
        process = subprocess.Popen(
            [*command, "--data-dir", str(data)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    banner = process.stdout.readline()
    port = re.search(r"https://127\.0\.0\.1:(\d+)", banner)
    assert port, (root / "serve.log").read_text()
    yield {"port": int(port.group(1)), "store": store, "data": data}
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture
def term(oph_term, server, tmp_path) -> Terminal:
    """oph_term for alice, in a fresh HOME (so no history or XML cache of another test)."""
    return Terminal(oph_term, server["port"], tmp_path / "home", "alice", PASSWORD)


def workflow_of(jobid: str) -> str:
    return jobid.split("?")[1].split("#")[0]


def test_one_command_with_e_runs_it_and_j_gives_the_reply(term):
    made = term.ok("oph_createcontainer container=night;dim=NAXIS2|NAXIS1;dim_type=int|int")
    assert made.reply["request"].startswith("operator=oph_createcontainer;")
    assert "?" in made.reply["jobid"]  # session?workflow#marker
    listing = term.ok("oph_list level=2")
    assert ["c", "night"] in [row[:2] for row in listing.grid("list")["rowvalues"]]
    plain = term.e("oph_list level=2", json_out=False)  # oph_term's own tables
    assert plain.returncode == 0 and "night" in plain.plain and "+===" in plain.plain


def test_a_wrong_password_or_an_unknown_operator_gives_oph_terms_exit_codes(term, oph_term, server):
    assert term.e("oph_nosuchoperator level=2").returncode == 7  # WRONG_PARAMETER
    # (another name: the server makes a name wait after three failed logins)
    intruder = Terminal(oph_term, server["port"], term.home, "mallory", "not-the-password")
    assert intruder.e("oph_list").returncode == 5  # the server's AUTH_ERROR


def test_a_massive_import_reports_its_tasks_and_the_schema_names_concept_levels(term):
    term.ok("oph_createcontainer container=frames;dim=NAXIS2|NAXIS1;dim_type=int|int")
    imported = term.ok(f"oph_importfits src_path=[path=raw;file={SOME_FRAMES}];container=frames")
    tasks = imported.grid("massive_list")
    assert tasks["rowkeys"] == [
        "MARKER ID", "EXIT STATUS", "INPUT", "OUTPUT", "BEGIN TIME", "END TIME"
    ]  # fmt: skip
    assert [row[1] for row in tasks["rowvalues"]] == ["OPH_STATUS_COMPLETED"] * 4
    cubes = [row[3] for row in tasks["rowvalues"]]
    assert len(set(cubes)) == 4
    schema = term.ok(f"oph_cubeschema cube={cubes[0]}")
    levels = {row[0]: row[4] for row in schema.grid("cubeschema_diminfo")["rowvalues"]}
    assert levels == {"NAXIS2": "cell", "NAXIS1": "cell"}
    reduced = term.e("oph_reduce cube=[container=frames];operation=max", json_out=False)
    assert reduced.returncode == 0, reduced.stderr
    table = reduced.plain.split("Massive Operation Task List")[1]
    assert table.count("OPH_STATUS_COMPLETED") == 4 and all(c in table for c in cubes)


def test_commands_piped_on_stdin_share_one_session_and_folder(term):
    ran = term.piped("mkdir nightly", "cd nightly", "pwd", "getenv OPH_SESSION_ID", "ls")
    out = ran.plain
    assert ran.returncode == 0, out
    assert "\n/nightly\n" in out  # pwd after cd
    session = term.ok("oph_get_config key=OPH_SESSION_ID").grid("get_config")["rowvalues"][0][1]
    assert f"\n{session}\n" in out


def test_the_default_aliases_over_operators_work(term):
    listed = term.ok("oph_list level=1")
    ran = term.piped(
        "lsd",
        "cdd raw",
        "pdd",
        "cc scratch",
        "rc scratch 2 2 3",
        "show",
        "del $OPH_DATACUBE",
        "rmr scratch",
        "ls",
        f"repeat {workflow_of(listed.reply['jobid'])}",
    )
    out = ran.plain
    assert ran.returncode == 0, out
    assert "| d | raw" in out.split(">> lsd\n")[1]  # oph_fs ls of the data directory
    assert "\n/raw\n" in out  # pdd after cdd raw
    assert "Selected 4 rows out of 4" in out.split(">> show")[1]  # oph_explorecube
    assert "scratch" not in out.split(">> ls\n")[1].split(">> repeat")[0]  # rmr removed it
    repeated = out.split(">> repeat")[1]
    assert "execute=yes" in repeated and "Ophidia Filesystem" in repeated


def test_view_shows_a_workflow_by_number_marker_and_job_id(term):
    listed = term.ok("oph_list level=2")
    jobid = listed.reply["jobid"]
    workflow, marker = workflow_of(jobid), jobid.rsplit("#", 1)[1]
    for line in (f"view {workflow}", f"view {workflow}#{marker}", f"view -j {jobid}"):
        ran = term.e(line, json_out=False)
        assert ran.returncode == 0, (line, ran.stdout, ran.stderr)
        assert "oph_list level=2" in ran.plain  # the header: the request as it was typed
        assert "Ophidia Filesystem" in ran.plain  # the stored response
    as_json = term.e(f"view {workflow}")
    assert as_json.returncode == 0 and as_json.reply["jobid"] == jobid
    missing = term.e("view 9999", json_out=False)
    assert missing.returncode != 0 and "Segmentation" not in missing.stderr


def test_view_polls_an_asynchronous_workflow_until_it_ends(term):
    started = term.e("oph_list level=2;exec_mode=async")
    assert started.returncode == 0 and started.reply["response"] == {}
    ran = term.e(f"view {workflow_of(started.reply['jobid'])} 0 1", json_out=False)
    assert ran.returncode == 0, ran.stderr
    assert "Ophidia Filesystem" in ran.plain


def test_resume_lists_the_sessions_work_and_switches_sessions(term):
    first = term.ok("oph_list level=1")
    session = first.reply["jobid"].split("?")[0]
    listing = term.e("resume", json_out=False)
    assert listing.returncode == 0, listing.stderr
    line = rf"\[{workflow_of(first.reply['jobid'])}\] .*\[OPH_STATUS_COMPLETED\]"
    assert re.search(line, listing.plain), listing.plain
    ran = term.piped("new", "getenv OPH_SESSION_ID", f"resume {session}", "getenv OPH_SESSION_ID")
    out = ran.plain.splitlines()
    ids = [line for line in out if line.startswith("http") and "/sessions/" in line]
    assert ids[0] != session and ids[-1] == session  # a new session, then back to the first
    config = term.ok("oph_get_config").grid("get_config")["rowvalues"]
    assert dict(config)["OPH_SESSION_ID"] == session  # the server remembers the switch


def test_jobs_getprogress_and_kill_talk_to_the_server(term):
    done = term.ok("oph_list level=1")
    workflow = workflow_of(done.reply["jobid"])
    jobs = term.ok("jobs")
    assert any("oph_list" in " ".join(row) for row in jobs.grid("loggingbk")["rowvalues"])
    progress = term.ok(f"getprogress {workflow}")
    assert progress.grid("workflow_progress")["rowvalues"][0][1] == "1.000000"
    killed = term.e("kill 9999")
    assert killed.returncode == 1 and "not running" in killed.plain


def test_watch_repeats_a_command_until_interrupted(term):
    child = term.spawn()
    child.sendline("watch -n 1 oph_list level=2")
    child.expect("Watching every 1 seconds")
    child.expect("Ophidia Filesystem")
    child.expect("Watching every 1 seconds")  # again, a second later
    child.sendintr()  # stops watching; the next line is read as a command again
    child.sendline("quit")
    child.expect("Oph_Term closed")
    child.expect(pexpect.EOF)


def test_a_workflow_file_is_checked_and_submitted_three_ways(term):
    workflow = {
        "name": "listing",
        "author": "alice",
        "abstract": "list twice",
        "exec_mode": "sync",
        "tasks": [
            {"name": "first", "operator": "oph_list", "arguments": ["level=$1"]},
            {
                "name": "second",
                "operator": "oph_list",
                "arguments": ["level=1"],
                "dependencies": [{"task": "first"}],
            },
        ],
    }
    (term.home / "wf.json").write_text(json.dumps(workflow))
    checked = term.piped("check wf.json 2")
    assert "is a VALID Ophidia Workflow" in checked.plain
    by_w = term.run("-w", "wf.json", "-a", "2", "-j")
    assert by_w.returncode == 0, by_w.stderr
    status = [o for o in by_w.response["response"] if o["objkey"] == "workflow_status"]
    assert status[0]["objcontent"][0]["message"] == "OPH_STATUS_COMPLETED"
    tasks = [o for o in by_w.response["response"] if o["objkey"] == "workflow_list"]
    grid = tasks[0]["objcontent"][0]
    row = next(r for r in grid["rowvalues"] if "second" in r)
    second = dict(zip(grid["rowkeys"], row, strict=True))
    task = f"{second['WORKFLOW ID']}#{second['MARKER ID']}"
    viewed = term.e(f"view {task}", json_out=False)  # a task of the workflow, by its marker
    assert viewed.returncode == 0 and "Workflow Task List" in viewed.plain, viewed.plain
    by_file = term.piped("./wf.json 2")
    assert "OPH_STATUS_COMPLETED" in by_file.plain


def test_man_and_the_operator_list_render_in_oph_term(term):
    man = term.ok("man oph_cubesize")
    assert man.grid("man_function")["message"] == "OPH_CUBESIZE v1.0"
    assert man.grid("man_args")["rowkeys"][-1] == "MULTIVALUE"
    listed = term.ok("oph_operators_list operator_filter=cube")
    assert ["OPH_CUBESIZE"] in listed.grid("operators_list_list")["rowvalues"]
    shown = term.e("oph_operators_list", json_out=False)
    assert shown.returncode == 0 and "OPH_IMPORTFITS" in shown.plain
    assert "oph_man function=" in shown.plain  # the closing help message


def test_a_token_logs_in_as_its_user(oph_term, server, tmp_path):
    issued = ophsh("user", "token", "bob", "--store", str(server["store"]))
    assert issued.returncode == 0, issued.stderr
    token_term = Terminal(oph_term, server["port"], tmp_path / "h", "ignored", "ignored")
    token_term.login = ["-H", "127.0.0.1", "-P", str(server["port"]), "-t", issued.stdout.strip()]
    ran = token_term.e("oph_list level=2")
    assert ran.returncode == 0 and ran.response["source"]["producer"] == "bob"


def test_the_interactive_start_downloads_the_operator_xmls_and_completion_uses_them(term):
    child = term.spawn()
    startup = child.before
    if "Indexing of URL" in startup and "certificate" in startup:
        pytest.skip(
            "this oph_term checks the certificate when it downloads the operator XMLs (built "
            "without --disable-xml-ssl-check); give ophsh serve --cert/--key signed by a CA it "
            "trusts"
        )
    assert "Remote XML files: 80 - Downloaded XML files: 80" in startup, startup
    cache = term.home / ".oph_term_xml" / "127.0.0.1"
    expected = {f"{name.upper()}_operator_1.0.xml" for name in load_specs().operators}
    assert {p.name for p in cache.glob("OPH_*.xml")} == expected
    child.send("oph_cubesi\t")
    child.expect("oph_cubesize")
    child.send(" byte_\t")
    child.expect("byte_unit=")
    child.send("\t\t")
    child.expect(r"\(MB\)")  # the default among the values, from the XML
    child.sendcontrol("u")
    child.sendline("update")  # the same download on demand: nothing newer this time
    child.expect("Remote XML files: 80 - Downloaded XML files: 0")
    child.expect(PROMPT)
    child.sendline("quit")
    child.expect(pexpect.EOF)


def fetch(port: int, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """A plain HTTPS request with no login, as curl makes it for oph_term."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30)
    conn.request(method, path, headers={"User-Agent": "Ophidia Terminal"})
    answer = conn.getresponse()
    return answer.status, dict(answer.getheaders()), answer.read()


def test_the_operator_xmls_are_served_where_get_config_says(server):
    """Without oph_term too: the URL, the index oph_term parses, and XMLs true to the specs."""
    client = oph_client.Client("alice", PASSWORD, "127.0.0.1", str(server["port"]))
    client.submit("oph_get_config key=OPH_XML_URL;")
    url = json.loads(client.last_response)["response"][0]["objcontent"][0]["rowvalues"][0][1]
    assert url == f"https://127.0.0.1:{server['port']}/"
    status, _, index = fetch(server["port"], "/")
    links = re.findall(r'<a href="(OPH_[A-Z0-9_]+_operator_1\.0\.xml)">', index.decode())
    specs = load_specs().operators
    assert status == 200 and sorted(links) == sorted(f"{n.upper()}_operator_1.0.xml" for n in specs)
    for name, spec in specs.items():
        status, headers, body = fetch(server["port"], f"/{name.upper()}_operator_1.0.xml")
        assert status == 200 and "Last-Modified" in headers
        root = ElementTree.fromstring(body)
        assert root.get("name") == name.upper()
        declared = {p.name: p for p in spec.params if not p.is_global}
        arguments = root.findall("./args/argument")
        assert [a.text for a in arguments] == list(declared)
        for argument in arguments:
            param = declared[argument.text]
            assert argument.get("type") == param.type
            assert argument.get("mandatory") == ("yes" if param.mandatory else "no")
            assert argument.get("default") == param.default
            assert argument.get("values") == ("|".join(param.values) if param.values else None)
    status, headers, body = fetch(server["port"], "/OPH_CUBESIZE_operator_1.0.xml", "HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0
    assert fetch(server["port"], "/../store/catalog.sqlite")[0] == 404
