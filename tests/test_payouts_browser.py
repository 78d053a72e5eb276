"""A supervisor ticks payouts (the total follows), approves, re-enters the password, and approves; axe-core
checks every page, in Arabic and in English."""
import pytest
from playwright.sync_api import expect

from intranet.db import database
from intranet.models.payouts import Payout
from tests.browser import check_page, on_own_thread, sign_in, use_language
from tests.factories import make_staff
from tests.test_payouts import complete

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_supervisor_approves_after_re_entering_the_password(app, live_server, lang):
    with app.test_request_context(), database.connection_context():
        staff = {"health": make_staff("h1", "clerk", "health"), "comp": make_staff("c1", "clerk", "compensation")}
        ids = [Payout.get(Payout.request == complete(staff, amount=amount).id).id for amount in ("1250.500", "300")]

    def walk(page):
        sign_in(page, live_server.url, "supervisor1")
        use_language(page, lang)
        with page.expect_navigation():
            page.click(".site-header nav a[href$='/payouts/']")
        check_page(page, lang)
        page.check(f"#pick-{ids[0]}")
        page.check(f"#pick-{ids[1]}")
        expect(page.locator("#payout-selection")).to_contain_text("1,550.500")
        check_page(page, lang)
        with page.expect_navigation():
            page.click("button[name=decision][value=approve]")
        check_page(page, lang)  # the password page
        page.fill("input[type=password]", "demo")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        check_page(page, lang)
        page.check(f"#pick-{ids[0]}")
        with page.expect_navigation():
            page.click("button[name=decision][value=approve]")
        check_page(page, lang)
        expect(page.locator(f"#payout-row-{ids[0]}")).to_have_count(0)  # approved: off the pending list

    on_own_thread(walk)
    with app.app_context(), database.connection_context():
        assert Payout.get_by_id(ids[0]).status == "approved" and Payout.get_by_id(ids[1]).status == "pending"
