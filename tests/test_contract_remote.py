"""The backend contract on the remote backend, talking to `ophsh serve` on 127.0.0.1; and the
same commands on both backends give the same documents."""

from __future__ import annotations

import re

import pytest
from contract import BackendContract, ok, unique
from test_contract_embedded import frames
from test_server import PASSWORDS, Served

from ophsh.engine.embedded import EmbeddedBackend
from ophsh.remote.client import RemoteBackend
from ophsh.shell.shell import Shell
from ophsh.shell.state import ShellState
from ophsh.workflow.run import WorkflowEngine


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    served = Served(tmp_path_factory.mktemp("contract"))
    frames(served.data)
    yield served
    served.stop()


def remote_shell(server, specs) -> Shell:
    backend = RemoteBackend("127.0.0.1", str(server.port), "alice", PASSWORDS["alice"])
    shell = Shell(backend, specs, state=ShellState(specs, environ={}))
    shell.start()
    return shell


class TestRemote(BackendContract):
    @pytest.fixture
    def where(self, server, specs):
        return remote_shell(server, specs)


def normalised(doc) -> list:
    """The response objects with what differs between two stores (ids, times) masked."""
    text = repr(doc.objects)
    text = re.sub(r"http://localhost/ophidia/\d+(/\d+)?", "PID", text)
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "TIME", text)
    text = re.sub(r"\['\d+', ''", "['ID', ''", text)  # metadata ids are the store's own
    return re.sub(r"'(c|s)[0-9a-f]{8}'", "NAME", text)


def test_the_same_commands_give_the_same_documents(server, specs, tmp_path, monkeypatch):
    data = tmp_path / "data"
    frames(data)
    monkeypatch.chdir(data)
    local = EmbeddedBackend(tmp_path / "store", user="alice", workflows=WorkflowEngine(specs))
    embedded = Shell(local, specs, state=ShellState(specs, environ={}))
    embedded.start()
    remote = remote_shell(server, specs)
    ok(remote, "oph_manage_session action=new")  # an empty session, as the new store has
    name = unique("c")
    script = [
        f"oph_createcontainer container={name};dim=NAXIS2|NAXIS1;dim_type=int|int",
        f"oph_importfits src_path=raw/a.fits;container={name};description=first",
        "oph_cubeschema level=2",
        "oph_cubesize",
        "oph_cubeelements",
        "oph_explorecube limit_filter=3",
        "oph_metadata mode=read;metadata_key=OBS_TYPE|FLT_ID",
        "oph_reduce operation=avg",
        "oph_explorecube",
        f"oph_list level=2;container_filter={name}",
        f"oph_containerschema container={name}",
        "oph_man function=oph_reduce",
    ]
    try:
        for line in script:
            mine, theirs = ok(embedded, line), ok(remote, line)
            assert normalised(mine) == normalised(theirs), line
    finally:
        local.close()
