"""Issue 16, items 1 and 2: the request's own fields and documents on its page, and a correction's difference."""
import io
import json
from decimal import Decimal

import flask_babel
import pytest

from intranet import request_substance, workflow
from intranet.models import Attachment, HistoryEntry, Request, Staff
from tests.conftest import csrf_token
from tests.factories import PDF, make_request, make_staff, upload

HEALTH_DATA = {"amount": "1500.000", "invoice_number": "INV-2024-77", "hospital": "مستشفى حمد العام",
               "documents_received": ["id_copy"]}


@pytest.fixture
def health(ctx):
    return make_request("health_care", data=dict(HEALTH_DATA), amount=Decimal("1500"),
                        uploads=[("medical_report", upload("report.pdf")), upload("note.pdf")])


def speak(client, lang):
    client.post("/language", data={"lang": lang, "next": "/", "csrf_token": csrf_token(client, "/login")})
    flask_babel.refresh()  # the test's own app context (ctx) is shared with the client's requests: forget its locale


def returned_to_citizen(req, missing=("invoice",)):
    clerk = Staff.get_or_none(Staff.username == "health1") or make_staff("health1", "clerk", "health")
    return workflow.return_(clerk, req, req.version, "أرفق فاتورة العلاج", missing=missing).request


def test_the_type_is_read_back_by_kind(ctx):
    assert request_substance.typed("decimal", "1500") == request_substance.typed("decimal", "1500.000")
    assert request_substance.typed("date", "2024-05-01").isoformat() == "2024-05-01"
    assert request_substance.typed("integer", "x") == "x" and request_substance.typed("text", "") is None


@pytest.mark.parametrize(("lang", "texts"), [
    ("ar", ["المبلغ المطلوب (ر.ق)", "1,500.00", "رقم الفاتورة", "INV-2024-77", "مستشفى حمد العام",
            "التقرير الطبي", "فاتورة العلاج", "مرفقات أخرى", "أدخله Desk في مكتب الاستقبال للمواطن"]),
    ("en", ["Amount requested (QAR)", "1,500.00 QAR", "Invoice number", "INV-2024-77", "Hospital",
            "Medical report", "Treatment invoice", "Other attachments", "Entered by Desk at the desk for citizen"]),
])
def test_the_panel_shows_fields_documents_and_who_entered_it(auth, client, health, lang, texts):
    auth.login("reception1")
    speak(client, lang)
    page = client.get(f"/requests/{health.tracking_number}")
    assert page.status_code == 200
    for text in texts:
        assert text in page.text, text
    # received: ticked at the desk (ID) or attached as itself (medical report); missing: the invoice, the IBAN
    assert 'id="document-medical_report" class="document-received"' in page.text
    assert 'id="document-id_copy" class="document-received"' in page.text
    assert 'id="document-invoice" class="document-missing"' in page.text
    assert 'id="document-bank_certificate" class="document-missing"' in page.text
    # the tagged file under its document, the untagged one under the other attachments
    report = page.text.index('id="document-medical_report"')
    assert report < page.text.index("report.pdf") < page.text.index('id="document-invoice"')
    assert page.text.index("note.pdf") > page.text.index('class="files other-attachments"')


def test_resubmit_records_the_difference_and_what_arrived(ctx, backend, health):
    req = returned_to_citizen(health)
    desk = Staff.get(Staff.username == "desk")
    done = workflow.resubmit(desk, req, req.version, "أحضر الفاتورة", [("invoice", upload("invoice.pdf"))],
                             {"amount": "1800", "invoice_number": "INV-2024-77", "hospital": "مستشفى حمد العام"})
    entry = HistoryEntry.get_by_id(done.entry.id)
    assert entry.info == {"changes": [{"field": "amount", "before": "1500.000", "after": "1800"}],
                          "arrived": ["invoice"]}
    req = Request.get_by_id(health.id)
    assert req.amount == Decimal("1800") and json.loads(req.data)["amount"] == "1800"
    assert Attachment.get(Attachment.original_name == "invoice.pdf").document == "invoice"
    assert req.status == "open" and req.paused_at is None


def test_a_resubmission_without_changes_records_none(ctx, backend, health):
    req = returned_to_citizen(health)
    done = workflow.resubmit(Staff.get(Staff.username == "desk"), req, req.version, "", None, None)
    assert HistoryEntry.get_by_id(done.entry.id).info == {"changes": [], "arrived": []}
    assert Request.get_by_id(health.id).amount == Decimal("1500")


def correct(client, req, action="resubmit", **fields):
    url = f"/requests/{req.tracking_number}"
    data = {"csrf_token": csrf_token(client, url), "action": action, "version": str(req.version),
            "comment": "صُححت", "field_amount": "1800", "field_invoice_number": "INV-2024-77",
            "field_hospital": "مستشفى حمد العام", "documents_received": ["id_copy"],
            "document_invoice": [(io.BytesIO(PDF), "invoice.pdf")]}
    data.update(fields)
    return client.post(f"{url}/act", data=data, content_type="multipart/form-data")


def test_the_desk_corrects_fields_and_documents_over_http(auth, client, backend, health):
    req = returned_to_citizen(health)
    auth.login("reception1")
    page = client.get(f"/requests/{req.tracking_number}")
    assert 'name="field_amount"' in page.text and 'value="1500' in page.text
    assert 'name="document_invoice"' in page.text
    answer = correct(client, req)
    assert answer.status_code == 303, answer.text
    req = Request.get_by_id(health.id)
    assert req.status == "open" and req.amount == Decimal("1800")
    entry = HistoryEntry.select().where(HistoryEntry.request == req.id).order_by(HistoryEntry.id.desc()).first()
    assert entry.action == "resubmit" and entry.info["arrived"] == ["invoice"]
    # the clerk sees the difference at a glance
    auth.login("health1")
    speak(client, "en")
    page = client.get(f"/requests/{req.tracking_number}")
    card = page.text[page.text.index('id="since-return-heading"'):page.text.index("<h2>History</h2>")
                     if "<h2>History</h2>" in page.text else None]
    assert "1,500.00 QAR" in card and "1,800.00 QAR" in card and "Amount requested (QAR)" in card
    assert "Missing documents that arrived: Treatment invoice" in card
    assert 'id="document-invoice" class="document-received"' in page.text


@pytest.mark.parametrize(("lang", "message"), [("ar", "أدخل مبلغًا أكبر من 0"), ("en", "Enter an amount above 0")])
def test_a_bad_correction_is_refused_translated_and_changes_nothing(auth, client, backend, health, lang, message):
    req = returned_to_citizen(health)
    auth.login("reception1")
    speak(client, lang)
    before = (req.version, req.data, Attachment.select().count())
    answer = correct(client, req, field_amount="-5", field_invoice_number="")
    assert answer.status_code == 422
    assert message in answer.text
    fresh = Request.get_by_id(health.id)
    assert (fresh.version, fresh.data, Attachment.select().count()) == before
    assert fresh.status == "awaiting_citizen"


def test_walk_in_intake_keeps_which_document_each_file_is(auth, client, backend, ctx):
    from intranet.models import RequestType
    from tests.factories import make_citizen
    citizen = make_citizen()
    auth.login("reception1")
    url = f"/reception/citizens/{citizen.id}/requests/new"
    answer = client.post(url, content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, url), "request_type": RequestType.get(RequestType.code == "health_care").id,
        "field_amount": "900", "field_invoice_number": "INV-1", "document_invoice": [(io.BytesIO(PDF), "inv.pdf")],
        "attachments": [(io.BytesIO(PDF), "other.pdf")]})
    assert answer.status_code == 303, answer.text
    assert Attachment.get(Attachment.original_name == "inv.pdf").document == "invoice"
    assert Attachment.get(Attachment.original_name == "other.pdf").document is None


def test_the_panel_names_the_portal_client_that_sent_it_read_with_the_request(app, auth, client):
    """An electronic request's "Brought in" names the portal client, read as a column of the request's own row
    (queues/services.find_request, issue 21), not by a statement of its own."""
    from intranet.db import database
    from intranet.intake import clients
    from tests.test_api import headers, payload

    with app.app_context(), database.connection_context():
        portal = clients.create_client(None, "بوابة الخدمات الحكومية", ["requests:write"])
    answer = client.post("/api/v1/requests", json=payload("P-ORIGIN"), headers=headers(portal.token))
    assert answer.status_code == 201, answer.json
    auth.login("health1")
    speak(client, "en")
    page = client.get(f"/requests/{answer.json['tracking_number']}")
    assert page.status_code == 200
    assert "Electronic, from portal client بوابة الخدمات الحكومية" in page.text
    with app.app_context(), database.connection_context():
        req = Request.get(Request.tracking_number == answer.json["tracking_number"])
        assert request_substance.origin(req).client == "بوابة الخدمات الحكومية"  # asked for one request alone
