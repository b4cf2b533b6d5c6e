"""oph_metadata: read with filters, insert, update, delete."""

from __future__ import annotations

import pytest
from factories import raw_frame, write_fits


@pytest.fixture
def cube(run, tmp_path):
    data, cards = raw_frame(kind="FLAT", filt="V_JOHN_11")
    write_fits(tmp_path / "data" / "flat.fits", data, **cards, GAIN=(1.9, "e-/ADU"))
    return run("oph_importfits src_path=flat.fits").reply.document.output_cube


def grid(outcome):
    return outcome.reply.document.grid("metadata_list")


def test_header_cards_become_clean_typed_metadata(run, cube):
    g = grid(run(f"oph_metadata mode=read;cube={cube}"))
    assert g.keys == (
        "Id",
        "Variable",
        "Key",
        "Type",
        "Value",
        "Last_Modified",
        "User",
        "Vocabulary",
    )
    by_key = {row[2]: row for row in g.rows}
    assert by_key["FLT_ID"][3:5] == ("text", "V_JOHN_11")
    assert by_key["BITPIX"][3:5] == ("int", "16")
    assert by_key["BZERO"][3:5] == ("int", "32768")
    assert by_key["GAIN"][3:5] == ("double", "1.9")


def test_read_one_key_as_in_the_tutorial(run, cube):
    out = run(
        f"oph_metadata mode=read;cube={cube};metadata_key=FLT_ID;metadata_type=text;"
        "metadata_value=test_text;"
    )
    assert out.reply.document.text_titled("Summary") == "Found 1 items"
    assert [r[2:5] for r in grid(out).rows] == [("FLT_ID", "text", "V_JOHN_11")]


def test_current_cube_is_used_when_cube_is_left_out(run, cube, shell):
    assert shell.state.get("OPH_DATACUBE") == cube
    out = run("oph_metadata metadata_key=OBS_TYPE")
    assert [r[4] for r in grid(out).rows] == ["FLAT"]


def test_value_filter_is_a_substring_match(run, cube):
    out = run("oph_metadata metadata_value_filter=JOHN")
    assert [r[2] for r in grid(out).rows] == ["FLT_ID"]


def test_insert_update_delete(run, shell, cube):
    run("oph_metadata mode=insert;metadata_key=OBSERVER;metadata_value=Londero")
    row = grid(run("oph_metadata metadata_key=OBSERVER")).rows[0]
    assert row[4] == "Londero" and row[6] == "tester"
    run(f"oph_metadata mode=update;metadata_id={row[0]};metadata_value=Bressan")
    assert grid(run("oph_metadata metadata_key=OBSERVER")).rows[0][4] == "Bressan"
    run(f"oph_metadata mode=delete;metadata_id={row[0]}")
    assert grid(run("oph_metadata metadata_key=OBSERVER")).rows == ()


def test_numeric_metadata_must_be_numbers(shell, cube):
    out = shell.run_line(
        "oph_metadata mode=insert;metadata_key=X;metadata_value=abc;metadata_type=double"
    )
    assert not out.ok and "not a double" in out.message


def test_update_needs_an_existing_id(shell, cube):
    out = shell.run_line("oph_metadata mode=update;metadata_value=1")
    assert not out.ok and "metadata_id" in out.message
    out = shell.run_line("oph_metadata mode=update;metadata_id=99999;metadata_value=1")
    assert not out.ok and "no metadata item 99999" in out.message
