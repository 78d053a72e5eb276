"""Portal clients in the administrator's UI: who may open it, the token shown once, revocation, bad input, CSRF,
and the inbox and webhook deliveries shown safely."""
import html
import json
import re

import pytest

from intranet.intake import clients, portal_client_views
from intranet.models import ApiClient, InboxEntry, Staff, WebhookDelivery
from tests.conftest import csrf_token
from tests.factories import make_request, make_staff

BASE = "/admin/portal-clients"
TOKEN = re.compile(r'id="new-token"[^>]*value="([^"]+)"')
NONCE = re.compile(r'name="nonce"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="nonce"')



def _admin():
    return Staff.get_or_none(Staff.username == "admin9") or make_staff("admin9", "admin", None)


def _client(**overrides):
    values = {"name": "البوابة الوطنية", "scopes": ["requests:write", "requests:read"]}
    values.update(overrides)
    return clients.create_client(_admin(), **values)


def _entry(client=None, payload=b"{}", **overrides):
    return InboxEntry.create(client=client, payload=payload, content_type="application/json", **overrides)


def _english(client):
    client.post("/language", data={"lang": "en", "csrf_token": csrf_token(client, "/"), "next": "/"})


def _new_client_form(client, **overrides):
    page = client.get(f"{BASE}/")
    nonce = next(g for g in NONCE.search(page.text).groups() if g)
    form = {"csrf_token": csrf_token(client, f"{BASE}/"), "nonce": nonce, "name": "Portal",
            "scopes": ["requests:write", "requests:read"], "webhook_url": "", "rate_per_minute": "600"}
    form.update(overrides)
    return form


# --- who may open the pages ----------------------------------------------------------------------------------

def _routes(data):
    with data():
        new = _client()
        entry = _entry(new.client)
    return new.client.id, [f"{BASE}/", f"{BASE}/{new.client.id}", f"{BASE}/inbox/{entry.id}",
                           f"{BASE}/inbox/{entry.id}/payload"], [f"{BASE}/", f"{BASE}/{new.client.id}/revoke"]


def test_an_administrator_opens_every_page(data, auth, client):
    _, pages, _ = _routes(data)
    auth.login("admin1")
    for path in pages:
        assert client.get(path).status_code == 200, path
    assert 'href="/admin/portal-clients/"' in client.get("/", follow_redirects=True).text  # the navigation leads here


@pytest.mark.parametrize("username", ["reception1", "health1", "supervisor1"])
def test_everyone_else_is_refused_on_every_route(data, auth, client, username):
    client_id, pages, posts = _routes(data)
    auth.login(username)
    token = csrf_token(client, "/")
    for path in pages:
        assert client.get(path).status_code == 403, path
    for path in posts:
        response = client.post(path, data={"csrf_token": token, "name": "x", "scopes": ["requests:read"],
                                           "rate_per_minute": "5", "confirm": "y"})
        assert response.status_code == 403, path
    assert "/admin/portal-clients/" not in client.get("/", follow_redirects=True).text
    with data():
        assert ApiClient.select().count() == 1 and ApiClient.get_by_id(client_id).active


def test_signed_out_goes_to_sign_in(data, client):
    _, pages, posts = _routes(data)
    for path in pages:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    token = csrf_token(client)  # a valid form from the sign-in page: the refusal is about who, not the token
    for path in posts:
        response = client.post(path, data={"csrf_token": token, "name": "x", "scopes": ["requests:read"],
                                           "rate_per_minute": "5", "confirm": "y"})
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    with data():
        assert ApiClient.select().count() == 1 and ApiClient.get().active


# --- creation: the token shown once --------------------------------------------------------------------------

def test_create_shows_the_token_once_and_keeps_only_its_hash(data, auth, client):
    auth.login("admin1")
    form = _new_client_form(client, name="  Portal one  ", scopes=["requests:write"], rate_per_minute="120")
    response = client.post(f"{BASE}/", data=form)
    assert response.status_code == 201
    assert "no-store" in response.headers["Cache-Control"]
    token = TOKEN.search(response.text).group(1)
    assert token.startswith(clients.TOKEN_PREFIX) and len(token) > 40
    assert 'id="new-signing-secret"' not in response.text and 'id="new-webhook-secret"' not in response.text
    with data():
        row = ApiClient.get()
        assert row.token_hash == clients.token_hash(token)
        assert token not in json.dumps({k: str(v) for k, v in row.__data__.items()})  # never stored in clear
        assert (row.name, row.scope_list, row.rate_per_minute, row.webhook_url, row.signing_secret) == (
            "Portal one", ["requests:write"], 120, None, None)
        assert row.created_by.username == "admin1"
        assert clients.authenticate(f"Bearer {token}").id == row.id
    for path in (f"{BASE}/", f"{BASE}/{row.id}"):
        page = client.get(path)
        assert token not in page.text and row.token_hint in page.text, path
    # the same form sent again (a reload of the token page) creates nothing and does not show the token
    again = client.post(f"{BASE}/", data=form)
    assert again.status_code == 303 and again.headers["Location"].endswith(f"{BASE}/{row.id}")
    assert token not in client.get(again.headers["Location"]).text
    with data():
        assert ApiClient.select().count() == 1


def test_create_with_signing_and_webhook_shows_both_secrets_once(data, auth, client):
    auth.login("admin1")
    response = client.post(f"{BASE}/", data=_new_client_form(
        client, sign_requests="y", webhook_url="http://127.0.0.1:8089/hooks/diwan"))
    assert response.status_code == 201
    with data():
        row = ApiClient.get()
    assert row.webhook_url == "http://127.0.0.1:8089/hooks/diwan"
    assert row.signing_secret and row.signing_secret in response.text
    assert row.webhook_secret and row.webhook_secret in response.text
    later = client.get(f"{BASE}/{row.id}").text
    assert row.signing_secret not in later and row.webhook_secret not in later and "http://127.0.0.1:8089" in later


@pytest.mark.parametrize("change, field, message", [
    ({"name": "   "}, "name", "Enter the client's name."),
    ({"name": "x" * 201}, "name", "Enter at most 200 characters."),
    ({"scopes": []}, "scopes", "Choose at least one permission."),
    ({"scopes": ["requests:write", "admin:all"]}, "scopes", "not a valid choice"),
    ({"webhook_url": "ftp://portal.example/hooks"}, "webhook_url", "Enter a full web address"),
    ({"webhook_url": "portal.example/hooks"}, "webhook_url", "Enter a full web address"),
    ({"webhook_url": "https://"}, "webhook_url", "Enter a full web address"),
    ({"webhook_url": "https://portal.example:port/"}, "webhook_url", "Enter a full web address"),
    ({"webhook_url": "https://portal.example/" + "a" * 500}, "webhook_url", "Enter at most 500 characters."),
    ({"rate_per_minute": "0"}, "rate_per_minute", "Enter a whole number from 1 to 100000."),
    ({"rate_per_minute": "100001"}, "rate_per_minute", "Enter a whole number from 1 to 100000."),
    ({"rate_per_minute": ""}, "rate_per_minute", "Enter how many requests per minute"),
    ({"rate_per_minute": "ten"}, "rate_per_minute", "Not a valid integer"),
])
def test_bad_input_is_refused_next_to_its_field_and_creates_nothing(data, auth, client, change, field, message):
    auth.login("admin1")
    _english(client)
    response = client.post(f"{BASE}/", data=_new_client_form(client, **change))
    assert response.status_code == 422
    assert 'role="alert"' in response.text and 'id="new-token"' not in response.text
    error = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', response.text)
    assert error and message in error.group(1), response.text
    with data():
        assert ApiClient.select().count() == 0


def test_form_errors_in_arabic_by_default(data, auth, client):
    auth.login("admin1")
    response = client.post(f"{BASE}/", data=_new_client_form(client, name=""))
    assert response.status_code == 422 and '<html lang="ar" dir="rtl">' in response.text
    assert 'id="name-error"' in response.text and 'aria-invalid="true"' in response.text


def test_csrf_is_enforced(data, auth, client):
    auth.login("admin1")
    form = _new_client_form(client)
    del form["csrf_token"]
    assert client.post(f"{BASE}/", data=form).status_code == 400
    with data():
        new = _client()
    assert client.post(f"{BASE}/{new.client.id}/revoke", data={"confirm": "y"}).status_code == 400
    with data():
        assert ApiClient.select().count() == 1 and ApiClient.get().active


# --- revocation ----------------------------------------------------------------------------------------------

def test_revoke_needs_confirmation_then_is_final(data, auth, client):
    with data():
        new = _client(name="Old portal")
    auth.login("admin1")
    _english(client)
    token = csrf_token(client, f"{BASE}/{new.client.id}")
    unconfirmed = client.post(f"{BASE}/{new.client.id}/revoke", data={"csrf_token": token})
    assert unconfirmed.status_code == 422 and "Tick the box to confirm" in unconfirmed.text
    with data():
        assert clients.authenticate(f"Bearer {new.token}") is not None
    response = client.post(f"{BASE}/{new.client.id}/revoke", data={"csrf_token": token, "confirm": "y"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"{BASE}/{new.client.id}")
    page = client.get(response.headers["Location"]).text
    assert "is revoked" in page and 'id="revoke-form"' not in page
    with data():
        assert clients.authenticate(f"Bearer {new.token}") is None
        row = ApiClient.get_by_id(new.client.id)
        assert row.revoked_at is not None and row.revoked_by.username == "admin1"
    listing = client.get(f"{BASE}/").text
    row_html = re.search(rf'<tr id="client-row-{new.client.id}">.*?</tr>', listing, re.S).group(0)
    assert "Revoked" in row_html
    again = client.post(f"{BASE}/{new.client.id}/revoke", data={"csrf_token": token, "confirm": "y"})
    assert again.status_code == 303 and "already revoked" in client.get(again.headers["Location"]).text
    with data():
        assert ApiClient.get_by_id(new.client.id).revoked_at == row.revoked_at  # the first revocation stands


def test_unknown_ids_are_not_found(auth, client):
    auth.login("admin1")
    for path in (f"{BASE}/999999", f"{BASE}/inbox/999999", f"{BASE}/inbox/999999/payload"):
        assert client.get(path).status_code == 404, path


# --- lists: clients, inbox, deliveries -----------------------------------------------------------------------

def test_client_list_is_paged_by_key(data, auth, client, monkeypatch):
    monkeypatch.setattr(portal_client_views, "PAGE_SIZE", 2)
    with data():
        ids = [_client(name=f"Client {n}").client.id for n in range(3)]
    auth.login("admin1")
    first = client.get(f"{BASE}/").text
    assert "Client 2" in first and "Client 1" in first and "Client 0" not in first
    assert f"after={ids[1]}" in first
    second = client.get(f"{BASE}/?after={ids[1]}").text
    assert "Client 0" in second and "Client 1" not in second and "Next page" not in second


def test_client_page_lists_its_inbox_with_a_status_filter_and_pages(data, auth, client, monkeypatch):
    monkeypatch.setattr(portal_client_views, "PAGE_SIZE", 2)
    with data():
        mine, other = _client().client, _client(name="Other").client
        req = make_request(channel="electronic")
        _entry(mine, status="accepted", portal_reference="P-1", request=req, response_status=201)
        rejected = [_entry(mine, status="rejected", portal_reference=f"R-{n}", response_status=422,
                           errors=json.dumps([{"field": "citizen.national_id", "message": "bad"}] * (n + 1)))
                    for n in range(3)]
        _entry(other, status="rejected", portal_reference="NOT-MINE")
    auth.login("admin1")
    page = client.get(f"{BASE}/{mine.id}").text
    assert "R-2" in page and "R-1" in page and "P-1" not in page and "NOT-MINE" not in page
    assert f"inbox_after={rejected[1].id}" in page
    rest = client.get(f"{BASE}/{mine.id}?inbox_after={rejected[1].id}").text
    assert "R-0" in rest and "P-1" in rest and req.tracking_number in rest
    only_rejected = client.get(f"{BASE}/{mine.id}?status=rejected&inbox_after={rejected[1].id}").text
    assert "R-0" in only_rejected and "P-1" not in only_rejected
    row = re.search(rf'<tr id="inbox-row-{rejected[2].id}">.*?</tr>', page, re.S).group(0)
    assert "<td>3</td>" in row  # its error count
    assert client.get(f"{BASE}/{mine.id}?status=nonsense").status_code == 200  # unknown values are ignored


def test_client_page_lists_webhook_deliveries(data, auth, client):
    with data():
        mine = _client(webhook_url="https://portal.example/hooks").client
        req = make_request(channel="electronic")
        WebhookDelivery.create(client=mine, request=req, event="request.accepted", payload="{}",
                               status="delivered", attempts=1, delivered_at=req.received_at)
        WebhookDelivery.create(client=mine, request=req, event="request.returned", payload="{}",
                               status="pending", attempts=3, last_error="<b>timed out</b>")
    auth.login("admin1")
    _english(client)
    page = client.get(f"{BASE}/{mine.id}").text
    assert "request.accepted" in page and "request.returned" in page and req.tracking_number in page
    assert "Delivered" in page and "Waiting to be sent" in page
    assert "&lt;b&gt;timed out&lt;/b&gt;" in page and "<b>timed out" not in page


def test_a_failed_delivery_can_be_sent_again_by_an_administrator(data, auth, client):
    with data():
        mine, other = _client(webhook_url="https://portal.example/hooks").client, _client().client
        req = make_request(channel="electronic")
        failed = WebhookDelivery.create(client=mine, request=req, event="rejected", payload="{}", status="failed",
                                        attempts=12, last_error="HTTP 503")
        done = WebhookDelivery.create(client=mine, request=req, event="moved_on", payload="{}", status="delivered",
                                      attempts=1)
    auth.login("supervisor1")
    path = f"{BASE}/{mine.id}/deliveries/{failed.id}/redeliver"
    assert client.post(path, data={"csrf_token": csrf_token(client, "/")}).status_code == 403
    auth.logout()
    auth.login("admin1")
    page = client.get(f"{BASE}/{mine.id}").text
    assert f"/deliveries/{failed.id}/redeliver" in page and f"/deliveries/{done.id}/redeliver" not in page
    token = csrf_token(client, f"{BASE}/{mine.id}")
    assert client.post(f"{BASE}/{other.id}/deliveries/{failed.id}/redeliver",
                       data={"csrf_token": token}).status_code == 404  # not that client's
    assert client.post(path, data={"csrf_token": token}).status_code == 303
    assert client.post(f"{BASE}/{mine.id}/deliveries/{done.id}/redeliver", data={"csrf_token": token}).status_code == 303
    with data():
        again, untouched = WebhookDelivery.get_by_id(failed.id), WebhookDelivery.get_by_id(done.id)
        assert (again.status, again.attempts, again.last_error) == ("pending", 0, "")
        assert (untouched.status, untouched.attempts) == ("delivered", 1)


# --- an inbox entry, shown safely ----------------------------------------------------------------------------

def test_inbox_entry_escapes_a_script_payload_and_lists_its_errors(data, auth, client):
    payload = b'{"citizen": {"full_name": "<script>alert(1)</script>"}}'
    errors = [{"field": "citizen.national_id", "message": "<img src=x onerror=alert(2)>"}]
    with data():
        entry = _entry(_client().client, payload, status="rejected", errors=json.dumps(errors), response_status=422,
                       idempotency_key="key-1", portal_reference="PR-9")
    auth.login("admin1")
    page = client.get(f"{BASE}/inbox/{entry.id}").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "citizen.national_id" in page and "key-1" in page and "PR-9" in page
    download = client.get(f"{BASE}/inbox/{entry.id}/payload")
    assert download.data == payload and download.mimetype == "application/octet-stream"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_inbox_entry_shows_invalid_utf8_and_truncates_a_large_payload(data, auth, client):
    broken = b'{"name": "\xff\xfe caf\xc3"}'
    large = b'"' + "ع".encode() * 40_000 + b'"'  # 80 KB
    with data():
        new = _client()
        bad, big = _entry(new.client, broken, status="rejected"), _entry(new.client, large, status="rejected")
        req = make_request(channel="electronic")
        done = _entry(new.client, b"{}", status="accepted", request=req)
        imported = _entry(None, b"a,b\n", source="import", status="accepted")
    auth.login("admin1")
    _english(client)
    page = client.get(f"{BASE}/inbox/{bad.id}")
    assert page.status_code == 200 and "\ufffd" in page.text and "not valid UTF-8" in page.text
    assert client.get(f"{BASE}/inbox/{bad.id}/payload").data == broken
    page = client.get(f"{BASE}/inbox/{big.id}").text
    # the size in the page's units, the number isolated (the `filesize` filter): 80,002 bytes
    assert "Only the first 65536 bytes are shown." in page and '<bdi dir="ltr" class="ltr">78.1</bdi> KB' in page
    shown = re.search(r'<pre[^>]*id="payload"[^>]*>(.*?)</pre>', page, re.S).group(1)
    assert len(html.unescape(shown).encode()) <= 65536 + 2 and "not valid UTF-8" not in page
    done_page = client.get(f"{BASE}/inbox/{done.id}").text
    # left-to-right values isolated beside their labels (the `ltr` filter), not whole cells turned left-to-right
    assert f'<bdi dir="ltr" class="ltr">{req.tracking_number}</bdi></a>' in done_page
    assert '<dd><bdi dir="ltr" class="ltr">application/json</bdi></dd>' in done_page
    assert "file import" in client.get(f"{BASE}/inbox/{imported.id}").text


def test_what_an_administrator_typed_is_escaped_everywhere(data, auth, client):
    auth.login("admin1")
    response = client.post(f"{BASE}/", data=_new_client_form(client, name="<b>Portal</b>"))
    assert response.status_code == 201 and "&lt;b&gt;Portal&lt;/b&gt;" in response.text
    with data():
        row = ApiClient.get()
    for path in (f"{BASE}/", f"{BASE}/{row.id}"):
        page = client.get(path).text
        assert "<b>Portal" not in page and "&lt;b&gt;Portal&lt;/b&gt;" in page, path
    refused = client.post(f"{BASE}/", data=_new_client_form(client, scopes=["<img src=x>"]))
    assert refused.status_code == 422 and "<img src=x>" not in refused.text
