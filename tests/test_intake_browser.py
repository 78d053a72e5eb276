"""A practised facilitator records a returning citizen's two-field request from the keyboard alone, in at most
12 keyboard actions after the page loads; then opens the receipt. axe-core checks every page on the way."""
import json
import re

import pytest
from playwright.sync_api import expect

from intranet.db import database
from intranet.models import Request
from tests.browser import LiveServer, check_page, on_own_thread, sign_in
from tests.factories import make_citizen

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


class Keyboard:
    """Counts what the facilitator does: each key press or typed value is one action."""

    def __init__(self, page):
        self.page, self.actions = page, 0

    def press(self, key):
        self.actions += 1
        self.page.keyboard.press(key)

    def type(self, text):
        self.actions += 1
        self.page.keyboard.type(text)


def settled(page):
    """Wait until htmx has finished swapping and settling (autofocus is applied at settle)."""
    page.wait_for_function("!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    page.wait_for_timeout(50)


@pytest.fixture
def live_server(app):
    with LiveServer(app) as server:
        yield server


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
