"""oph_cubeio: a cube's history as rows and as a graph, in the shell and through PyOphidia."""

from __future__ import annotations

from test_server import PASSWORDS, Served

RANDCUBE = (
    "oph_randcube container=c;dim=x|y;dim_size=2|3;exp_ndim=1;nfrag=1;ntuple=2;measure=m;"
    "measure_type=double"
)


def test_the_history_of_a_cube_from_its_roots_to_its_children(run):
    run("oph_createcontainer container=c;dim=x|y;dim_type=int|int")
    first = run(RANDCUBE).reply.document.output_cube
    second = run(RANDCUBE).reply.document.output_cube
    summed = run(f"oph_intercube cube={first};cube2={second};operation=sum").reply
    total = summed.document.output_cube
    reduced = run(f"oph_reduce cube={total};operation=max").reply.document.output_cube
    doc = run(f"oph_cubeio cube={total}").reply.document
    rows = doc.grid("cubeio").rows
    assert rows == (  # depth first, from each root down
        ("", "ROOT", first, ""),
        (first, "oph_intercube", total, ""),
        ("", "ROOT", second, ""),
        (second, "oph_intercube", total, ""),
        (total, "oph_reduce", reduced, ""),
    )
    up = run(f"oph_cubeio cube={total};branch=parent").reply.document.grid("cubeio").rows
    assert up == rows[:4]
    graph = next(o for o in doc.objects if o["objkey"] == "cubeio_graph")["objcontent"][0]
    pids = [node[0] for node in graph["nodevalues"]]
    assert pids == [first, total, second, reduced]
    assert graph["nodelinks"][1] == [{"node": "3", "description": "oph_reduce"}]


def test_pyophidia_provenance_through_ophsh_serve(tmp_path):
    from PyOphidia import cube

    server = Served(tmp_path)
    try:
        cube.Cube.setclient("alice", PASSWORDS["alice"], "127.0.0.1", str(server.port))
        client = cube.Cube.client
        client.submit("oph_createcontainer container=c;dim=x|y;dim_type=int|int;")
        client.submit(RANDCUBE + ";")
        made = cube.Cube(pid=client.cube)
        reduced = made.reduce(operation="avg", display=False)
        response = reduced.provenance(display=False)
        grid = next(o for o in response if o["objkey"] == "cubeio")["objcontent"][0]
        assert grid["rowvalues"] == [
            ["", "ROOT", made.pid, ""],
            [made.pid, "oph_reduce", reduced.pid, ""],
        ]
    finally:
        server.stop()
