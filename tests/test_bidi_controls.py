"""Bidirectional control characters (U+202A-U+202E, U+2066-U+2069) typed into a name or a file name would reorder
what staff read beside them ("gpj.exe" shown as "exe.jpg"): they are stripped where the text comes in."""
import io

import pytest

from intranet import files
from intranet.validation import clean_name, strip_bidi
from tests.factories import PDF

CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def test_every_bidi_control_is_stripped():
    assert strip_bidi(f"a{CONTROLS}b") == "ab"
    assert strip_bidi("سارة\u200fعلي") == "سارة\u200fعلي"  # a right-to-left mark is not an override: kept


@pytest.mark.parametrize("typed", ["\u202eسارة علي", "سارة\u2066 علي\u2069", "Sara \u202dAli"])
def test_a_typed_name_loses_its_controls(typed, app):
    with app.test_request_context():
        cleaned = clean_name(typed)
    assert not set(cleaned) & set(CONTROLS) and cleaned in ("سارة علي", "Sara Ali")


def test_an_uploaded_file_name_loses_its_controls(app):
    from werkzeug.datastructures import FileStorage

    with app.test_request_context():
        stored = files.store_all([FileStorage(io.BytesIO(PDF), filename="report\u202efdp.exe.pdf")])
    try:
        assert stored[0].original_name == "reportfdp.exe.pdf"
    finally:
        with app.test_request_context():
            files.discard(stored)


def test_the_api_stores_names_without_controls(app, client):
    from intranet.db import database
    from intranet.models import Citizen
    from tests.test_api import headers, new_client, payload

    portal = new_client(app)
    body = payload("P-BIDI")
    body["citizen"]["full_name"] = "فاطمة \u202eعلي الكواري"
    answer = client.post("/api/v1/requests", json=body, headers=headers(portal.token))
    assert answer.status_code == 201, answer.json
    with app.app_context(), database.connection_context():
        assert Citizen.get(Citizen.national_id == body["citizen"]["national_id"]).full_name == "فاطمة علي الكواري"
