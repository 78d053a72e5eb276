"""A booking from end to end (issue 19): booked through the portal API, confirmed with the code read at the loopback
SMS gateway, checked in at the kiosk with the national ID, and called at the health department's desk ahead of a
walk-in who came earlier; the waiting-room display announces it in Arabic and English. axe-core checks each page."""
import datetime as dt
import json
import re
import urllib.request

import pytest
from playwright.sync_api import expect

from intranet.db import database
from intranet.intake import clients
from intranet.models import Department, utcnow
from intranet.models.bookings import Booking, BookingService, ReceptionDesk
from intranet.notify import delivery
from intranet.reception import tickets
from intranet.stats.figures import local_today
from tests.browser import check_page, on_own_thread, sign_in, sign_out
from tests.factories import make_citizen

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


def _api(base, token, method, path, body=None):
    request = urllib.request.Request(f"{base}/api/v1/bookings{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status, json.loads(answer.read())


def test_book_confirm_check_in_and_be_called_at_the_department_desk(app, live_server, gateway):
    with app.app_context(), database.connection_context():
        health = Department.get(Department.code == "health")
        health_id = health.id
        BookingService.create(code="health_care", name_ar="استشارة منحة الرعاية الصحية",
                              name_en="Health-care consultation", department=health,
                              ticket_service="request_submission", opens="08:00", closes="13:00",
                              weekdays="0,1,2,3,4,5,6", slot_minutes=15, capacity=2)
        ReceptionDesk.create(label="5", department=health)
        citizen = make_citizen(full_name="مريم خالد السليطي", phone="+97455000444")
        token = clients.create_client(None, "National portal", ["bookings:write"]).token
        walk_in = tickets.issue_ticket("request_submission")  # came earlier, without a booking

    slot = f"{local_today() + dt.timedelta(days=1):%Y-%m-%d}T09:00"
    status, made = _api(live_server.url, token, "POST", "",
                        {"national_id": citizen.national_id, "service": "health_care", "slot": slot})
    assert (status, made["status"], made["slot"]) == (201, "pending", slot.replace("T", " "))
    with app.app_context(), database.connection_context():
        delivery.deliver_due()
    texts = [item["json"] for item in gateway.received if item["json"]["to"] == "+97455000444"]
    assert len(texts) == 1 and "رمز تأكيد حجزكم" in texts[0]["text"]
    code = re.search(r"\b(\d{6})\b", texts[0]["text"]).group(1)
    status, confirmed = _api(live_server.url, token, "POST", f"/{made['booking']}/confirmation", {"code": code})
    assert (status, confirmed["status"]) == (200, "confirmed")
    with app.app_context(), database.connection_context():  # as if the day and the time had come
        Booking.update(slot_at=utcnow() - dt.timedelta(minutes=1)).where(Booking.id == made["booking"]).execute()
    seen = {}

    def walk(page):
        page.add_init_script("window.print = function () {};")  # the kiosk's slip prints itself on load
        sign_in(page, live_server.url, "reception1")
        page.goto(f"{live_server.url}/tickets/kiosk")
        check_page(page)
        page.fill("#check-in-national-id", "12")  # not a national ID: refused, translated
        with page.expect_navigation():
            page.click("#kiosk-check-in button[type=submit]")
        expect(page.locator("#check-in-error")).to_be_visible()
        check_page(page)
        page.fill("#check-in-national-id", citizen.national_id)
        with page.expect_navigation(url=lambda url: "source=kiosk" in url):
            page.click("#kiosk-check-in button[type=submit]")
        check_page(page)
        seen["label"] = page.locator(".slip-number").inner_text().strip()

        page.goto(f"{live_server.url}/tickets/desk")
        check_page(page)
        page.select_option("#desk-number", "5")
        with page.expect_response(lambda r: r.url.endswith("/tickets/desk/call")):
            page.click("#desk-panel button.call-next")
        expect(page.locator("#desk-panel .big-number")).to_have_text(seen["label"])  # ahead of the walk-in
        check_page(page)

        page.goto(f"{live_server.url}/tickets/display")
        row = page.locator(f"#ticket-board tr[data-ticket='{seen['label']}']")
        expect(row.locator(".desk-number")).to_have_text("5")
        expect(row.locator(".called-text [lang=en]")).to_contain_text("please go to desk 5 (Health Affairs)")
        expect(row.locator(".called-text [lang=ar]")).to_contain_text("الشؤون الصحية")
        check_page(page)

        page.goto(f"{live_server.url}/bookings/")  # the desk's list of appointments, and the booking itself
        check_page(page)
        page.fill("#national_id", "123")  # refused in place, translated, nothing booked
        with page.expect_navigation():
            page.click("#phone-booking button[type=submit]")
        expect(page.locator("#national_id-error")).to_be_visible()
        check_page(page)
        sign_out(page)

        sign_in(page, live_server.url, "admin1")  # the administrators' services and desks
        page.goto(f"{live_server.url}/bookings/services")
        check_page(page)
        expect(page.locator("#desk-5 select[name=department]")).to_have_value(str(health_id))

    on_own_thread(walk)
    assert seen["label"] == "A-002" and walk_in.label == "A-001"
    with app.app_context(), database.connection_context():
        booking = Booking.get_by_id(made["booking"])
        assert booking.status == "checked_in" and booking.ticket.status == "called" and booking.ticket.desk == "5"
