"""The response document: Ophidia's JSON shape, as clients parse it."""

from __future__ import annotations

import json

from ophsh.document import Document


def sample() -> Document:
    doc = Document(producer="alice")
    doc.add_text("importfits", "Output Cube", "http://localhost/ophidia/1/2")
    doc.add_grid(
        "list", "Ophidia Filesystem: /", ["T", "LEVEL"], ["string", "int"], [["c", 3], ["f", None]]
    )
    doc.set_status(True)
    doc.set_extra("execution_time", "0.01")
    return doc


def test_json_matches_ophidias_layout():
    text = sample().to_json()
    assert text.startswith('{\n    "source": {')
    data = json.loads(text)
    assert data["responseKeyset"] == ["importfits", "list", "status"]
    assert data["response"][-1] == {
        "objclass": "text",
        "objkey": "status",
        "objcontent": [{"title": "SUCCESS"}],
    }
    assert data["response"][1]["objcontent"][0]["rowvalues"] == [["c", "3"], ["f", ""]]
    assert data["extra"] == {"keys": ["execution_time"], "values": ["0.01"]}


def test_errors_end_with_a_newline_as_pyophidia_expects():
    doc = Document("bob").fail("no such cube")
    text = doc.to_json()
    assert '"title": "ERROR"' in text and '"message": "no such cube\\n"' in text
    assert doc.error_message == "no such cube"


def test_non_ascii_is_escaped():
    doc = Document("bob")
    doc.add_text("x", "Title", "Ångström")
    assert "\\u00c5" in doc.to_json() and "Å" not in doc.to_json()


def test_round_trip_and_what_clients_read():
    back = Document.from_json(sample().to_json())
    assert back.output_cube == "http://localhost/ophidia/1/2"
    assert back.grid("list").column("T") == ["c", "f"]
    assert back.ok


def test_status_is_always_last_and_unique():
    doc = sample()
    doc.add_text("more", "Later", "x")
    doc.set_status(False, "oops")
    keys = [o["objkey"] for o in doc.objects]
    assert keys[-1] == "status" and keys.count("status") == 1
