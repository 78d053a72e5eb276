"""Message templates: defaults for every event, channel and language; placeholder rules; the safe renderer;
SMS length arithmetic (GSM-7, extension characters, UCS-2, characters beyond the BMP); save, reset and the
cache; and the administrator's editor (who may open it, validation shown, the live preview, CSRF)."""
import timeit

import pytest

from intranet import db, reference
from intranet.models import MessageTemplate, Staff
from intranet.models.notifications import CITIZEN_EVENTS, STAFF_EVENTS
from intranet.notify import wording
from tests.conftest import csrf_token
from tests.factories import make_staff

BASE = "/admin/messages"



def _admin():
    return Staff.get_or_none(Staff.username == "admin9") or make_staff("admin9", "admin", None)


# --- defaults ------------------------------------------------------------------------------------------------

def test_defaults_cover_every_event_channel_and_language():
    expected = {(e, c, lang) for e in CITIZEN_EVENTS for c in ("sms", "email") for lang in ("ar", "en")}
    expected |= {(e, "email", lang) for e in STAFF_EVENTS for lang in ("ar", "en")}
    assert set(wording.DEFAULTS) == expected
    assert set(wording.PLACEHOLDERS) == set(wording.REQUIRED) == set(CITIZEN_EVENTS) | set(STAFF_EVENTS)


@pytest.mark.parametrize("key", sorted(wording.DEFAULTS))
def test_each_default_is_valid_and_renders_every_placeholder(ctx, key):
    event, channel, language = key
    subject, body = wording.DEFAULTS[key]
    assert wording.validate(event, channel, subject, body) == []
    subject, body = wording.message(event, channel, language, wording.sample_context(event, language))
    assert "{" not in subject + body and "}" not in subject + body
    assert wording.sample_context(event, language)["tracking_number" if event in CITIZEN_EVENTS else "items"] \
        in subject + body
    if language == "ar":
        assert any("\u0600" <= char <= "\u06ff" for char in body)


@pytest.mark.parametrize("event", CITIZEN_EVENTS)
def test_arabic_sms_defaults_fit_two_segments_with_the_sample(ctx, event):
    _subject, body = wording.message(event, "sms", "ar", wording.sample_context(event, "ar"))
    info = wording.sms_info(body)
    assert info["encoding"] == "UCS-2" and info["segments"] <= 2, body


def test_returned_says_what_is_missing_and_how_to_resubmit(ctx):
    for language, words in (("ar", ("مكتب الاستقبال", "البوابة")), ("en", ("reception desk", "portal"))):
        context = wording.sample_context("returned", language)
        for channel in ("sms", "email"):
            _subject, body = wording.message("returned", channel, language, context)
            assert context["missing"] in body and context["reason"] in body
            assert all(word in body for word in words)


# --- rendering -----------------------------------------------------------------------------------------------

def test_render_is_safe_and_literal_braces_stay():
    parts, bad = wording.parse("Hello {name}, {{literal}} {{{name}}}")
    assert bad == []
    assert wording.render(parts, {"name": "Mona"}) == "Hello Mona, {literal} {Mona}"
    assert wording.render(parts, {}) == "Hello , {literal} {}"  # a missing value never fails an action
    assert wording.render(wording.parse("{name}")[0], {"name": "{other}"}) == "{other}"  # values not re-read


@pytest.mark.parametrize("text", ["{name.__class__}", "{name[0]}", "{name:>30}", "{0}", "{}", "a { b", "a } b",
                                  "{name!r}", "{ name }"])
def test_attribute_index_format_spec_and_stray_braces_are_malformed(text):
    parts, bad = wording.parse(text)
    assert bad
    assert wording.render(parts, {"name": "x", "0": "y"}) == text  # shown as written, never evaluated


def test_message_prefers_the_saved_wording_and_falls_back_to_arabic(ctx):
    wording.save(_admin(), "completed", "sms", "en", "", "Done: {tracking_number}")
    assert wording.message("completed", "sms", "en", {"tracking_number": "X-1"}) == ("", "Done: X-1")
    assert wording.message("completed", "sms", "fr", {"tracking_number": "X-1"}) == \
        wording.message("completed", "sms", "ar", {"tracking_number": "X-1"})


def test_message_is_fast_once_cached(ctx):
    context = wording.sample_context("returned", "ar")
    wording.message("returned", "sms", "ar", context)
    seconds = min(timeit.repeat(lambda: wording.message("returned", "sms", "ar", context), number=1000,
                                repeat=3)) / 1000
    assert seconds < 0.0001


# --- validation ----------------------------------------------------------------------------------------------

def test_validate_names_unknown_and_missing_placeholders(ctx):
    errors = wording.validate("returned", "sms", "", "Request {tracking_number}: {amount} {nonsense}")
    text = " ".join(errors)
    assert "{amount}" in text and "{nonsense}" in text  # amount belongs to payouts only
    assert "{missing}" in text and "{reason}" in text
    assert wording.validate("payout_sent", "sms", "", "{tracking_number}") != []
    assert wording.validate("payout_sent", "sms", "", "{amount} for {tracking_number}") == []
    assert wording.validate("clerk_digest", "email", "Digest", "Hello {staff_name}") != []


def test_validate_braces_empty_subject_and_length(ctx):
    assert any("{name.x}" in e for e in wording.validate("completed", "sms", "", "{tracking_number} {name.x}"))
    assert wording.validate("completed", "sms", "", "   ")
    assert wording.validate("completed", "email", "", "{tracking_number}")  # e-mail needs a subject
    assert wording.validate("completed", "email", "a\nb", "{tracking_number}")
    assert wording.validate("completed", "email", "S {tracking_number}", "Body") == []  # required in subject
    assert wording.validate("completed", "sms", "", "{tracking_number}" + "x" * 480)
    assert wording.validate("completed", "sms", "", "{tracking_number}" + "x" * 400) == []


def test_validation_messages_are_translated(app):
    with app.test_request_context(), db.database.connection_context():
        from flask import session
        session["lang"] = "ar"
        errors = wording.validate("completed", "sms", "", "")
    assert errors and all(any("\u0600" <= c <= "\u06ff" for c in e) for e in errors)


# --- SMS length ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,encoding,length,segments", [
    ("", "GSM-7", 0, 0),
    ("a" * 160, "GSM-7", 160, 1),
    ("a" * 161, "GSM-7", 161, 2),
    ("a" * 306, "GSM-7", 306, 2),
    ("a" * 307, "GSM-7", 307, 3),
    ("€" * 80, "GSM-7", 160, 1),  # extension characters take two septets
    ("a" * 159 + "[", "GSM-7", 161, 2),
    ("a" * 152 + "{" + "a" * 10, "GSM-7", 164, 2),  # the escape pair moves whole to the second part
    ("é@£ΔÑü\n", "GSM-7", 7, 1),
    ("ش" * 70, "UCS-2", 70, 1),
    ("ش" * 71, "UCS-2", 71, 2),
    ("ش" * 134, "UCS-2", 134, 2),
    ("ش" * 135, "UCS-2", 135, 3),
    ("a" * 69 + "ç", "UCS-2", 70, 1),  # ç is not in the GSM table (Ç is)
    ("😀" * 35, "UCS-2", 70, 1),  # beyond the BMP: two code units each
    ("😀" * 35 + "a", "UCS-2", 71, 2),
    ("a" * 66 + "😀" + "a" * 10, "UCS-2", 78, 2),  # the surrogate pair is not split: 66 + (2 + 10)
    ("a" * 65 + "😀" + "a" * 66 + "😀", "UCS-2", 135, 3),
])
def test_sms_info(text, encoding, length, segments):
    info = wording.sms_info(text, max_segments=2)
    assert (info["encoding"], info["length"], info["segments"]) == (encoding, length, segments)
    assert info["over_limit"] is (segments > 2)
    single = 160 if encoding == "GSM-7" else 70
    assert info["per_segment"] == (single if length <= single else single - (7 if single == 160 else 3))


def test_sms_info_remaining_and_configured_limit(app, ctx):
    assert wording.sms_info("ش" * 71)["remaining"] == 67 - 4
    assert wording.sms_info("a" * 10)["remaining"] == 150
    app.config["SMS_MAX_SEGMENTS"] = 1
    assert wording.sms_info("ش" * 71)["over_limit"] is True
    assert wording.sms_info("ش" * 70)["over_limit"] is False


# --- save, reset, cache --------------------------------------------------------------------------------------

def test_save_refuses_invalid_and_saves_nothing(ctx):
    with pytest.raises(ValueError) as refused:
        wording.save(_admin(), "returned", "sms", "ar", "", "{tracking_number} {bogus}")
    assert any("{bogus}" in str(e) for e in refused.value.args[0])
    assert MessageTemplate.select().count() == 0


def test_save_upserts_forgets_the_cache_and_reset_restores_the_default(ctx):
    admin = _admin()
    context = {"tracking_number": "EL-1", "missing": "ID", "reason": "unclear"}
    default = wording.message("returned", "sms", "en", context)
    wording.save(admin, "returned", "sms", "en", "ignored", "1 {tracking_number} {missing} {reason}")
    assert wording.message("returned", "sms", "en", context) == ("", "1 EL-1 ID unclear")
    wording.save(admin, "returned", "sms", "en", "", "2 {tracking_number} {missing} {reason}")
    assert wording.message("returned", "sms", "en", context)[1] == "2 EL-1 ID unclear"
    row = MessageTemplate.get()
    assert MessageTemplate.select().count() == 1 and row.updated_by_id == admin.id and row.subject == ""
    assert wording.reset(admin, "returned", "sms", "en") is True
    assert wording.message("returned", "sms", "en", context) == default
    assert wording.reset(admin, "returned", "sms", "en") is False


def test_save_refuses_an_event_channel_pair_that_does_not_exist(ctx):
    with pytest.raises(ValueError):
        wording.save(_admin(), "clerk_digest", "sms", "ar", "", "{items}")


def test_cache_is_per_database_and_forgotten(ctx):
    wording.message("moved_on", "sms", "ar", {})
    assert any(slot[1] == "message_template" for slot in reference._rows)
    reference.forget()
    assert not reference._rows


# --- the editor: who may open it -----------------------------------------------------------------------------

EDIT = f"{BASE}/returned/sms/ar"
POSTS = [EDIT, f"{EDIT}/preview", f"{EDIT}/reset"]
VALID_AR = "طلبكم {tracking_number}: {missing}. {reason}."


def _english(client):
    client.post("/language", data={"lang": "en", "csrf_token": csrf_token(client, "/"), "next": "/"})


def _admin_in_english(auth, client):
    """Signed in as admin1 with the pages in English, so that the tests can read their text."""
    auth.login("admin1")
    _english(client)


def test_an_administrator_opens_the_overview_and_every_editor(auth, client):
    _admin_in_english(auth, client)
    page = client.get(f"{BASE}/")
    assert page.status_code == 200
    for event, channel, language in wording.DEFAULTS:
        link = f'href="{BASE}/{event}/{channel}/{language}"'
        assert link in page.text
        assert client.get(f"{BASE}/{event}/{channel}/{language}").status_code == 200
    assert f'href="{BASE}/"' in client.get("/", follow_redirects=True).text  # the navigation leads here
    for path in (f"{BASE}/clerk_digest/sms/ar", f"{BASE}/returned/sms/fr", f"{BASE}/nothing/email/en"):
        assert client.get(path).status_code == 404


@pytest.mark.parametrize("username", ["reception1", "health1", "supervisor1"])
def test_everyone_else_is_refused_on_every_route(data, auth, client, username):
    auth.login(username)
    token = csrf_token(client, "/")
    for path in (f"{BASE}/", EDIT):
        assert client.get(path).status_code == 403, path
    for path in POSTS:
        response = client.post(path, data={"csrf_token": token, "body": VALID_AR, "confirm": "y"})
        assert response.status_code == 403, path
    assert f"{BASE}/" not in client.get("/", follow_redirects=True).text
    with data():
        assert MessageTemplate.select().count() == 0


def test_signed_out_goes_to_sign_in(data, client):
    for path in (f"{BASE}/", EDIT):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    token = csrf_token(client)
    for path in POSTS:
        response = client.post(path, data={"csrf_token": token, "body": VALID_AR, "confirm": "y"})
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    response = client.post(f"{EDIT}/preview", data={"csrf_token": token, "body": "x"}, headers={"HX-Request": "true"})
    assert response.status_code == 401 and "/login" in response.headers["HX-Redirect"]
    with data():
        assert MessageTemplate.select().count() == 0


def test_csrf_is_enforced(data, auth, client):
    _admin_in_english(auth, client)
    for path in POSTS:
        assert client.post(path, data={"body": VALID_AR, "confirm": "y"}).status_code == 400, path
    # the preview's token travels in the X-CSRFToken header that <body hx-headers> adds
    token = csrf_token(client, EDIT)
    response = client.post(f"{EDIT}/preview", data={"body": VALID_AR},
                           headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 200
    with data():
        assert MessageTemplate.select().count() == 0


# --- the editor: save, errors, reset -------------------------------------------------------------------------

def test_the_edit_page_shows_the_wording_direction_placeholders_and_preview(auth, client):
    _admin_in_english(auth, client)
    page = client.get(EDIT).text
    assert 'dir="rtl"' in page and 'lang="ar"' in page and 'name="subject"' not in page
    assert 'hx-post="/admin/messages/returned/sms/ar/preview"' in page
    assert 'hx-trigger="input changed delay:300ms, load"' in page and 'hx-target="#template-preview"' in page
    assert 'id="template-preview"' in page and 'aria-live="polite"' in page
    assert "{missing}" in page and "{amount}" not in page  # amount belongs to payouts only
    assert "2 SMS segments (UCS-2, 67 characters each)" in page
    english = client.get(f"{BASE}/returned/email/en").text
    assert 'name="subject"' in english and 'dir="ltr"' in english and "sms-segments" not in english


def test_save_stores_the_wording_and_new_messages_use_it(data, auth, client):
    _admin_in_english(auth, client)
    token = csrf_token(client, EDIT)
    response = client.post(EDIT, data={"csrf_token": token, "body": VALID_AR + "\r\n", "subject": "ignored"})
    assert response.status_code == 303 and response.headers["Location"].endswith(EDIT)
    page = client.get(response.headers["Location"]).text
    with data():
        name = Staff.get(Staff.username == "admin1").full_name
    assert f"Customised by {name}" in page and VALID_AR in page
    assert 'id="reset-form"' in page
    with data():
        row = MessageTemplate.get()
        assert (row.event, row.channel, row.language, row.subject, row.body) == ("returned", "sms", "ar", "",
                                                                                 VALID_AR)
        assert row.updated_by.username == "admin1"
        assert wording.message("returned", "sms", "ar", {"tracking_number": "T", "missing": "M",
                                                           "reason": "R"})[1] == "طلبكم T: M. R."
    overview = client.get(f"{BASE}/").text
    assert "Customised" in overview


def test_save_with_errors_saves_nothing_and_shows_them_beside_the_field(data, auth, client):
    _admin_in_english(auth, client)
    token = csrf_token(client, EDIT)
    response = client.post(EDIT, data={"csrf_token": token, "body": "{tracking_number} {bogus} {name.attr}"})
    assert response.status_code == 422
    assert 'id="body-error"' in response.text and "{bogus}" in response.text and "{missing}" in response.text
    assert 'aria-invalid="true"' in response.text and "{tracking_number} {bogus}" in response.text  # kept
    email = client.post(f"{BASE}/completed/email/en", data={"csrf_token": token, "subject": "",
                                                            "body": "{tracking_number}"})
    assert email.status_code == 422 and 'id="subject-error"' in email.text
    with data():
        assert MessageTemplate.select().count() == 0


def test_reset_needs_the_confirmation_then_restores_the_default(data, auth, client):
    _admin_in_english(auth, client)
    token = csrf_token(client, EDIT)
    client.post(EDIT, data={"csrf_token": token, "body": VALID_AR})
    refused = client.post(f"{EDIT}/reset", data={"csrf_token": token})
    assert refused.status_code == 422 and 'id="confirm-error"' in refused.text
    with data():
        assert MessageTemplate.select().count() == 1
    response = client.post(f"{EDIT}/reset", data={"csrf_token": token, "confirm": "y"})
    assert response.status_code == 303
    page = client.get(EDIT).text
    assert "The default wording is in use." in page and 'id="reset-form"' not in page
    with data():
        assert MessageTemplate.select().count() == 0
        assert wording.message("returned", "sms", "ar", {})[1] == \
            wording.render(wording.parse(wording.DEFAULTS[("returned", "sms", "ar")][1])[0], {})


# --- the live preview ----------------------------------------------------------------------------------------

def _preview(client, body, path=EDIT, **fields):
    token = csrf_token(client, path)
    return client.post(f"{path}/preview", data={"csrf_token": token, "body": body, **fields},
                       headers={"HX-Request": "true"})


def test_preview_fragment_counts_segments_and_warns_over_the_limit(data, app, auth, client):
    _admin_in_english(auth, client)
    response = _preview(client, VALID_AR)
    assert response.status_code == 200 and response.text.lstrip().startswith("<div id=\"template-preview\"")
    assert "<html" not in response.text and "HX-Request" in response.headers["Vary"]
    assert "EL-2500417-3" in response.text and 'dir="rtl"' in response.text
    assert "1 SMS segment (UCS-2, up to 70 characters)" in response.text and "sms-over-limit" not in response.text
    assert 'id="preview-status" hx-swap-oob="innerHTML"' in response.text
    long = _preview(client, VALID_AR + " " + "ش" * 200)
    assert "SMS segments (UCS-2, 67 characters each)" in long.text
    assert 'id="sms-over-limit"' in long.text and "more than the limit of 3" in long.text
    app.config["SMS_MAX_SEGMENTS"] = 5
    assert 'id="sms-over-limit"' not in _preview(client, VALID_AR + " " + "ش" * 200).text
    english = _preview(client, "Request {tracking_number}: {missing}, {reason}.", path=f"{BASE}/returned/sms/en")
    assert "GSM-7, up to 160 characters" in english.text and 'dir="ltr"' in english.text
    with data():
        assert MessageTemplate.select().count() == 0  # a preview saves nothing


def test_preview_shows_errors_and_unknown_placeholders_as_typed(auth, client):
    _admin_in_english(auth, client)
    response = _preview(client, "{tracking_number} {bogus} {{x}}")
    assert response.status_code == 200
    assert 'id="preview-errors"' in response.text and "{bogus}" in response.text and "{missing}" in response.text
    assert "\u2066EL-2500417-3\u2069 {bogus} {x}" in response.text  # the Arabic sample, isolated
    email = _preview(client, "Dear {citizen_name}, {tracking_number}", path=f"{BASE}/completed/email/en",
                     subject="Done: {tracking_number}")
    assert "Done: EL-2500417-3" in email.text and "Maryam" in email.text and "sms-segments" not in email.text


def test_preview_and_errors_follow_the_administrators_language(auth, client):
    auth.login("admin1")
    arabic = _preview(client, "{tracking_number}")
    assert "{missing}" in arabic.text and "EL-2500417-3" in arabic.text
    _english(client)
    english = _preview(client, "{tracking_number} {request_type}")
    assert "The placeholder {missing} is required" in english.text
    assert "\u2066EL-2500417-3\u2069 مساعدة علاجية" in english.text  # the samples stay in their language
