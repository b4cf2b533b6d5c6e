"""Deleting cubes (one, and by filters), describing them, and the help operators."""

from __future__ import annotations

import pytest
from factories import raw_frame, write_fits


@pytest.fixture
def night(run, tmp_path):
    """Two bias frames and a V flat imported into container 'night'; returns their PIDs."""
    frames = [("BIAS", "OPEN"), ("BIAS", "OPEN"), ("FLAT", "V_JOHN_11")]
    for i, (kind, filt) in enumerate(frames):
        data, cards = raw_frame(seed=i, kind=kind, filt=filt)
        write_fits(tmp_path / "data" / f"f{i}.fits", data, **cards)
    run("oph_createcontainer container=night;dim=NAXIS2|NAXIS1;dim_type=int|int")
    run("oph_importfits src_path=[file=f*.fits];container=night")
    rows = run("ll").reply.document.grid("list").rows
    return [r[2] for r in rows if r[2]]


def cubes(run):
    return [r[2] for r in run("ll").reply.document.grid("list").rows if r[2]]


def test_delete_one_cube(run, night):
    run(f"del {night[0]}")
    assert cubes(run) == night[1:]


def test_delete_by_metadata_filter_keeps_the_others(run, night):
    run("oph_delete cube=[container=night;metadata_key=OBS_TYPE;metadata_value=BIAS]")
    assert cubes(run) == [night[2]]


def test_metadata_pairs_are_anded(run, night):
    run("oph_delete cube=[metadata_key=OBS_TYPE|FLT_ID;metadata_value=FLAT|OPEN]")
    assert cubes(run) == night  # no cube is both a FLAT and OPEN


def test_negated_filter(run, night):
    run("oph_delete cube=[metadata_key=OBS_TYPE;metadata_value=!BIAS]")
    assert cubes(run) == night[:2]


def test_cube_id_ranges_as_the_tutorial_suggests(run, night):
    first, last = (int(p.rsplit("/", 1)[1]) for p in (night[0], night[1]))
    run(f"oph_delete cube=[{first}:{last}]")
    assert cubes(run) == [night[2]]


def test_drop_deletes_everything_in_the_folder(run, night, shell):
    run("drop")
    shell.backend.service.wait()
    assert cubes(run) == []


def test_a_massive_operation_unsets_the_current_cube(run, night, shell):
    assert shell.state.get("OPH_DATACUBE") == night[2]
    run("oph_delete cube=[container=night;metadata_key=FLT_ID;metadata_value=V_JOHN_11]")
    assert shell.state.get("OPH_DATACUBE") is None


def test_deleting_an_unknown_cube_is_an_error(shell, run, night):
    out = shell.run_line(f"del {night[0]}9999")
    assert not out.ok and "does not exist" in out.message
    out = shell.run_line("del https://ophidialab.cmcc.it/ophidia/1/1")
    assert not out.ok and "belongs to another server" in out.message


def test_containers_with_cubes_need_force(shell, run, night):
    out = shell.run_line("oph_deletecontainer container=night")
    assert not out.ok and "still holds 3 cube(s)" in out.message
    run("rmr night")
    assert run("ll").reply.document.grid("list").rows == ()


def test_cubeschema_cubesize_and_elements(run, night):
    doc = run(f"oph_cubeschema cube={night[0]};level=2").reply.document
    info = doc.grid("cubeschema_cubeinfo")
    assert info.rows[0][0] == night[0] and info.rows[0][2] == "image"
    more = doc.grid("cubeschema_morecubeinfo")
    assert more.column("ROWS x FRAGMENT") == ["7"] and more.column("ELEMENTS x ROW") == ["5"]
    values = {g.title: g for g in doc.grids("cubeschema_dimvalues")}
    assert values["NAXIS1"].column("VALUE") == ["1", "2", "3", "4", "5"]
    elements = run(f"oph_cubeelements cube={night[0]}").reply.document.grid("cubeelements")
    assert elements.rows == (("35",),)
    size = run(f"oph_cubesize cube={night[0]};byte_unit=KB").reply.document.grid("cubesize")
    assert float(size.rows[0][0]) == pytest.approx(35 * 8 / 1024, abs=1e-6)


def test_man_and_operators_list(run):
    doc = run("man oph_importfits").reply.document
    assert doc.text_titled("Function Name and Version") == "OPH_IMPORTFITS v1.0"
    args = doc.grid("man_args")
    assert "src_path" in args.column("NAME")
    assert args.keys[-1] == "MULTIVALUE"
    info = dict(doc.grid("man_info").rows)
    assert "NAXIS1" in info["Abstract"] and "[Examples]" in info["Abstract"]
    ops = run("oph_operators_list operator_filter=fits").reply.document
    assert ops.grid("operators_list_list").column("OPERATORS") == [
        "OPH_EXPORTFITS",
        "OPH_IMPORTFITS",
    ]
    assert "oph_man function=" in ops.text_titled("Help Message")


def test_man_of_an_unknown_operator_suggests(shell):
    out = shell.run_line("man oph_improtfits")
    assert not out.ok and "did you mean oph_importfits" in out.message
