"""The electronic intake API: submit exactly once, status, clients and scopes, rate limits, problem details."""
import base64
import concurrent.futures
import hashlib
import hmac
import json
import re
from decimal import Decimal

import pytest

from intranet.db import database
from intranet.intake import clients
from intranet.models import HistoryEntry, InboxEntry, Notification, Request, Staff
from tests import factories


def new_client(app, scopes=("requests:write", "requests:read"), **options):
    with app.app_context(), database.connection_context():
        made = clients.create_client(None, "National portal", list(scopes), **options)
    return made


def headers(token, **extra):
    return {"Authorization": f"Bearer {token}", **extra}


def payload(reference="P-0001", type_code="health_care", **overrides):
    body = {
        "portal_reference": reference,
        "request_type": type_code,
        "language": "ar",
        "citizen": {"national_id": factories.national_id(), "full_name": "فاطمة علي الكواري",
                    "phone": "55123456", "governorate": "doha", "iban": "QA58DOHB00001234567890ABCDEFG"},
        "subject": "منحة علاج",
        "details": "فاتورة مستشفى حمد",
        "fields": {"amount": "1250.500", "invoice_number": "INV-77"},
        "documents": [{"name": "report.pdf", "code": "medical_report",
                       "content_base64": base64.b64encode(factories.PDF).decode()}],
    }
    body.update(overrides)
    return body


def count(model, *where):
    query = model.select()
    for condition in where:
        query = query.where(condition)
    return query.count()


@pytest.fixture
def portal(app):
    return new_client(app)


def test_submit_creates_request_with_tracking_number_and_due_date(app, client, portal):
    answer = client.post("/api/v1/requests", json=payload(), headers=headers(portal.token))
    assert answer.status_code == 201, answer.json
    body = answer.json
    assert body["portal_reference"] == "P-0001" and body["status"] == "open"
    assert answer.headers["Location"] == f"/api/v1/requests/{body['tracking_number']}"
    with app.app_context(), database.connection_context():
        req = Request.get(Request.tracking_number == body["tracking_number"])
        assert req.channel == "electronic" and req.entered_by is None and req.amount == Decimal("1250.500")
        assert body["expected_answer_by"] == req.due_at.date().isoformat()
        assert json.loads(req.data)["documents_received"] == ["medical_report"]
        assert req.attachments.count() == 1
        entry = InboxEntry.get(InboxEntry.request == req.id)
        assert entry.status == "accepted" and entry.response_status == 201
        assert json.loads(bytes(entry.payload))["portal_reference"] == "P-0001"
        assert req.citizen.phone == "+97455123456" and req.citizen.iban == "QA58DOHB00001234567890ABCDEFG"
        assert count(Notification, Notification.request == req.id) == 1


def test_same_submission_five_times_one_request_even_concurrently(app, client, portal):
    body = payload("P-SAME")
    first = client.post("/api/v1/requests", json=body, headers=headers(portal.token))
    again = [client.post("/api/v1/requests", json=body, headers=headers(portal.token)) for _ in range(2)]
    assert all(a.json == first.json for a in again)
    assert all(a.headers["Idempotent-Replayed"] == "true" for a in again)

    other = payload("P-RACE")

    def send(_):
        return app.test_client().post("/api/v1/requests", json=other,
                                      headers=headers(portal.token, **{"Idempotency-Key": "k-race"}))
    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(send, range(5)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json["tracking_number"] for a in answers}) == 1
    with app.app_context(), database.connection_context():
        assert count(Request) == 2
        assert count(InboxEntry) == 8  # every arrival is kept, each with its outcome
        assert count(InboxEntry, InboxEntry.status == "accepted") == 2
        assert count(HistoryEntry, HistoryEntry.action == "submit") == 2


def test_idempotency_key_replays_the_first_answer(client, portal):
    key = {"Idempotency-Key": "abc-123"}
    first = client.post("/api/v1/requests", json=payload("P-K1"), headers=headers(portal.token, **key))
    again = client.post("/api/v1/requests", json=payload("P-K1"), headers=headers(portal.token, **key))
    assert first.status_code == again.status_code == 201
    assert first.json == again.json


def test_idempotency_key_reused_for_another_submission_is_refused(app, client, portal):
    key = {"Idempotency-Key": "k-reused"}
    first = client.post("/api/v1/requests", json=payload("P-R1"), headers=headers(portal.token, **key))
    other = client.post("/api/v1/requests", json=payload("P-R2"), headers=headers(portal.token, **key))
    assert first.status_code == 201 and other.status_code == 422
    assert other.json["errors"][0]["field"] == "Idempotency-Key" and "P-R1" in other.json["errors"][0]["message"]
    with app.app_context(), database.connection_context():
        assert count(Request) == 1


def test_portal_reference_reused_with_another_body_is_refused(app, client, portal):
    """A reference sent again with another citizen or other fields is not answered with the first receipt."""
    body = payload("P-REUSE")
    first = client.post("/api/v1/requests", json=body, headers=headers(portal.token))
    other = client.post("/api/v1/requests", json=payload("P-REUSE"), headers=headers(portal.token,
                                                                                       **{"Accept-Language": "en"}))
    changed = dict(body, fields={"amount": "9999.000", "invoice_number": "INV-77"})  # the same citizen, another sum
    altered = client.post("/api/v1/requests", json=changed, headers=headers(portal.token))
    assert first.status_code == 201
    assert first.headers["Content-Disposition"] == 'attachment; filename="api.json"'  # data, never a page
    for answer in (other, altered):
        assert answer.headers["Content-Disposition"] == 'attachment; filename="api.json"'
        assert answer.status_code == 409 and answer.mimetype == "application/problem+json"
        assert answer.json["type"].endswith("/reference-reused")
        assert first.json["tracking_number"] in answer.json["errors"][0]["message"]
        assert "Idempotent-Replayed" not in answer.headers
    assert "a new submission needs a new reference" in other.json["detail"]
    with app.app_context(), database.connection_context():
        assert count(Request) == 1
        assert count(InboxEntry, InboxEntry.response_status == 409) == 2


def test_invalid_payload_is_422_with_each_field_and_kept_as_rejected(app, client, portal):
    bad = payload(request_type="nope", fields={"amount": "abc"})
    bad["citizen"]["national_id"] = "12345"
    bad["citizen"]["phone"] = "12"
    bad["documents"][0]["content_base64"] = "***"
    answer = client.post("/api/v1/requests", json=bad, headers=headers(portal.token))
    assert answer.status_code == 422
    assert answer.mimetype == "application/problem+json"
    fields = {error["field"] for error in answer.json["errors"]}
    assert {"citizen.national_id", "citizen.phone"} <= fields
    assert all(error["message"] for error in answer.json["errors"])
    type_errors = client.post("/api/v1/requests", json=payload(fields={"amount": "abc", "colour": "red"},
                                                                documents=[{"name": "x", "content_base64": "****"}]),
                              headers=headers(portal.token)).json["errors"]
    assert {e["field"] for e in type_errors} == {"fields.amount", "fields.colour", "fields.invoice_number",
                                                 "documents[0].content_base64"}
    with app.app_context(), database.connection_context():
        assert count(Request) == 0 and count(HistoryEntry) == 0
        assert count(InboxEntry, InboxEntry.status == "rejected") == 2


def test_errors_in_arabic_when_asked(client, portal):
    bad = payload()
    bad["citizen"]["phone"] = "12"
    answer = client.post("/api/v1/requests", json=bad, headers=headers(portal.token, **{"Accept-Language": "ar"}))
    assert answer.status_code == 422
    message = [e for e in answer.json["errors"] if e["field"] == "citizen.phone"][0]["message"]
    assert any("\u0600" <= ch <= "\u06ff" for ch in message)


def test_duplicate_of_open_request_is_409_and_names_it(app, client, portal):
    body = payload("P-D1")
    first = client.post("/api/v1/requests", json=body, headers=headers(portal.token)).json
    answer = client.post("/api/v1/requests", json=dict(body, portal_reference="P-D2"), headers=headers(portal.token))
    assert answer.status_code == 409
    assert answer.json["duplicates"] == [first["tracking_number"]]
    with app.app_context(), database.connection_context():
        assert count(Request) == 1 and count(InboxEntry, InboxEntry.status == "duplicate") == 1


def test_citizen_daily_limit_answers_429_with_retry_after(app, client, portal):
    app.config["CITIZEN_DAILY_SUBMISSIONS"] = 2
    citizen = payload()["citizen"]
    codes = []
    for n, type_code in enumerate(["health_care", "inquiry", "health_care"]):  # the limit comes before duplicates
        body = payload(f"P-L{n}", type_code, citizen=citizen, documents=[])
        if type_code == "inquiry":
            body["fields"] = {}
        codes.append(client.post("/api/v1/requests", json=body, headers=headers(portal.token)))
    assert [a.status_code for a in codes[:2]] == [201, 201], [a.json for a in codes]
    assert codes[2].status_code == 429 and int(codes[2].headers["Retry-After"]) > 0
    with app.app_context(), database.connection_context():
        assert count(InboxEntry, InboxEntry.status == "limited") == 1


def test_client_rate_limit_answers_429(app, client):
    slow = new_client(app, rate_per_minute=3)
    answers = [client.get("/api/v1/requests/26-0000001-8", headers=headers(slow.token)) for _ in range(4)]
    assert [a.status_code for a in answers] == [404, 404, 404, 429]
    assert int(answers[-1].headers["Retry-After"]) >= 1
    assert answers[-1].json["detail"]


def test_unauthenticated_revoked_and_wrong_scope(app, client, portal):
    assert client.post("/api/v1/requests", json=payload()).status_code == 401
    assert client.post("/api/v1/requests", json=payload(), headers=headers("dwn_forged")).status_code == 401
    reader = new_client(app, scopes=("requests:read",))
    answer = client.post("/api/v1/requests", json=payload(), headers=headers(reader.token))
    assert answer.status_code == 403 and "requests:write" in answer.json["detail"]
    with app.app_context(), database.connection_context():
        admin = factories.make_staff("root", "admin", None)
        clients.revoke(admin, portal.client)
    revoked = client.post("/api/v1/requests", json=payload(), headers=headers(portal.token))
    assert revoked.status_code == 401 and revoked.headers["WWW-Authenticate"].startswith("Bearer")
    with app.app_context(), database.connection_context():
        assert count(InboxEntry) == 0 and count(Staff, Staff.role == "admin") == 1


def test_signed_client_needs_a_valid_signature(app, client):
    signer = new_client(app, sign_requests=True)
    body = json.dumps(payload("P-S1")).encode()
    unsigned = client.post("/api/v1/requests", data=body, content_type="application/json",
                           headers=headers(signer.token))
    assert unsigned.status_code == 401
    signature = "sha256=" + hmac.new(signer.client.signing_secret.encode(), body, hashlib.sha256).hexdigest()
    signed = client.post("/api/v1/requests", data=body, content_type="application/json",
                         headers=headers(signer.token, **{"X-Diwan-Signature": signature}))
    assert signed.status_code == 201, signed.json


def test_multipart_submission_with_files(app, client, portal):
    body = payload("P-M1", documents=[])
    data = {"payload": json.dumps(body), "documents": [factories.upload("scan.pdf")]}
    answer = client.post("/api/v1/requests", data=data, content_type="multipart/form-data",
                         headers=headers(portal.token))
    assert answer.status_code == 201, answer.json
    disguised = {"payload": json.dumps(payload("P-M2", documents=[])),
                 "documents": [factories.upload("virus.pdf", b"MZ\x90\x00 not a pdf")]}
    refused = client.post("/api/v1/requests", data=disguised, content_type="multipart/form-data",
                          headers=headers(portal.token))
    assert refused.status_code == 422 and refused.json["errors"][0]["field"] == "documents[0]"


def test_wrong_media_type_is_415_and_kept(app, client, portal):
    answer = client.post("/api/v1/requests", data="portal_reference=x", content_type="text/plain",
                         headers=headers(portal.token))
    assert answer.status_code == 415 and answer.mimetype == "application/problem+json"
    with app.app_context(), database.connection_context():
        assert InboxEntry.get().status == "rejected"


def test_status_shows_public_history_to_the_submitting_client_only(app, client, portal):
    tracking = client.post("/api/v1/requests", json=payload("P-H1"), headers=headers(portal.token)).json[
        "tracking_number"]
    with app.app_context(), database.connection_context():
        from intranet import workflow
        clerk = factories.make_staff("clerk1", "clerk", "health")
        req = Request.get(Request.tracking_number == tracking)
        workflow.claim(clerk, req, req.version)
        req = Request.get_by_id(req.id)
        workflow.return_(clerk, req, req.version, "صورة الهوية غير واضحة", missing=["id_copy"])
        walk_in = factories.make_request().tracking_number
    status = client.get(f"/api/v1/requests/{tracking}", headers=headers(portal.token))
    assert status.status_code == 200
    events = [item["event"] for item in status.json["history"]]
    assert events == ["received", "returned"]  # the claim is internal
    assert status.json["history"][1]["reason"] == "صورة الهوية غير واضحة"
    assert status.json["history"][1]["missing_documents"] == ["id_copy"]
    assert status.json["status"] == "awaiting_citizen"
    other = new_client(app)
    assert client.get(f"/api/v1/requests/{tracking}", headers=headers(other.token)).status_code == 404
    assert client.get(f"/api/v1/requests/{walk_in}", headers=headers(portal.token)).status_code == 404
    writer = new_client(app, scopes=("requests:write",))
    assert client.get(f"/api/v1/requests/{tracking}", headers=headers(writer.token)).status_code == 403


def test_unknown_api_address_and_method_are_problems(client, portal):
    missing = client.get("/api/v1/nothing", headers=headers(portal.token))
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    wrong = client.delete("/api/v1/requests", headers=headers(portal.token))
    assert wrong.status_code == 405 and wrong.json["detail"]


def test_openapi_document_describes_every_operation(app, client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == {"/requests", "/requests/{tracking}", "/requests/{tracking}/resubmission", "/openapi.json",
                                 "/bookings/services", "/bookings/services/{code}/slots", "/bookings",
                                 "/bookings/{booking_id}", "/bookings/{booking_id}/confirmation"}
    # every operation the app serves under /api/v1 is in the document, with its method (the problem types' pages
    # are linked from each problem, not operations)
    served = {(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1")), method.lower())
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")
              and not rule.rule.startswith("/api/v1/problems/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == {(path, method) for path, item in doc["paths"].items() for method in item}
    for schema in ("BookingIn", "BookingOut", "SlotsOut", "BookingServicesOut", "ConfirmationIn"):
        assert schema in doc["components"]["schemas"]
    schema = doc["components"]["schemas"]["SubmissionIn"]
    assert set(schema["required"]) == {"portal_reference", "request_type", "citizen"}
    assert doc["paths"]["/requests"]["post"]["responses"]["422"]
