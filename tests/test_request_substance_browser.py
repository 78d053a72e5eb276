"""A health-care grant from the desk to the payout, in Arabic and in English (issue 16, "Tests and figures").

The desk enters the grant with its amount, invoice number and hospital but without the invoice; the Health clerk
opens it from the queue, reads the fields and the documents (the invoice missing) and returns it ticking the
invoice; the desk corrects the amount and scans the invoice in; the clerk sees the amount before and after and
the invoice arrived, and accepts; Compensation accepts; a Health clerk sees that only the head decides the last
stage; the head accepts; a supervisor approves the payout after re-entering the password. axe-core checks every
page on the way.
"""
import re
from decimal import Decimal

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import expect

from intranet.db import database
from intranet.models import Request, RequestType
from intranet.models.payouts import Payout
from intranet.queues.approvals import DECIDER_LABELS
from intranet.queues.labels import STATUS_LABELS
from tests.browser import TINY_PDF, check_page, on_own_thread, sign_in, use_language, wait_until
from tests.factories import make_citizen
from tests.test_payouts import IBAN

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

CITIZEN = "نورة سعد الهاجري"
INVOICE_NUMBER = "INV-2026-0412"
HOSPITAL = {"ar": "مستشفى حمد العام", "en": "Hamad General Hospital"}
INVOICE = {"ar": "فاتورة العلاج", "en": "Treatment invoice"}


def words(app, lang):
    """The interface's texts the walk looks for, in `lang`."""
    with app.test_request_context(), force_locale(lang):
        return {"awaiting": str(STATUS_LABELS["awaiting_citizen"]), "open": str(STATUS_LABELS["open"]),
                "completed": str(STATUS_LABELS["completed"]), "missing": gettext("missing"),
                "received": gettext("received"), "changed": gettext("Changed since the return"),
                "head": str(DECIDER_LABELS["head"])}


def pdf(name):
    return {"name": name, "mimeType": "application/pdf", "buffer": TINY_PDF}


def panel_answer(page, tracking_number):
    """The htmx POST of the action form, answered with the new panel."""
    return page.expect_response(lambda r: f"/requests/{tracking_number}/act" in r.url and r.request.method == "POST")


def as_staff(page, username, lang):
    """Sign the one before out and `username` in; the browser keeps the language chosen across the sign-out, so
    the sign-out and sign-in pages are in `lang` already."""
    with page.expect_navigation():
        page.click("form[action$='/logout'] button")
    check_page(page, lang)
    page.fill("#username", username)
    page.fill("#password", "demo")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    check_page(page, lang)


def open_from_queue(page, base, department, tracking_number, lang):
    """The clerk's department queue, then the request opened beside it."""
    page.goto(f"{base}/queues/{department}")
    check_page(page, lang)
    link = page.locator("#queue-table a.open-request", has_text=re.compile(rf"^\s*{re.escape(tracking_number)}\s*$"))
    with page.expect_response(lambda r: f"/requests/{tracking_number}?" in r.url):
        link.click()
    panel = page.locator("#detail #request-panel")
    expect(panel.locator("h1")).to_contain_text(tracking_number)
    check_page(page, lang)
    return panel


def enter_at_the_desk(page, base, lang, citizen, health_care_id):
    """Step 1: the desk finds the citizen and enters the grant, its fields and every document but the invoice."""
    page.goto(f"{base}/reception/")
    check_page(page, lang)
    page.fill("#find-national-id", citizen.national_id)
    with page.expect_navigation():
        page.press("#find-national-id", "Enter")
    check_page(page, lang)
    with page.expect_navigation():
        page.click(f"a.button[href*='/citizens/{citizen.id}/requests/new']")
    check_page(page, lang)
    with page.expect_response(lambda r: "/requests/new" in r.url and r.request.method == "GET"):
        page.select_option("#request_type", value=str(health_care_id))
    expect(page.locator("#field_invoice_number")).to_be_visible()
    wait_until(page, "!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    check_page(page, lang)
    page.fill("#field_amount", "1500")
    page.fill("#field_invoice_number", INVOICE_NUMBER)
    page.fill("#field_hospital", HOSPITAL[lang])
    for code in ("medical_report", "id_copy", "bank_certificate"):
        page.check(f"#intake-form input[name=documents_received][value={code}]")
    page.set_input_files("#document_medical_report", pdf("medical-report.pdf"))
    expect(page.locator("#intake-form input[name=documents_received][value=invoice]")).not_to_be_checked()
    with page.expect_navigation():
        page.click("#intake-form button[type=submit]")
    match = re.search(r"/requests/(\d\d-\d{7}-\d)$", page.url)
    assert match, page.url
    check_page(page, lang)
    return match.group(1)


def return_for_the_invoice(page, base, lang, number, text):
    """Step 2: the clerk reads the grant's substance beside the queue and returns it ticking the missing invoice."""
    panel = open_from_queue(page, base, "health", number, lang)
    fields = panel.locator(".request-fields")
    expect(fields.locator(".field-amount")).to_have_text("1,500.00 QAR")
    expect(fields.locator(".field-invoice_number")).to_have_text(INVOICE_NUMBER)
    expect(fields.locator(".field-hospital")).to_have_text(HOSPITAL[lang])
    expect(fields.locator(".origin")).to_contain_text(CITIZEN)
    invoice = panel.locator(".request-documents #document-invoice")
    expect(invoice).to_have_class("document-missing")
    expect(invoice).to_contain_text(INVOICE[lang])
    expect(invoice.locator(".missing")).to_have_text(text["missing"])
    report = panel.locator(".request-documents #document-medical_report")
    expect(report).to_have_class("document-received")
    expect(report.locator(".files a")).to_have_text("medical-report.pdf")
    expect(panel.locator(".request-documents .document-missing")).to_have_count(1)

    comment = "The treatment invoice is missing." if lang == "en" else "تنقص فاتورة العلاج."
    page.fill("#comment", comment)
    panel.locator("input[name=missing][value=invoice]").check()
    with panel_answer(page, number) as answer:
        panel.locator("button.action-return").click()
    assert answer.value.status == 200, answer.value.text()
    expect(panel.locator(".facts").first).to_contain_text(text["awaiting"])
    expect(panel.locator(".timeline > li").last.locator(".checklist")).to_have_text(INVOICE[lang])
    check_page(page, lang)


def correct_at_the_desk(page, base, lang, number, text):
    """Step 3: the citizen brings the invoice to the desk, which changes the amount and scans the invoice in."""
    page.goto(f"{base}/requests/{number}")
    check_page(page, lang)
    panel = page.locator("#request-panel")
    expect(panel.locator(".since-return")).to_contain_text(INVOICE[lang])  # what the clerk said was missing
    correction = panel.locator("fieldset.correction")
    expect(correction.locator("#field_invoice_number")).to_have_value(INVOICE_NUMBER)
    correction.locator("#field_amount").fill("1750.5")
    correction.locator("#document_invoice").set_input_files(pdf("invoice.pdf"))
    page.fill("#comment", "Invoice brought in." if lang == "en" else "أحضر المواطن الفاتورة.")
    with panel_answer(page, number) as answer:
        panel.locator("button.action-resubmit").click()
    assert answer.value.status == 200, answer.value.text()
    expect(panel.locator(".facts").first).to_contain_text(text["open"])
    expect(panel.locator("#action-form button.action-resubmit")).to_have_count(0)
    check_page(page, lang)


def see_the_difference_and_accept(page, base, lang, number, text):
    """Step 4: the clerk sees the amount before and after and the invoice arrived, and accepts."""
    panel = open_from_queue(page, base, "health", number, lang)
    since = panel.locator(".since-return")
    expect(since.locator("h3")).to_have_text(text["changed"])
    changes = since.locator("table.changes tbody tr")
    expect(changes).to_have_count(1)
    expect(changes.locator("td.before")).to_have_text("1,500.00 QAR")
    expect(changes.locator("td.after")).to_have_text("1,750.50 QAR")
    expect(since.locator(".arrived")).to_contain_text(INVOICE[lang])
    expect(since.locator("a", has_text="invoice.pdf")).to_be_visible()
    expect(panel.locator(".request-fields .field-amount")).to_have_text("1,750.50 QAR")
    invoice = panel.locator(".request-documents #document-invoice")
    expect(invoice).to_have_class("document-received")
    expect(invoice.locator(".received")).to_have_text(text["received"])
    expect(invoice.locator(".files a")).to_have_text("invoice.pdf")
    expect(panel.locator(".request-documents .document-missing")).to_have_count(0)
    check_page(page, lang)
    accept_in_panel(page, panel, number)


def accept_in_panel(page, panel, number):
    with panel_answer(page, number) as answer:
        panel.locator("button.action-accept").click()
    assert answer.value.status == 200, answer.value.text()
    expect(panel.locator("#action-form")).to_have_count(0)


def walk_the_grant(app, base, lang, citizen, health_care_id, found):
    text = words(app, lang)

    def walk(page):
        sign_in(page, base, "reception1")
        use_language(page, lang)
        number = enter_at_the_desk(page, base, lang, citizen, health_care_id)
        found["number"] = number

        as_staff(page, "health1", lang)
        return_for_the_invoice(page, base, lang, number, text)

        as_staff(page, "reception1", lang)
        correct_at_the_desk(page, base, lang, number, text)

        as_staff(page, "health1", lang)
        see_the_difference_and_accept(page, base, lang, number, text)

        as_staff(page, "comp1", lang)
        panel = open_from_queue(page, base, "compensation", number, lang)
        expect(panel.locator(".request-fields .field-amount")).to_have_text("1,750.50 QAR")
        accept_in_panel(page, panel, number)
        check_page(page, lang)

        as_staff(page, "health1", lang)  # back in Health, but the head's to decide
        page.goto(f"{base}/requests/{number}")
        check_page(page, lang)
        expect(page.locator("#decided-by")).to_have_text(text["head"])
        expect(page.locator("#action-form")).to_have_count(0)

        as_staff(page, "head1", lang)
        page.goto(f"{base}/approvals/")
        check_page(page, lang)
        with page.expect_navigation():
            page.locator("#approvals-table a", has_text=number).click()
        check_page(page, lang)
        panel = page.locator("#request-panel")
        expect(panel.locator(".request-fields .field-amount")).to_have_text("1,750.50 QAR")
        with panel_answer(page, number) as answer:
            panel.locator("button.action-accept").click()
        assert answer.value.status == 200, answer.value.text()
        expect(panel.locator(".facts").first).to_contain_text(text["completed"])
        check_page(page, lang)

        with app.app_context(), database.connection_context():
            payout = Payout.get(Payout.request == Request.get(Request.tracking_number == number).id)
        as_staff(page, "supervisor1", lang)
        page.goto(f"{base}/payouts/")
        check_page(page, lang)
        expect(page.locator(f"#payout-row-{payout.id}")).to_contain_text("1,750.50 QAR")
        page.check(f"#pick-{payout.id}")
        expect(page.locator("#payout-selection")).to_contain_text("1,750.50 QAR")
        with page.expect_navigation():
            page.click("button[name=decision][value=approve]")
        check_page(page, lang)  # the password again, with what will be approved
        expect(page.locator("#password-again")).to_contain_text("1,750.50 QAR")
        page.fill("#password-again input[type=password]", "demo")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        check_page(page, lang)
        expect(page.locator(".flash-success")).to_be_visible()
        expect(page.locator(f"#payout-row-{payout.id}")).to_have_count(0)

    on_own_thread(walk)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_a_health_care_grant_from_the_desk_to_the_payout(app, live_server, lang):
    with app.app_context(), database.connection_context():
        citizen = make_citizen(full_name=CITIZEN, preferred_language=lang, iban=IBAN)
        health_care_id = RequestType.get(RequestType.code == "health_care").id
    found = {}
    walk_the_grant(app, live_server.url, lang, citizen, health_care_id, found)
    with app.app_context(), database.connection_context():
        req = Request.get(Request.tracking_number == found["number"])
        payout = Payout.get(Payout.request == req.id)
        assert (req.status, req.entered_by.username, req.channel) == ("completed", "reception1", "walk_in")
        assert (payout.status, payout.amount, payout.made_by.username) == ("approved", Decimal("1750.5"), "head1")
