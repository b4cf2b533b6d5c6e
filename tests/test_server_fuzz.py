"""Fuzzing `ophsh serve` (one real server for the module): whatever arrives, an answer comes,
never HTTP 500, and the store stays whole — its catalog passes SQLite's integrity check, every
array file belongs to a cube and every cube's file exists.

Values are drawn from small sets of good and bad ones (sizes stay tiny), so each example is
cheap and the whole run bounded.
"""

from __future__ import annotations

import json
import sqlite3
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_server import Served, envelope, still_serving

from ophsh.engine.registry import HANDLERS
from ophsh.spec import load_specs

SPECS = load_specs()
OPERATORS = sorted(HANDLERS)
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = Served(tmp_path_factory.mktemp("fuzz"))
    client = server.client()
    client.submit("oph_createcontainer container=fz;dim=x|y;dim_type=double|double;")
    client.submit(
        "oph_randcube container=fz;dim=x|y;dim_size=2|3;exp_ndim=1;nfrag=1;ntuple=1;"
        "measure=m;measure_type=double;"
    )
    server.pid = client.cube
    yield server
    server.stop()


def text_values(pid: str) -> st.SearchStrategy[str]:
    junk = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
    return st.one_of(
        st.sampled_from(
            [
                "",
                "0",
                "1",
                "2",
                "-1",
                "3",
                "yes",
                "no",
                "all",
                "x",
                "y",
                "z",
                "m",
                "fz",
                "..",
                "../..",
                "/",
                "/etc/passwd",
                "a|b",
                "[",
                "]",
                "[container=fz]",
                "*",
                "%",
                "avg",
                "max",
                "double",
                "int",
                "out",
                "out/f.fits",
                "é",
                "\u0000",
                "n" * 300,
                "1:2",
                "99999999999999999999",
                "sync",
                "async",
                pid,
                pid + "9",
                "http://x/1/1",
            ]
        ),
        junk,
    )


@st.composite
def operator_calls(draw, pid: str) -> dict:
    operator = draw(st.sampled_from(OPERATORS))
    names = [p.name for p in SPECS.operators[operator].params] + ["jobid", "bogus", ""]
    arguments = [
        f"{draw(st.sampled_from(names))}={draw(text_values(pid))}"
        for _ in range(draw(st.integers(0, 6)))
    ]
    workflow = {
        "name": operator,
        "exec_mode": draw(st.sampled_from(["sync", "async", "bogus"])),
        "tasks": [{"name": "Task 0", "operator": operator, "arguments": arguments}],
    }
    if draw(st.booleans()):
        workflow["sessionid"] = draw(
            st.sampled_from(["null", "", "x", "http://localhost/ophidia/sessions/1/experiment"])
        )
    return workflow


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def workflow_shapes(draw) -> dict:
    """Workflows whose structure is wrong in every way JSON allows."""
    task = draw(
        st.dictionaries(
            st.sampled_from(["name", "operator", "arguments", "dependencies", "on_error"]),
            json_values,
            max_size=5,
        )
    )
    if draw(st.booleans()):
        task["operator"] = draw(
            st.sampled_from(
                [*OPERATORS, "oph_resume", "oph_get_config", "oph_cancel", "oph_manage_session"]
            )
        )
    document = draw(
        st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "tasks",
                    "exec_mode",
                    "sessionid",
                    "cwd",
                    "cube",
                    "ncores",
                    "direct_output",
                ]
            ),
            json_values,
            max_size=6,
        )
    )
    if draw(st.booleans()):
        document["tasks"] = [task] * draw(st.integers(1, 3))
    if draw(st.booleans()):
        document["name"] = "fuzz"
    return document


def assert_answered(served: Served, reply: tuple[int, bytes]) -> None:
    """An answer came: not a 500, a fault or an ophResponse, no traceback, no server path."""
    status, body = reply
    assert status != 500 and status in (200, 400, 411, 413), (status, body[:300])
    root = ElementTree.fromstring(body)
    reply = root.find(".//{urn:oph}ophResponse")
    if reply is None:
        assert root.find(".//faultstring") is not None, body[:300]
        return
    assert reply.find("error") is not None
    document = reply.find("response")
    if document is not None:
        text = json.loads(document.text)
        for obj in text["response"]:
            for item in obj["objcontent"]:
                message = str(item.get("message", ""))
                assert "Traceback" not in message and str(served.store.parent) not in message


@FUZZ
@given(data=st.data())
def test_operator_arguments(served, data):
    assert_answered(served, served.post(envelope(data.draw(operator_calls(served.pid)))))


@FUZZ
@given(workflow=workflow_shapes())
def test_workflow_shapes(served, workflow):
    assert_answered(served, served.post(envelope(json.dumps(workflow))))


@FUZZ
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(lambda text: envelope(text)),
        st.text(max_size=300).map(str.encode),
    )
)
def test_bodies(served, body):
    assert_answered(served, served.post(body))


def test_the_store_is_whole_after_all_of_it(served):
    assert still_serving(served)
    served.stop()  # gracefully: running jobs end first
    with sqlite3.connect(served.store / "catalog.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        files = {row[0] for row in db.execute("SELECT data_file FROM cubes")}
    assert {path.name for path in (served.store / "data").iterdir()} == files
