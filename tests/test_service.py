"""The engine's door: requests as they arrive on the wire, answered with Ophidia's error codes,
never with an exception (what `ophsh serve` would turn into HTTP 500)."""

from __future__ import annotations

import json

import pytest

from ophsh.engine.service import Service
from ophsh.engine.store import Store


@pytest.fixture
def service(tmp_path):
    store = Store.open(tmp_path / "store")
    service = Service(store, base_path=tmp_path)
    yield service
    service.close()
    store.close()


def one_task(operator: str, arguments, **header) -> dict:
    return {
        "name": operator,
        "exec_mode": "sync",
        **header,
        "tasks": [{"name": "Task 0", "operator": operator, "arguments": arguments}],
    }


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (one_task("oph_list", ["username=mallory"]), "argument 'username' is reserved"),
        (one_task("oph_list", ["sessionid=x"]), "argument 'sessionid' is reserved"),
        (one_task("oph_list", 5), "must be a list"),
        ("[" * 5000 + "]" * 5000, "nested too deeply"),
        (json.dumps({"name": "x", "tasks": []}), "has no tasks"),
        (one_task("oph_lst", []), "unknown operator 'oph_lst'"),
    ],
)
def test_malformed_requests_get_error_7_with_a_reason(service, request_, reason):
    reply = service.execute("alice", request_)
    assert reply.error == 7 and reason in reply.message


def test_a_job_number_beyond_64_bits_is_a_clear_refusal(service):
    service.execute("alice", one_task("oph_list", []))
    reply = service.execute("alice", one_task("oph_resume", [f"id={2**70}"], sessionid="null"))
    assert reply.error == 7 and "whole numbers" in reply.message


def test_the_header_gives_every_task_its_context_and_unknown_names_are_warned(service):
    reply = service.execute("alice", one_task("oph_list", ["level=1", "ndbms=1"], cwd="/"))
    assert reply.ok
    doc = reply.document
    assert doc.grid("list").title == "Ophidia Filesystem: /"
    assert [t.message for t in doc.texts("warning")] == [
        "oph_list ignores unknown parameter 'ndbms'"
    ]
    assert doc.objects[-1]["objkey"] == "status"  # warnings come before the status


def test_a_validation_failure_is_the_jobs_document(service):
    reply = service.execute("alice", one_task("oph_list", ["level=12"]))
    assert reply.error == 0 and reply.jobid and not reply.ok
    assert reply.failure == "level must be at most 8"


def test_the_workflow_header_is_the_context_of_a_command_without_its_own(service):
    """cwd= and cube= in the header reach the task (the server's half of the context rule)."""
    assert service.execute(
        "alice", one_task("oph_folder", ["command=mkdir", "path=sub"], sessionid="null")
    ).ok
    made = service.execute(
        "alice",
        one_task(
            "oph_createcontainer",
            ["container=c", "dim=x|y", "dim_type=int|int"],
            cwd="/sub",
            sessionid="null",
        ),
    )
    assert made.ok
    cube = service.execute(
        "alice",
        one_task(
            "oph_randcube",
            [
                "container=c",
                "dim=x|y",
                "dim_size=2|3",
                "exp_ndim=1",
                "nfrag=1",
                "ntuple=2",
                "measure=m",
                "measure_type=double",
            ],
            cwd="/sub",
            sessionid="null",
        ),
    ).document.output_cube
    listed = service.execute(
        "alice", one_task("oph_list", ["level=2"], cwd="/sub", sessionid="null")
    )
    assert listed.document.grid("list").title == "Ophidia Filesystem: /sub"
    assert cube in listed.document.grid("list").column("DATACUBE PID")
    size = service.execute("alice", one_task("oph_cubeelements", [], cube=cube, sessionid="null"))
    assert size.ok and size.document.grid("cubeelements").rows == (("6",),)


def test_the_cube_clients_add_to_every_command_is_dropped_where_it_means_nothing(service):
    pid = "http://localhost/ophidia/1/1"
    reply = service.execute("alice", one_task("oph_folder", ["command=cd", f"cube={pid}"]))
    assert reply.ok and not list(reply.document.texts("warning"))
