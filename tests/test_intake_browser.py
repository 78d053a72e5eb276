"""A practised facilitator records a returning citizen's two-field request from the keyboard alone, in at most
12 keyboard actions after the page loads; then opens the receipt. axe-core checks every page on the way."""
import json
import re
import subprocess

import pytest
from playwright.sync_api import expect

from intranet.db import database
from intranet.models import Request, RequestType
from tests.browser import Keyboard, check_page, on_own_thread, settled, sign_in, use_language
from tests.factories import make_citizen

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


def test_returning_citizen_request_in_twelve_keyboard_actions(app, live_server):
    with app.app_context(), database.connection_context():
        citizen = make_citizen(full_name="حمد ناصر المهندي")  # returning: already registered

    def walk(page):
        sign_in(page, live_server.url, "reception1")
        page.goto(f"{live_server.url}/reception/")
        check_page(page)
        keys = Keyboard(page)
        keys.type(citizen.national_id)  # the national ID field has the focus on arrival
        with page.expect_navigation():
            keys.press("Enter")
        check_page(page)
        with page.expect_navigation():
            keys.press("Enter")  # "New request for this citizen" has the focus
        check_page(page)
        expect(page.locator("#request_type")).to_be_focused()  # the type list; each choice swaps its fields in
        keys.press("ArrowDown")
        expect(page.locator("#field_invoice_number")).to_be_visible()  # health care
        settled(page)
        expect(page.locator("#request_type")).to_be_focused()
        keys.press("ArrowDown")
        expect(page.locator("#field_employer")).to_be_visible()  # pension processing: two fields of its own
        settled(page)
        expect(page.locator("#request_type")).to_be_focused()
        check_page(page)
        keys.press("Tab")
        keys.type("وزارة العمل")
        keys.press("Tab")
        keys.type("22")
        with page.expect_navigation():
            keys.press("Enter")
        assert keys.actions <= 12, keys.actions
        match = re.search(r"/requests/(\d\d-\d{7}-\d)$", page.url)
        assert match, page.url
        check_page(page)
        expect(page.locator("#flashes")).to_contain_text(match.group(1))
        receipt = page.locator("a", has_text="طباعة الإيصال")
        expect(receipt).to_be_visible()
        with page.expect_navigation():
            receipt.click()
        check_page(page)
        expect(page.locator("body")).to_contain_text(match.group(1))
        return match.group(1)

    on_own_thread(walk)
    with app.app_context(), database.connection_context():
        req = Request.get(Request.citizen == citizen.id)
        data = json.loads(req.data)
        assert (req.request_type.code, data["employer"], data["service_years"]) == ("pension", "وزارة العمل", 22)
        assert req.entered_by.username == "reception1" and req.channel == "walk_in"


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_desk_serves_a_ticket_with_an_intake_and_prints_the_receipt(app, live_server, tmp_path, lang):
    """The desk calls a visitor, opens intake from the ticket, records the request and prints the receipt; the
    receipt, rendered to PDF, carries the tracking number in the citizen's language."""
    with app.app_context(), database.connection_context():
        citizen = make_citizen(full_name="هيا جاسم الكبيسي", preferred_language=lang)

    def walk(page):
        sign_in(page, live_server.url, "reception1")
        use_language(page, lang)
        with app.app_context(), database.connection_context():
            from intranet.models import Staff
            from intranet.reception import tickets
            ticket = tickets.issue_ticket("request_submission")
            tickets.call_next(Staff.get(Staff.username == "reception1"), "3", ["request_submission"])
        page.goto(f"{live_server.url}/reception/?ticket={ticket.id}")
        check_page(page, lang)
        expect(page.locator("main")).to_contain_text(ticket.label)
        page.fill("#find-national-id", citizen.national_id)
        with page.expect_navigation():
            page.press("#find-national-id", "Enter")
        check_page(page, lang)
        with page.expect_navigation():
            page.click(f"a[href*='/requests/new?ticket={ticket.id}']")
        check_page(page, lang)
        page.select_option("#request_type", value=str(inquiry_id))
        page.fill("#subject", "Pension date" if lang == "en" else "موعد صرف المعاش")
        with page.expect_navigation():
            page.click("#intake-form button[type=submit]")
        tracking_number = re.search(r"/requests/(\d\d-\d{7}-\d)$", page.url).group(1)
        check_page(page, lang)
        with page.expect_navigation():
            page.click(f"a[href*='/requests/{tracking_number}/receipt']")
        check_page(page, lang)
        pdf = tmp_path / "receipt.pdf"
        page.emulate_media(media="print")
        pdf.write_bytes(page.pdf(prefer_css_page_size=True))
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert tracking_number in text
        assert ("Receipt" in text) if lang == "en" else ("إيصال" in text)
        results.append((ticket.id, tracking_number))

    results = []
    with app.app_context(), database.connection_context():
        inquiry_id = RequestType.get(RequestType.code == "inquiry").id
    on_own_thread(walk)
    ticket_id, tracking_number = results[0]
    with app.app_context(), database.connection_context():
        req = Request.get(Request.tracking_number == tracking_number)
        assert req.visitor_ticket_id == ticket_id and req.citizen_id == citizen.id
