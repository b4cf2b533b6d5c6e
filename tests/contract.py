"""The backend contract: what every backend must do, written once (zarr's StoreTests are the
model). ``test_contract_embedded.py`` runs it on the embedded store and
``test_contract_remote.py`` on the remote backend talking to ``ophsh serve`` on 127.0.0.1.

A subclass provides the fixture ``where``: a started :class:`~ophsh.shell.shell.Shell` on its
backend, whose data directory (cdd) holds ``raw/`` with two FITS frames.
"""

from __future__ import annotations

import re
import uuid

from ophsh.backend import Backend

PID = re.compile(r"^http://localhost/ophidia/\d+/\d+$")


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def ok(shell, line: str):
    outcome = shell.run_line(line)
    assert outcome.ok, f"{line!r} failed: {outcome.message}"
    return outcome.reply.document


class BackendContract:
    """Tests every backend passes; each names what a user would notice."""

    def test_it_is_a_backend_and_resumes_its_session(self, where):
        assert isinstance(where.backend, Backend)
        ok(where, "oph_list")
        session = where.state.get("OPH_SESSION_ID") or ""
        assert session.startswith("http://localhost/ophidia/sessions/")
        assert where.state.get("OPH_CWD") == "/"
        assert where.backend.start().session == session  # the next start resumes it

    def test_a_container_and_a_cube_appear_in_listings_and_completion(self, where):
        name = unique("c")
        made = ok(where, f"oph_createcontainer container={name};dim=x|y;dim_type=int|int")
        assert made.text_titled("Output Container").startswith("http://localhost/ophidia/")
        doc = ok(
            where,
            f"oph_randcube container={name};dim=x|y;dim_size=3|4;exp_ndim=1;nfrag=1;ntuple=3;"
            "measure=t;measure_type=double;description=three rows",
        )
        pid = doc.output_cube
        assert PID.match(pid) and where.state.get("OPH_DATACUBE") == pid
        rows = ok(where, "oph_list level=2").grid("list").rows
        assert ("c", name, pid, "three rows") in rows
        context = where.state.context()
        assert "three rows" in {e.note for e in where.backend.cubes(context) if e.name == pid}
        assert name in {e.name for e in where.backend.containers(context)}

    def test_schema_explore_and_reduce_give_the_same_numbers(self, where):
        name = unique("r")
        ok(where, f"oph_createcontainer container={name};dim=x|y;dim_type=int|int")
        ok(
            where,
            f"oph_randcube container={name};dim=x|y;dim_size=2|5;exp_ndim=1;nfrag=1;ntuple=2;"
            "measure=t;measure_type=double",
        )
        schema = ok(where, "oph_cubeschema level=2")
        dims = schema.grid("cubeschema_diminfo")
        assert [row[:3] for row in dims.rows] == [("x", "int", "2"), ("y", "int", "5")]
        data = ok(where, "oph_explorecube").grid("explorecube_data")
        values = [[float(v) for v in row[-1].split(", ")] for row in data.rows]
        assert len(values) == 2 and all(len(v) == 5 for v in values)
        reduced = ok(where, "oph_reduce operation=max").output_cube
        maxima = ok(where, f"oph_explorecube cube={reduced}").grid("explorecube_data")
        assert [float(row[-1]) for row in maxima.rows] == [max(v) for v in values]

    def test_metadata_written_is_read_back(self, where):
        name = unique("m")
        ok(where, f"oph_createcontainer container={name};dim=x|y;dim_type=int|int")
        ok(
            where,
            f"oph_randcube container={name};dim=x|y;dim_size=2|2;exp_ndim=1;nfrag=1;ntuple=2;"
            "measure=t;measure_type=float",
        )
        ok(where, "oph_metadata mode=insert;metadata_key=observer;metadata_value=Vera Rubin")
        read = ok(where, "oph_metadata mode=read;metadata_key=observer")
        assert read.text_titled("Summary") == "Found 1 items"
        assert read.grid("metadata_list").column("Value") == ["Vera Rubin"]

    def test_frames_import_from_the_data_directory_and_are_found_by_metadata(self, where):
        name = unique("f")
        ok(where, f"oph_createcontainer container={name};dim=NAXIS2|NAXIS1;dim_type=int|int")
        imported = ok(where, f"oph_importfits src_path=[path=raw;file=*.fits];container={name}")
        made = imported.grid("massive_list").column("OUTPUT")
        assert len(made) == 2 and all(PID.match(p) for p in made)
        found = ok(
            where,
            f"oph_search container_filter={name};metadata_key_filter=OBS_TYPE;"
            "metadata_value_filter=FLAT",
        )
        assert {row[0] for row in found.grid("search").rows} == {made[1]}
        files = {e.name for e in where.backend.files(where.state.context(), "raw")}
        assert files == {"a.fits", "b.fits"}

    def test_folders_move_the_current_folder_and_are_listed(self, where):
        name = unique("d")
        ok(where, f"oph_folder command=mkdir;path={name}")
        assert name in {e.name for e in where.backend.folders(where.state.context())}
        ok(where, f"oph_folder command=cd;path={name}")
        assert where.state.get("OPH_CWD") == f"/{name}"
        ok(where, "oph_folder command=cd;path=/")

    def test_failures_are_one_line_and_leave_the_state_alone(self, where):
        before = where.state.get("OPH_DATACUBE")
        outcome = where.run_line("oph_delete cube=http://localhost/ophidia/999/999")
        assert (
            not outcome.ok
            and outcome.message == "cube http://localhost/ophidia/999/999 does not exist"
        )
        assert where.state.get("OPH_DATACUBE") == before

    def test_a_workflow_passes_cubes_between_its_tasks(self, where):
        name = unique("w")
        ok(where, f"oph_createcontainer container={name};dim=x|y;dim_type=int|int")
        workflow = {
            "name": "two steps",
            "exec_mode": "sync",
            "sessionid": where.state.get("OPH_SESSION_ID"),
            "tasks": [
                {
                    "name": "make",
                    "operator": "oph_randcube",
                    "arguments": [
                        f"container={name}",
                        "dim=x|y",
                        "dim_size=2|3",
                        "exp_ndim=1",
                        "nfrag=1",
                        "ntuple=2",
                        "measure=t",
                        "measure_type=double",
                    ],
                },
                {
                    "name": "sum",
                    "operator": "oph_reduce",
                    "arguments": ["operation=sum"],
                    "dependencies": [{"task": "make", "type": "single"}],
                },
            ],
        }
        reply = where.backend.submit_workflow(workflow)
        assert reply.ok, reply.failure
        tasks = reply.document.grid("workflow_list")
        made, summed = tasks.column("OUTPUT")
        assert PID.match(made) and PID.match(summed) and made != summed
        assert reply.document.extra["cube"] == summed
