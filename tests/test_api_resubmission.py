"""The portal's status and resubmission of a returned request (issue 16): its own requests only, idempotent,
validated like a submission, problems in the caller's language, one webhook per resubmission."""
import base64
import json
from decimal import Decimal

import pytest

from intranet import workflow
from intranet.db import database
from intranet.models import Attachment, HistoryEntry, Request, Staff, WebhookDelivery
from tests import factories
from tests.test_api import headers, new_client, payload

PDF64 = base64.b64encode(factories.PDF).decode()


def submitted(app, client, portal, reference="P-1"):
    answer = client.post("/api/v1/requests", json=payload(reference), headers=headers(portal.token))
    assert answer.status_code == 201, answer.json
    return answer.json["tracking_number"]


def return_to_citizen(app, tracking):
    with app.test_request_context(), database.connection_context():
        clerk = Staff.get_or_none(Staff.username == "health1") or factories.make_staff("health1")
        req = Request.get(Request.tracking_number == tracking)
        workflow.return_(clerk, req, req.version, "أرفق الفاتورة", missing=["invoice"])


def correction(**overrides):
    body = {"comment": "أرفقت الفاتورة", "fields": {"amount": "1400"},
            "documents": [{"name": "invoice.pdf", "code": "invoice", "content_base64": PDF64}]}
    body.update(overrides)
    return body


@pytest.fixture
def portal(app, backend):
    return new_client(app, webhook_url="http://127.0.0.1:9/hook")


def read(app, fn):
    with app.test_request_context(), database.connection_context():
        return fn()


def test_status_and_history_for_the_client_that_submitted_it_only(app, client, portal):
    tracking = submitted(app, client, portal)
    return_to_citizen(app, tracking)
    answer = client.get(f"/api/v1/requests/{tracking}", headers=headers(portal.token))
    assert answer.status_code == 200
    assert answer.json["status"] == "awaiting_citizen"
    assert [e["event"] for e in answer.json["history"]] == ["received", "returned"]
    assert answer.json["history"][1]["missing_documents"] == ["invoice"]
    other = new_client(app)
    for request in (lambda: client.get(f"/api/v1/requests/{tracking}", headers=headers(other.token)),
                    lambda: client.post(f"/api/v1/requests/{tracking}/resubmission", json=correction(),
                                        headers=headers(other.token))):
        refused = request()
        assert refused.status_code == 404 and refused.mimetype == "application/problem+json"
        assert "awaiting" not in refused.text and "health" not in refused.text
    assert read(app, lambda: Request.get(Request.tracking_number == tracking).status) == "awaiting_citizen"


def test_resubmission_happy_path_replay_and_reused_key(app, client, portal):
    tracking = submitted(app, client, portal)
    return_to_citizen(app, tracking)
    url = f"/api/v1/requests/{tracking}/resubmission"
    first = client.post(url, json=correction(), headers=headers(portal.token, **{"Idempotency-Key": "k-1"}))
    assert first.status_code == 200, first.json
    assert first.json["status"] == "open" and first.json["history"][-1]["event"] == "resubmitted"

    def recorded():
        req = Request.get(Request.tracking_number == tracking)
        entry = HistoryEntry.select().where(HistoryEntry.request == req.id).order_by(HistoryEntry.id.desc()).first()
        invoice = Attachment.get((Attachment.request == req.id) & (Attachment.original_name == "invoice.pdf"))
        deliveries = WebhookDelivery.select().where(WebhookDelivery.history == entry.id).count()
        return req.amount, entry.action, entry.info, invoice.document, deliveries
    amount, action, info, document, deliveries = read(app, recorded)
    assert (amount, action, document, deliveries) == (Decimal("1400"), "resubmit", "invoice", 1)
    assert info == {"changes": [{"field": "amount", "before": "1250.500", "after": "1400"}], "arrived": ["invoice"]}

    replay = client.post(url, json=correction(), headers=headers(portal.token, **{"Idempotency-Key": "k-1"}))
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json == first.json
    other_body = client.post(url, json=correction(comment="شيء آخر"),
                             headers=headers(portal.token, **{"Idempotency-Key": "k-1", "Accept-Language": "ar"}))
    assert other_body.status_code == 409 and other_body.json["type"] == "/api/v1/problems/key-reused"
    assert "استُخدم مفتاح" in other_body.json["detail"]
    # not awaiting a correction any more: a new key is a 409, and nothing changes
    again = client.post(url, json=correction(), headers=headers(portal.token, **{"Idempotency-Key": "k-2"}))
    assert again.status_code == 409 and again.json["type"] == "/api/v1/problems/not-awaiting-correction"
    assert read(app, lambda: HistoryEntry.select().where(HistoryEntry.action == "resubmit").count()) == 1
    assert read(app, lambda: WebhookDelivery.select().where(WebhookDelivery.event == "resubmitted").count()) == 1


def test_an_open_request_is_not_resubmitted(app, client, portal):
    tracking = submitted(app, client, portal)
    answer = client.post(f"/api/v1/requests/{tracking}/resubmission", json=correction(),
                         headers=headers(portal.token, **{"Accept-Language": "en"}))
    assert answer.status_code == 409 and "is not waiting for a correction" in answer.json["detail"]


@pytest.mark.parametrize(("lang", "required", "amount", "code"), [
    ("ar", "هذا الحقل مطلوب", "أدخل مبلغاً أكبر من 0", "لا يتطلب مستنداً بهذا الرمز"),
    ("en", "This field is required.", "Enter an amount above 0", "This request type needs no document"),
])
def test_a_bad_resubmission_is_a_validation_problem_in_the_callers_language(app, client, portal, lang, required,
                                                                          amount, code):
    tracking = submitted(app, client, portal)
    return_to_citizen(app, tracking)
    bad = correction(fields={"amount": "-3", "invoice_number": None, "colour": "red"},
                     documents=[{"name": "x.pdf", "code": "passport", "content_base64": PDF64}])
    answer = client.post(f"/api/v1/requests/{tracking}/resubmission", json=bad,
                         headers=headers(portal.token, **{"Accept-Language": lang}))
    assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
    errors = {e["field"]: e["message"] for e in answer.json["errors"]}
    assert required in errors["fields.invoice_number"] and amount in errors["fields.amount"]
    assert "fields.colour" in errors and code in errors["documents[0].code"]
    assert read(app, lambda: Request.get(Request.tracking_number == tracking).status) == "awaiting_citizen"
    assert read(app, lambda: Attachment.select().where(Attachment.original_name == "x.pdf").count()) == 0


def test_both_operations_are_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").json
    assert "get" in document["paths"]["/requests/{tracking}"]
    operation = document["paths"]["/requests/{tracking}/resubmission"]["post"]
    assert operation["operationId"] == "resubmitRequest" and "409" in operation["responses"]
    assert "ResubmissionIn" in document["components"]["schemas"]
    assert json.dumps(document)  # serialisable
