"""Walk-in intake at the reception desk: the type's own fields and documents, duplicate warnings with a kept
reason, idempotent submission, IBAN and phone validation, citizen search, quick inquiries, the queued SMS."""
import io
import threading
from decimal import Decimal

import pytest

from intranet.db import database
from intranet.models import Citizen, HistoryEntry, Notification, Request, RequestType
from tests.conftest import csrf_token
from tests.factories import PDF, make_citizen, make_request, make_staff, national_id


def rtype(code):
    return RequestType.get(RequestType.code == code)


def intake_url(citizen):
    return f"/reception/citizens/{citizen.id}/requests/new"


def post_intake(client, citizen, type_code, token=None, **fields):
    url = intake_url(citizen)
    page = client.get(f"{url}?request_type={rtype(type_code).id}").text
    import re
    submission = token or re.search(r'name="submission_token" type="hidden" value="([^"]+)"', page).group(1)
    data = {"csrf_token": csrf_token(client, url), "request_type": rtype(type_code).id, "subject": "طلب",
            "submission_token": submission, **fields}
    return client.post(url, data=data, content_type="multipart/form-data"), submission


@pytest.fixture
def desk(auth, ctx):
    auth.login("reception1")


def test_type_fields_and_documents_are_stored(client, desk):
    citizen = make_citizen()
    response, _ = post_intake(client, citizen, "health_care", field_amount="1250.500", field_invoice_number="INV-7",
                              documents_received=["invoice", "id_copy"])
    assert response.status_code == 303
    req = Request.get()
    import json
    data = json.loads(req.data)
    assert req.amount == Decimal("1250.500") and data["invoice_number"] == "INV-7"
    assert data["documents_received"] == ["invoice", "id_copy"]


@pytest.mark.parametrize("fields, message", [
    ({"field_invoice_number": "INV-7"}, "هذا الحقل مطلوب"),
    ({"field_amount": "-5", "field_invoice_number": "INV-7"}, "أدخل مبلغًا أكبر من 0"),
    ({"field_amount": "abc", "field_invoice_number": "INV-7"}, ""),
    ({"field_amount": "10", "field_invoice_number": "INV-7", "documents_received": ["passport"]}, ""),
])
def test_invalid_type_fields_write_nothing(client, desk, fields, message):
    response, _ = post_intake(client, make_citizen(), "health_care", **fields)
    assert response.status_code == 422 and message in response.text
    assert Request.select().count() == 0 and Notification.select().count() == 0


def test_type_form_swaps_by_htmx(client, desk):
    citizen = make_citizen()
    fragment = client.get(f"{intake_url(citizen)}?request_type={rtype('pension').id}", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<form') and 'id="intake-form"' in fragment.text
    assert "field_service_years" in fragment.text and "field_amount" not in fragment.text


def test_duplicate_needs_a_reason_which_is_kept(client, desk):
    citizen = make_citizen()
    first = make_request("inquiry", citizen=citizen)
    page = client.get(f"{intake_url(citizen)}?request_type={rtype('inquiry').id}")
    assert first.tracking_number in page.text
    response, token = post_intake(client, citizen, "inquiry")
    assert response.status_code == 422 and first.tracking_number in response.text
    assert Request.select().count() == 1
    response, _ = post_intake(client, citizen, "inquiry", token=token, override_reason="سؤال مختلف عن الأول")
    assert response.status_code == 303
    entry = HistoryEntry.select().where(HistoryEntry.action == "submit").order_by(HistoryEntry.id.desc()).get()
    assert entry.info == {"duplicate_override": "سؤال مختلف عن الأول", "duplicates": [first.tracking_number]}


def test_resent_form_creates_one_request(client, desk):
    citizen = make_citizen()
    first, token = post_intake(client, citizen, "inquiry")
    again, _ = post_intake(client, citizen, "inquiry", token=token)
    assert first.headers["Location"] == again.headers["Location"]
    assert Request.select().count() == 1 and Notification.select().count() == 1


def test_concurrent_double_submit_creates_one_request(app, ctx):
    from intranet import workflow
    desk_staff, citizen = make_staff("desk2", "reception", "reception"), make_citizen()
    results, errors = [], []

    def submit():
        try:
            with app.test_request_context(), database.connection_context():
                results.append(workflow.submit(desk_staff, citizen, rtype("inquiry"), "walk_in", "x",
                                               submission_token="same-token").request.id)
        except Exception as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=submit) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors and len(set(results)) == 1 and Request.select().count() == 1


def test_received_sms_is_queued_in_the_citizens_language(client, desk):
    english = make_citizen(preferred_language="en")
    post_intake(client, english, "inquiry")
    arabic = make_citizen()
    post_intake(client, arabic, "inquiry")
    sms = {n.citizen_id: n for n in Notification.select()}
    english_req, arabic_req = (Request.get(Request.citizen == c) for c in (english, arabic))
    assert sms[english.id].body.startswith("We received your request") and english_req.tracking_number in sms[
        english.id].body
    assert "استلمنا طلبكم" in sms[arabic.id].body and arabic_req.tracking_number in sms[arabic.id].body
    assert {n.status for n in sms.values()} == {"queued"} and sms[arabic.id].recipient == arabic.phone


@pytest.mark.parametrize("iban, ok", [
    ("QA58DOHB00001234567890ABCDEFG", True), ("qa58 dohb 0000 1234 5678 90ab cdef g", True),
    ("QA59DOHB00001234567890ABCDEFG", False), ("QA58DOHB0000", False), ("not an iban", False),
])
def test_iban_at_registration(client, desk, iban, ok):
    from intranet.models import Governorate
    nid = national_id(900)
    token = csrf_token(client, f"/reception/?national_id={nid}")
    response = client.post("/reception/citizens", data={
        "csrf_token": token, "full_name": "مريم خالد العطية", "national_id": nid, "phone": "55123456",
        "governorate": Governorate.get(Governorate.code == "doha").id, "preferred_language": "ar", "iban": iban})
    if ok:
        assert response.status_code == 303 and Citizen.get().iban == "QA58DOHB00001234567890ABCDEFG"
    else:
        assert response.status_code == 422 and Citizen.select().count() == 0
        assert "IBAN" in response.text


def test_find_citizen_by_phone_or_name(client, desk):
    citizen = make_citizen(full_name="عائشة إبراهيم الهاجري", phone="+97466112233")
    make_citizen(full_name="نورة سالم المري")
    for typed in ("66112233", "ابراهيم", "عايشة الهاجري"):
        page = client.get("/reception/", query_string={"q": typed}).text
        assert citizen.full_name in page and "نورة" not in page, typed


def test_quick_inquiry_answered_or_routed(client, desk):
    citizen = make_citizen()
    url = f"/reception/citizens/{citizen.id}/inquiries"
    token = csrf_token(client, f"/reception/?national_id={citizen.national_id}")
    answered = client.post(url, data={"csrf_token": token, "question": "متى يصرف المعاش؟", "answer": "في أول الشهر",
                                      "route": "0"})
    assert answered.status_code == 303
    req = Request.get()
    assert req.status == "completed" and [e.action for e in req.history.order_by(HistoryEntry.id)] == ["submit", "answer"]
    empty = client.post(url, data={"csrf_token": token, "question": "سؤال", "answer": "", "route": "0"})
    assert empty.status_code == 422 and Request.select().count() == 1
    routed = client.post(url, data={"csrf_token": token, "question": "سؤال يحتاج دراسة", "route": "1"})
    assert routed.status_code == 303
    assert Request.select().where(Request.status == "open").get().department.code == "citizens"


def test_facilitator_cannot_act_on_department_queues(client, desk):
    req = make_request("health_care")
    assert client.get("/queues/health").status_code == 403
    token = csrf_token(client, "/reception/")
    response = client.post(f"/requests/{req.tracking_number}/act", data={"csrf_token": token, "action": "accept",
                                                                         "version": "1"})
    assert response.status_code == 403


def test_path_traversal_upload_name_is_harmless(client, desk, app):
    response, _ = post_intake(client, make_citizen(), "inquiry", attachments=[(io.BytesIO(PDF), "../../../etc/x.pdf")])
    assert response.status_code == 303
    from intranet.models import Attachment
    attachment = Attachment.get()
    assert attachment.original_name == "x.pdf" and "/" not in attachment.stored_name
    assert (app.config["ATTACHMENT_DIR"] / attachment.stored_name).exists()


def test_request_made_while_serving_a_ticket_is_linked(client, desk, ctx):
    from intranet.models import Staff
    from intranet.models.tickets import VisitorTicket
    from intranet.reception import tickets
    ticket = tickets.issue_ticket("request_submission")
    called = tickets.call_next(Staff.get(Staff.username == "reception1"), "3", ["request_submission"])
    assert called.id == ticket.id
    citizen = make_citizen()
    page = client.get(f"/reception/?national_id={citizen.national_id}&ticket={ticket.id}").text
    assert f"ticket={ticket.id}" in page
    url = f"/reception/citizens/{citizen.id}/requests/new?ticket={ticket.id}"
    response = client.post(url, data={"csrf_token": csrf_token(client, url), "request_type": rtype("inquiry").id,
                                      "subject": "x"})
    assert response.status_code == 303
    req = Request.get()
    assert req.visitor_ticket_id == ticket.id
    assert VisitorTicket.get_by_id(ticket.id).citizen_id == citizen.id


def test_desk_corrects_citizen_details_with_a_record(client, desk):
    from intranet.models import CitizenChange, Governorate
    citizen = make_citizen(full_name="سعود فهد الدوسري")
    url = f"/reception/citizens/{citizen.id}/edit"
    page = client.get(url)
    assert page.status_code == 200 and 'value="+97455123456"' in page.text
    token = csrf_token(client, url)
    fields = {"csrf_token": token, "full_name": "سعود فهد الدوسري", "phone": "66554433",
              "governorate": Governorate.get(Governorate.code == "wakrah").id, "iban": "", "preferred_language": "en"}
    bad = client.post(url, data={**fields, "iban": "QA59DOHB00001234567890ABCDEFG"})
    assert bad.status_code == 422 and CitizenChange.select().count() == 0
    assert Citizen.get_by_id(citizen.id).phone == "+97455123456"
    response = client.post(url, data=fields)
    assert response.status_code == 303
    fresh = Citizen.get_by_id(citizen.id)
    assert (fresh.phone, fresh.preferred_language, fresh.governorate.code) == ("+97466554433", "en", "wakrah")
    change = CitizenChange.get()
    assert change.changed_by.username == "reception1"
    import json
    assert json.loads(change.changes)["phone"] == ["+97455123456", "+97466554433"]
    client.post(url, data=fields)
    assert CitizenChange.select().count() == 1  # nothing changed: nothing recorded


def test_clerk_cannot_edit_citizens(auth, client, ctx):
    citizen = make_citizen()
    auth.login("health1")
    assert client.get(f"/reception/citizens/{citizen.id}/edit").status_code == 403
