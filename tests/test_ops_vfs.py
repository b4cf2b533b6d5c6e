"""Containers, virtual folders, listings and the data directory, through the shell."""

from __future__ import annotations


def rows(outcome, objkey):
    return [list(r) for r in outcome.reply.document.grid(objkey).rows]


def test_create_list_and_delete_a_container(shell, run):
    out = run("oph_createcontainer container=night;dim=NAXIS2|NAXIS1;dim_type=int|int;")
    assert out.reply.document.text_titled("Output Container").startswith(
        "http://localhost/ophidia/"
    )
    assert ["c", "night"] in rows(run("ls"), "list")
    run("oph_deletecontainer container=night")
    assert rows(run("ls"), "list") == []


def test_container_names_are_unique_in_a_folder(shell, run):
    run("oph_createcontainer container=night;dim=x")
    out = shell.run_line("oph_createcontainer container=night;dim=x")
    assert not out.ok and "already exists" in out.message


def test_dim_type_needs_one_value_per_dimension(shell):
    out = shell.run_line("oph_createcontainer container=c;dim=a|b|c;dim_type=int|int")
    assert not out.ok and "one value per dimension" in out.message


def test_deleting_a_missing_container_says_so(shell):
    out = shell.run_line("oph_deletecontainer container=nope")
    assert not out.ok and "container 'nope' does not exist" in out.message


def test_folders_cd_mkdir_mv_rm(shell, run):
    run("mkdir nights")
    run("mkdir nights/n1")
    run("cd nights")
    assert shell.state.get("OPH_CWD") == "/nights"
    run("oph_createcontainer container=c1;dim=x")
    listing = rows(run("lr /"), "list")
    assert ["f", "nights/", "", ""] in listing and ["c", "nights/c1", "", ""] in listing
    run("mvdir n1 n2")
    assert ["f", "n2/"] in rows(run("ls"), "list")
    out = shell.run_line("rmdir /nights")
    assert not out.ok and "current folder" in out.message
    run("cd ..")
    assert shell.state.get("OPH_CWD") == "/"
    out = shell.run_line("rmdir nights")
    assert not out.ok and "not empty" in out.message
    run("rmdir nights/n2")
    run("cd")
    assert shell.state.get("OPH_CWD") == "/"


def test_cd_into_a_missing_folder_keeps_the_cwd(shell, run):
    out = shell.run_line("cd nowhere")
    assert not out.ok and "does not exist" in out.message
    assert shell.state.get("OPH_CWD") == "/"


def test_paths_cannot_climb_above_the_root(shell):
    out = shell.run_line("cd ../..")
    assert not out.ok and "above the session root" in out.message


def test_data_directory_listing_and_cd(shell, run, tmp_path):
    data = tmp_path / "data"
    (data / "raw").mkdir()
    (data / "raw" / "a.fits").write_bytes(b"")
    (data / "notes.txt").write_text("x")
    assert run("pdd").text == str(data)
    listing = rows(run("lsd"), "fs")
    assert ["d", "raw"] in listing and ["f", "notes.txt"] in listing
    run("cdd raw")
    assert shell.state.get("OPH_CDD") == str(data / "raw")
    assert rows(run("lsd"), "fs") == [["f", "a.fits"]]
    out = shell.run_line("cdd missing")
    assert not out.ok and "does not exist" in out.message


def test_list_level_three_shows_measure_level_and_source(shell, run, tmp_path):
    from factories import raw_frame, write_fits

    data, cards = raw_frame()
    write_fits(tmp_path / "data" / "f.fits", data, **cards)
    run("oph_importfits src_path=f.fits;measure=counts")
    listing = rows(run("oph_list level=3"), "list")
    cube_row = next(r for r in listing if r[2])
    assert cube_row[0] == "c" and cube_row[1] == "f.fits"
    assert cube_row[4:] == ["counts", "0", "f.fits"]


def test_storage_levels_need_a_cube(shell):
    out = shell.run_line("oph_list level=5")
    assert not out.ok and out.message == "oph_list level=5 describes one cube: give cube="


def test_move_and_rename_a_container(shell, run):
    run("oph_createcontainer container=night;dim=NAXIS2|NAXIS1;dim_type=int|int")
    run("mkdir archive")
    run("mv night night1")
    assert ["c", "night1"] in rows(run("ls"), "list")
    run("mv night1 archive")
    assert ["c", "night1"] in rows(run("ls archive"), "list")
    run("mv archive/night1 /archive/n2016")
    assert ["c", "n2016"] in rows(run("ls /archive"), "list")
    run("oph_createcontainer container=other;dim=x")
    out = shell.run_line("mv other archive/n2016")
    assert not out.ok and "already exists" in out.message


def test_containerschema_lists_declared_dimensions(run):
    run(
        "oph_createcontainer container=night;dim=NAXIS2|NAXIS1;dim_type=int|int;"
        "description=first night"
    )
    doc = run("oph_containerschema container=night").reply.document
    assert doc.grid("containerschema_info").rows[0][:2] == ("night", "first night")
    dims = doc.grid("containerschema_diminfo")
    assert [r[:3] for r in dims.rows] == [
        ("NAXIS2", "int", "oph_base"),
        ("NAXIS1", "int", "oph_base"),
    ]
