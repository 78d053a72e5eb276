"""Walk-in intake and queue work over HTTP: forms, permissions on every route, CSRF, fragments, bad input."""
import io
import re

import pytest

from intranet.models import Attachment, Citizen, HistoryEntry, Request
from tests.conftest import csrf_token
from tests.factories import PDF, make_citizen, make_request, national_id


def act(client, tracking, action, version, comment="", files=(), htmx=False, token=True):
    data = {"action": action, "version": str(version), "comment": comment,
            "attachments": [(io.BytesIO(content), name) for name, content in files]}
    if token:
        data["csrf_token"] = csrf_token(client, f"/requests/{tracking}") if token is True else token
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(f"/requests/{tracking}/act", data=data, headers=headers, content_type="multipart/form-data")


def test_facilitator_registers_citizen_and_records_request(auth, client, ctx):
    auth.login("reception1")
    nid = national_id(77)
    page = client.get(f"/reception/?national_id={nid}")
    assert "تسجيل مواطن جديد" in page.text
    token = csrf_token(client, f"/reception/?national_id={nid}")
    from intranet.models import Governorate, RequestType
    response = client.post("/reception/citizens", data={
        "csrf_token": token, "full_name": "سارة علي النعيمي", "national_id": nid, "phone": "٥٥١٢٣٤٥٦",
        "governorate": Governorate.get(Governorate.code == "rayyan").id, "preferred_language": "ar"})
    assert response.status_code == 303
    citizen = Citizen.get(Citizen.national_id == nid)
    assert citizen.phone == "+97455123456"
    new = response.headers["Location"]
    response = client.post(new, content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, new), "request_type": RequestType.get(RequestType.code == "inquiry").id,
        "subject": "استفسار عن معاش", "attachments": [(io.BytesIO(PDF), "id.pdf")]})
    assert response.status_code == 303
    req = Request.get(Request.citizen == citizen)
    assert response.headers["Location"] == f"/requests/{req.tracking_number}"
    assert req.channel == "walk_in" and req.entered_by.username == "reception1"
    page = client.get(response.headers["Location"])
    assert req.tracking_number in page.text and "id.pdf" in page.text


@pytest.mark.parametrize("value, message", [
    ("123", "الرقم الوطني مكوّن من 11 رقمًا"), ("2000000000X", "الرقم الوطني مكوّن من 11 رقمًا"),
    ("20000000001", "هذا الرقم الوطني غير صحيح"),
])
def test_malformed_national_id(auth, client, ctx, value, message):
    auth.login("reception1")
    response = client.get(f"/reception/?national_id={value}")
    assert response.status_code == 422 and message in response.text


def test_invalid_citizen_registration_writes_nothing(auth, client, ctx):
    auth.login("reception1")
    token = csrf_token(client, "/reception/")
    response = client.post("/reception/citizens", data={"csrf_token": token, "full_name": "سارة علي", "national_id": national_id(5),
                                                        "phone": "12", "governorate": "999999", "preferred_language": "ar"})
    assert response.status_code == 422
    assert "أدخل رقم جوال صحيحًا" in response.text
    assert Citizen.select().count() == 0


def test_disallowed_upload_at_intake_writes_nothing(auth, client, ctx, app):
    auth.login("reception1")
    citizen = make_citizen()
    url = f"/reception/citizens/{citizen.id}/requests/new"
    from intranet.models import RequestType
    response = client.post(url, content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, url), "request_type": RequestType.get(RequestType.code == "inquiry").id,
        "subject": "x", "attachments": [(io.BytesIO(b"<script>alert(1)</script>"), "../../etc/passwd.pdf")]})
    assert response.status_code == 422 and "passwd.pdf" in response.text
    assert Request.select().count() == 0 and Attachment.select().count() == 0


@pytest.fixture
def health_request(ctx):
    return make_request("health_care")


def test_clerk_comments_attaches_and_accepts_over_http(auth, client, health_request):
    auth.login("health1")
    tracking = health_request.tracking_number
    assert tracking in client.get("/queues/health").text
    response = act(client, tracking, "comment", 1, "checked the invoice", [("invoice.pdf", PDF)], htmx=True)
    assert response.status_code == 200 and response.text.lstrip().startswith('<section id="request-panel"')
    assert "HX-Request" in response.headers["Vary"] and "invoice.pdf" in response.text
    assert 'hx-swap-oob="true"' in response.text
    response = act(client, tracking, "accept", 1, "complete")
    assert response.status_code == 303
    req = Request.get_by_id(health_request.id)
    assert (req.department.code, req.version) == ("compensation", 2)
    assert tracking not in client.get("/queues/health").text
    # the clerk acted on it, so may still read it (issue 16: "plus any they acted on"), but no longer act on it
    page = client.get(f"/requests/{tracking}")
    assert page.status_code == 200 and 'id="action-form"' not in page.text


def test_direct_load_and_history_restore_get_the_full_page(auth, client, health_request):
    auth.login("health1")
    path = f"/requests/{health_request.tracking_number}"
    assert client.get(path).text.lstrip().startswith("<!doctype html>")
    restore = client.get(path, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert restore.text.lstrip().startswith("<!doctype html>")
    fragment = client.get(path, headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<section id="request-panel"')
    assert "HX-Request" in fragment.headers["Vary"]


def test_stale_version_over_http(auth, client, health_request):
    auth.login("health1")
    tracking = health_request.tracking_number
    assert act(client, tracking, "claim", 1).status_code == 303
    response = act(client, tracking, "accept", 1, htmx=True)
    assert response.status_code == 409
    assert "أعد تحميله" in response.text
    req = Request.get_by_id(health_request.id)
    assert req.stage.position == 1 and req.version == 2


def test_action_without_csrf_token_changes_nothing(auth, client, health_request):
    auth.login("health1")
    response = act(client, health_request.tracking_number, "accept", 1, token=None)
    assert response.status_code == 400
    bad = act(client, health_request.tracking_number, "accept", 1, token="forged")
    assert bad.status_code == 400
    assert Request.get_by_id(health_request.id).version == 1


def test_return_needs_comment_and_unknown_action_refused(auth, client, health_request):
    auth.login("health1")
    response = act(client, health_request.tracking_number, "return", 1, "  ")
    assert response.status_code == 422 and "اكتب ملاحظة" in response.text
    response = act(client, health_request.tracking_number, "delete", 1)
    assert response.status_code == 422
    assert HistoryEntry.select().count() == 1


@pytest.mark.parametrize("username", ["comp1", "citizens1", "pension1"])
def test_other_departments_cannot_see_or_act(auth, client, health_request, username):
    auth.login(username)
    tracking = health_request.tracking_number
    assert client.get(f"/requests/{tracking}").status_code == 403
    assert client.get("/queues/health").status_code == 403
    token = csrf_token(client, "/queues/")
    for action in ("accept", "reject", "return", "claim", "comment"):
        response = client.post(f"/requests/{tracking}/act", data={"csrf_token": token, "action": action,
                                                                   "version": "1", "comment": "x"})
        assert response.status_code == 403
    attachment_free = Request.get_by_id(health_request.id)
    assert attachment_free.version == 1 and HistoryEntry.select().count() == 1


@pytest.mark.parametrize("username, expected", [("reception1", 200), ("admin1", 200), ("supervisor1", 200)])
def test_staff_wide_roles_see_requests_but_only_the_right_ones_act(auth, client, health_request, username, expected):
    auth.login(username)
    tracking = health_request.tracking_number
    page = client.get(f"/requests/{tracking}")
    assert page.status_code == expected
    response = act(client, tracking, "accept", 1, "ok")
    if username == "supervisor1":
        assert response.status_code == 303
    else:
        assert response.status_code == 403 and Request.get_by_id(health_request.id).version == 1


def test_clerks_cannot_use_the_reception_desk(auth, client, ctx):
    auth.login("health1")
    assert client.get("/reception/").status_code == 403
    citizen = make_citizen()
    token = csrf_token(client, "/queues/")
    response = client.post(f"/reception/citizens/{citizen.id}/requests/new", data={"csrf_token": token})
    assert response.status_code == 403 and Request.select().count() == 0


def test_attachment_download_checks_permission(auth, client, ctx):
    req = make_request("health_care")
    auth.login("health1")
    act(client, req.tracking_number, "comment", 1, "scan", [("scan.pdf", PDF)])
    attachment = Attachment.get()
    response = client.get(f"/attachments/{attachment.id}")
    assert response.status_code == 200 and response.data == PDF
    assert 'attachment; filename=scan.pdf' in response.headers["Content-Disposition"]
    auth.logout()
    auth.login("comp1")
    assert client.get(f"/attachments/{attachment.id}").status_code == 403


def test_queue_row_claim_fragment(auth, client, health_request):
    auth.login("health1")
    tracking = health_request.tracking_number
    token = csrf_token(client, "/queues/health")
    response = client.post(f"/requests/{tracking}/act", headers={"HX-Request": "true"},
                           data={"csrf_token": token, "action": "claim", "version": "1", "view": "row"})
    assert response.status_code == 200
    assert re.match(rf'\s*<tr id="request-row-{health_request.id}"', response.text)
    assert "Health1" not in response.text and "خالد المنصوري" in response.text


def test_queue_pages_by_key_and_filters_by_type(auth, client, ctx, app):
    app.config["QUEUE_PAGE_SIZE"] = 2
    made = [make_request("health_care").tracking_number for _ in range(3)]
    auth.login("supervisor1")
    first = client.get("/queues/health").text
    assert made[0] in first and made[1] in first and made[2] not in first
    after = re.search(r'after=(\d+)', first).group(1)
    second = client.get(f"/queues/health?after={after}").text
    assert made[2] in second and made[0] not in second
    inquiry = make_request("inquiry").tracking_number
    filtered = client.get("/queues/citizens?type=inquiry", headers={"HX-Request": "true"})
    assert inquiry in filtered.text and filtered.text.lstrip().startswith('<div id="queue-results"')
