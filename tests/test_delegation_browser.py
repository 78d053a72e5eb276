"""Delegation in headless Chromium (issue 18): a supervisor grants a clerk the payouts up to an amount through the
form (refused first without a reason, the form kept, with its message), the clerk is told on every page whom they
act for and reaches the payouts, and the supervisor revokes it with a reason. axe-core checks every page."""
import pytest
from playwright.sync_api import expect

from intranet.db import database
from intranet.models import Delegation
from intranet.stats.figures import local_today
from tests.browser import check_page, on_own_thread, sign_in, sign_out
from tests.factories import make_staff

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


def test_grant_see_and_revoke(app, live_server):
    with app.test_request_context(), database.connection_context():
        delegate = make_staff("health1", "clerk", "health")  # as the directory has them; signing in refreshes it
        today = local_today().isoformat()

    def walk(page):
        sign_in(page, live_server.url, "supervisor1")
        page.goto(f"{live_server.url}/delegations/")
        check_page(page)
        with page.expect_navigation():
            page.click("main a[href$='/delegations/new']")
        check_page(page)
        page.select_option("#delegate", str(delegate.id))
        page.check("#scope-payouts")
        page.fill("#amount_limit", "2500")
        page.fill("#starts_on", today)
        page.fill("#ends_on", today)
        page.locator("#reason").evaluate("el => el.removeAttribute('required')")  # the server's own check
        with page.expect_navigation():
            page.click("#delegation-form button[type=submit]")
        expect(page.locator("main .alert")).to_contain_text("اكتب سبب التفويض")
        expect(page.locator("#amount_limit")).to_have_value("2500")
        check_page(page)
        page.fill("#reason", "إجازة سنوية")
        with page.expect_navigation():
            page.click("#delegation-form button[type=submit]")
        expect(page.locator("#delegations-table")).to_contain_text("إجازة سنوية")
        check_page(page)
        sign_out(page)

        sign_in(page, live_server.url, "health1")
        expect(page.locator(".delegation-banner")).to_contain_text("تعمل نيابةً عن")
        check_page(page)
        with page.expect_navigation():
            page.click(".delegation-banner a[href$='/payouts/']")
        check_page(page)
        sign_out(page)

        sign_in(page, live_server.url, "supervisor1")
        page.goto(f"{live_server.url}/delegations/?list=given")
        row = page.locator("#delegations-table tbody tr").first
        row.locator("input[name=reason]").fill("عاد من الإجازة")
        with page.expect_navigation():
            row.locator(".revoke-form button").click()
        expect(page.locator("#delegations-table")).to_contain_text("عاد من الإجازة")
        check_page(page)

    on_own_thread(walk)
    with app.app_context(), database.connection_context():
        assert Delegation.get().revoke_reason == "عاد من الإجازة"
