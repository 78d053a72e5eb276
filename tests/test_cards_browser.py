"""Issue 19, fewer key actions: from the moment a visitor's ticket is called at the desk, a returning citizen's
two-field request is recorded in at most 12 keyboard actions with the national ID typed, and at most 8 with the
beneficiary card scanned (one action: the scanner types the code and Enter), at the desk or at the kiosk when the
booked citizen checked in there. axe-core checks every page on the way."""
import json

import pytest
from playwright.sync_api import expect

from intranet.db import database
from intranet.models import Department, Request, Staff, utcnow
from tests.browser import Keyboard, check_page, on_own_thread, settled, sign_in
from tests.factories import make_citizen, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


def test_intake_from_a_called_ticket_in_counted_actions(app, live_server):
    from intranet.cards import service as cards
    from intranet.cards import tokens
    from intranet.models.bookings import BookingService, ReceptionDesk
    from intranet.reception import bookings, tickets

    with app.test_request_context(), database.connection_context():
        by_id, by_card, booked = (make_citizen(full_name=name) for name in ("حمد ناصر المهندي", "مريم علي الكعبي",
                                                                            "جاسم خالد العطية"))
        desk = make_staff("desk", "reception", "reception")
        card_token, booked_token = (tokens.make(cards.issue(desk, person)) for person in (by_card, booked))
        retirement = Department.get(Department.code == "retirement")  # desk 3 is the Retirement department's
        counter = BookingService.create(code="cards-walk", name_ar="شؤون التقاعد", name_en="Retirement affairs",
                                        department=retirement, ticket_service="request_submission")
        ReceptionDesk.create(label="3", department=retirement)
        booking, code = bookings.book(counter, booked.national_id, utcnow())
        bookings.confirm(booking, code)

    def next_visitor(page, walk_in=True):
        """The previous visitor served, a new one waiting (unless booked), and called to this desk."""
        with app.test_request_context(), database.connection_context():
            me = Staff.get(Staff.username == "reception1")
            if (current := tickets.current_ticket("3")) is not None:
                tickets.finish(me, tickets.start_serving(me, current))
            if walk_in:
                tickets.issue_ticket("request_submission")
        page.goto(f"{live_server.url}/tickets/desk")
        page.select_option("#desk-number", "3")
        page.click(".call-next")
        expect(page.locator(".current-ticket .ticket-label")).to_be_visible()
        settled(page)
        check_page(page)

    def pension_request(page, keys, employer):
        """The type list has the focus: the second type down is pension processing, with two fields of its own."""
        expect(page.locator("#request_type")).to_be_focused()
        check_page(page)
        keys.press("ArrowDown")
        expect(page.locator("#field_invoice_number")).to_be_visible()
        settled(page)
        keys.press("ArrowDown")
        expect(page.locator("#field_employer")).to_be_visible()
        settled(page)
        keys.press("Tab")
        keys.type(employer)
        keys.press("Tab")
        keys.type("22")
        with page.expect_navigation():
            keys.press("Enter")
        expect(page.locator("#flashes")).to_contain_text("-")
        check_page(page)

    counts = {}

    def walk(page):
        sign_in(page, live_server.url, "reception1")
        # 1. the national ID typed at the desk: the citizen's details, then a new request
        next_visitor(page)
        expect(page.locator("#desk-find")).to_be_focused()
        keys = Keyboard(page)
        keys.type(by_id.national_id)
        with page.expect_navigation():
            keys.press("Enter")
        check_page(page)
        with page.expect_navigation():
            keys.press("Enter")  # "New request for this citizen" has the focus
        pension_request(page, keys, "وزارة العمل")
        counts["national ID"] = keys.actions
        # 2. the card scanned at the desk: straight to the citizen's new request
        next_visitor(page)
        expect(page.locator("#desk-find")).to_be_focused()
        keys = Keyboard(page)
        with page.expect_navigation():
            keys.scan(card_token)
        pension_request(page, keys, "وزارة التعليم")
        counts["card at the desk"] = keys.actions
        # 3. the card scanned at the kiosk checks the booking in; the called ticket already names the citizen
        page.goto(f"{live_server.url}/tickets/kiosk")
        check_page(page)
        page.fill("#check-in-national-id", booked_token)
        with page.expect_navigation():
            page.press("#check-in-national-id", "Enter")
        next_visitor(page, walk_in=False)
        expect(page.locator("#desk-new-request")).to_be_focused()
        keys = Keyboard(page)
        with page.expect_navigation():
            keys.press("Enter")
        pension_request(page, keys, "وزارة الصحة العامة")
        counts["card at the kiosk"] = keys.actions
        # the card on the citizen page: printed, reissued or revoked there
        page.goto(f"{live_server.url}/citizens/{by_card.id}")
        expect(page.locator("#print-card")).to_be_visible()
        check_page(page)

    on_own_thread(walk)
    assert counts["national ID"] <= 12 and counts["card at the desk"] <= 8 and counts["card at the kiosk"] <= 8, counts
    with app.app_context(), database.connection_context():
        made = {r.citizen_id: (json.loads(r.data)["employer"], r.visitor_ticket_id is not None)
                for r in Request.select()}
        assert made == {by_id.id: ("وزارة العمل", True), by_card.id: ("وزارة التعليم", True),
                        booked.id: ("وزارة الصحة العامة", True)}
