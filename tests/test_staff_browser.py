"""The staff page in headless Chromium (issue 18): an administrator reads the directory now, opens a clerk's page,
marks them absent and hands their open items back to the queue in one action. axe-core in Arabic and in English."""
import pytest
from playwright.sync_api import expect

from intranet import workflow
from intranet.db import database
from intranet.models import Staff
from tests.browser import check_page, on_own_thread, sign_in
from tests.conftest import Auth
from tests.factories import make_request

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


@pytest.fixture
def held(app):
    """health1 and the desk have signed in once; health1 holds two open requests."""
    for username in ("health1", "health2", "reception1"):
        Auth(app.test_client()).login(username)
    with app.app_context(), database.connection_context():
        clerk, desk = Staff.get(Staff.username == "health1"), Staff.get(Staff.username == "reception1")
        for _ in range(2):
            req = make_request(actor=desk)
            workflow.claim(clerk, req, req.version)
        return clerk.id


def test_an_administrator_reads_the_directory_marks_an_absence_and_hands_work_over(app, live_server, held):
    base = live_server.url

    def walk(page):
        sign_in(page, base, "admin1")
        page.goto(f"{base}/staff/")
        expect(page.locator("#last-sync")).to_be_visible()
        check_page(page, "ar")
        with page.expect_navigation():
            page.click("#sync-now button")
        expect(page.locator("#last-sync")).not_to_have_class("error")
        expect(page.locator(f"#staff-{held} .open-items")).to_have_text("2")
        check_page(page, "ar")

        with page.expect_navigation():
            page.click("button[name=lang][value=en]")
        page.goto(f"{base}/staff/{held}")
        check_page(page, "en")
        page.fill("#absence-reason", "Annual leave")
        with page.expect_navigation():
            page.click("#mark-absence button[type=submit]")
        expect(page.locator("#absence-list")).to_contain_text("Annual leave")
        expect(page.locator("#hand-over-to option")).to_have_count(2)  # the queue, and health2 (at work)
        with page.expect_navigation():
            page.click("#hand-over button[type=submit]")
        expect(page.locator("#flashes")).to_contain_text("2 items back in their queues")
        expect(page.locator("#open-items")).to_have_text("0")
        check_page(page, "en")

    on_own_thread(walk)
