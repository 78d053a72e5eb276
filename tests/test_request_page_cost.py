"""The request page's server time (issue 21): what it repeats is made once, and what it shows stays what it was.

The keyboard shortcuts dialog is kept for each language (fragments.kept; tests/test_fragments.py checks what kept
templates read); each moment is formatted once for its value, format, language and time zone (request_page.datetime_text);
a history entry's details are read once for each value they take; who entered a request comes with it
(queues/services.find_request); the action form is plain HTML until someone posts it."""
import datetime as dt
import json
import re

import pytest
from flask_babel import force_locale, format_datetime

from intranet import fragments, request_substance
from intranet.models import HistoryEntry, Request, Staff
from intranet.queues import request_page, services
from tests.conftest import csrf_token
from tests.factories import make_request, make_staff


@pytest.fixture
def req(data):
    with data():  # no request context held across the pages (it would pin their language)
        desk = make_staff("desk", "reception", "reception")
        return make_request("health_care", actor=desk)


def shortcuts_of(page_text):
    found = re.search(r'<dialog id="shortcuts".*?</dialog>', page_text, re.S)
    assert found, "no shortcuts dialog"
    return found.group(0)


def switch_language(client, lang, back):
    client.post("/language", data={"csrf_token": csrf_token(client, back), "lang": lang, "next": back})


def test_the_shortcuts_dialog_is_kept_for_each_language(app, auth, client, req):
    auth.login("health1")
    page = f"/requests/{req.tracking_number}"
    arabic = shortcuts_of(client.get(page).text)
    assert "اختصارات لوحة المفاتيح" in arabic and shortcuts_of(client.get(page).text) == arabic
    assert any("shortcuts" in str(key) for key in app.extensions["diwan_fragments"].pieces)  # kept
    switch_language(client, "en", page)
    english = shortcuts_of(client.get(page).text)
    assert "Keyboard shortcuts" in english and "اختصارات" not in english
    assert shortcuts_of(client.get("/queues/health").text) == english  # the queue page's own copy: the same
    switch_language(client, "ar", page)
    assert shortcuts_of(client.get(page).text) == arabic


def test_a_moment_is_formatted_for_its_language_format_and_time_zone(app):
    moment = dt.datetime(2026, 3, 1, 21, 30)  # UTC: the next day in Qatar
    with app.test_request_context():
        for lang in ("ar", "en"):
            with force_locale(lang):
                for form in ("medium", "short"):
                    assert request_page.datetime_text(moment, form) == format_datetime(moment, form)
        with force_locale("en"):
            qatar = request_page.datetime_text(moment)
            assert "Mar 2" in qatar and request_page.datetime_text(moment) == qatar  # again: the same text
            with force_locale("ar"):
                assert request_page.datetime_text(moment) != qatar
    app.config["TIMEZONE"] = "UTC"
    with app.test_request_context(), force_locale("en"):  # another zone: its own text, not the one held
        utc = request_page.datetime_text(moment)
        assert "Mar 1" in utc and utc == format_datetime(moment, "medium")


def test_a_day_and_an_amount_are_formatted_for_their_language_format_and_zone(app):
    """`date_text` (the templates' dateformat) and the `money` filter, each kept once formatted (issue 21)."""
    from decimal import Decimal

    from flask_babel import format_date

    from intranet.payouts.labels import format_amount

    moment = dt.datetime(2026, 3, 1, 21, 30)  # UTC: the next day in Qatar
    with app.test_request_context():
        for lang in ("ar", "en"):
            with force_locale(lang):
                for form in ("medium", "long", "d MMMM"):
                    assert request_page.date_text(moment, form) == format_date(moment, form)
                    assert request_page.date_text(moment.date(), form) == format_date(moment.date(), form)
        with force_locale("en"):
            assert "Mar 2" in request_page.date_text(moment) and request_page.date_text(moment.date()) == \
                "Mar 1, 2026"  # a moment is its day in the office's zone; a day is itself
            assert format_amount(Decimal("1234.5"), "QAR") == "1,234.50"
            assert format_amount(Decimal("1234.5000"), "QAR") == "1,234.50"
            assert format_amount(Decimal("1234.505"), "QAR") == "1,234.505"  # never rounded away
            assert format_amount(Decimal("1234.5"), "KWD") == "1,234.500"
            assert format_amount(Decimal("1234.5"), "QAR", locale="de") == "1.234,50"  # its own locale, not the held
        with force_locale("ar"):
            assert format_amount(Decimal("1234.5"), "QAR") == format_amount(Decimal("1234.5"), "QAR", locale="ar")
    app.config["TIMEZONE"] = "UTC"
    with app.test_request_context(), force_locale("en"):  # another zone: its own day, not the one held
        assert "Mar 1" in request_page.date_text(moment)


def test_an_entrys_details_are_read_again_when_they_change():
    entry = HistoryEntry(details=json.dumps({"missing": ["invoice"]}))
    assert entry.info == {"missing": ["invoice"]} and entry.info is entry.info  # read once
    entry.details = json.dumps({"missing": ["id_copy"], "automatic": True})
    assert entry.info == {"missing": ["id_copy"], "automatic": True}
    entry.details = ""
    assert entry.info == {}


def test_who_entered_the_request_comes_with_it_and_a_new_name_shows(auth, client, req, data):
    auth.login("health1")
    page = f"/requests/{req.tracking_number}"
    assert "Desk" in re.search(r'<dd class="origin">(.*?)</dd>', client.get(page).text, re.S).group(1)
    with data():  # the directory renames the desk clerk
        Staff.update(full_name="Desk Renamed").where(Staff.username == "desk").execute()
        found = services.find_request(req.tracking_number)
        assert found.entered_by_name == "Desk Renamed"
        loaded = Request.get_by_id(req.id)  # read without the name: the same answer
        assert request_substance.origin(loaded) == request_substance.origin(found)
    assert "Desk Renamed" in re.search(r'<dd class="origin">(.*?)</dd>', client.get(page).text, re.S).group(1)


def test_the_action_form_keeps_what_was_posted_and_starts_empty(auth, client, req):
    auth.login("health1")
    page = f"/requests/{req.tracking_number}"
    shown = client.get(page).text
    assert re.search(r'<textarea id="comment"[^>]*></textarea>', shown)
    assert 'value="invoice" checked' not in shown and 'value="invoice" >' in shown
    refused = client.post(f"{page}/act", data={"csrf_token": csrf_token(client, page), "action": "return",
                                               "version": "1", "comment": " ", "missing": ["invoice"]})
    assert refused.status_code == 422
    assert 'value="invoice" checked' in refused.text and 'value="id_copy" checked' not in refused.text
    stale = client.post(f"{page}/act", data={"csrf_token": csrf_token(client, page), "action": "comment",
                                             "version": "7", "comment": "ملاحظة الموظف"})
    assert stale.status_code == 409
    assert re.search(r'<textarea id="comment"[^>]*>ملاحظة الموظف</textarea>', stale.text)
    assert fragments.PLACEHOLDER not in stale.text

