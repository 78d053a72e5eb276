"""A supervisor ticks payouts (the ticked line counts only what is ticked, nothing when nothing is), approves,
re-enters the password and the approval completes at once, on the same filtered list; the audit trail reads as
labels and values, its intact chain as a success, and fits a 1366 px screen. axe-core checks every page, in Arabic
and in English."""
import pytest
from playwright.sync_api import expect

from intranet.db import database
from intranet.models.payouts import Payout
from intranet.payouts import audit
from tests.browser import check_page, on_own_thread, sign_in, use_language
from tests.factories import make_staff
from tests.test_payouts import complete

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

NOTHING_TICKED = {"ar": "لم تُحدَّد أي دفعة.", "en": "No payout ticked."}
OVERFLOW = "document.documentElement.scrollWidth"


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_supervisor_approves_after_re_entering_the_password(app, live_server, lang):
    with app.test_request_context(), database.connection_context():
        staff = {"health": make_staff("h1", "clerk", "health"), "comp": make_staff("c1", "clerk", "compensation")}
        ids = [Payout.get(Payout.request == complete(staff, amount=amount).id).id
               for amount in ("1250.50", "300", "3000")]

    def walk(page):
        sign_in(page, live_server.url, "supervisor1")
        use_language(page, lang)
        with page.expect_navigation():
            page.click(".site-header nav a[href$='/payouts/']")
        with page.expect_navigation():
            page.fill("input[name=max]", "5000")
            page.click("form.filters button[type=submit]")
        check_page(page, lang)
        selection = page.locator("#payout-selection")
        expect(selection).to_have_text(NOTHING_TICKED[lang])  # was: the filters' count and sum, nothing ticked
        page.check(f"#pick-{ids[0]}")
        expect(selection).to_contain_text("1,250.50 QAR")
        page.check(f"#pick-{ids[1]}")
        expect(selection).to_contain_text("1,550.50 QAR")
        page.uncheck(f"#pick-{ids[0]}")
        expect(selection).to_contain_text("300.00 QAR")
        page.uncheck(f"#pick-{ids[1]}")
        expect(selection).to_have_text(NOTHING_TICKED[lang])
        page.check(f"#pick-{ids[0]}")
        page.check(f"#pick-{ids[1]}")
        expect(selection).to_contain_text("1,550.50 QAR")
        check_page(page, lang)
        with page.expect_navigation():
            page.click("button[name=decision][value=approve]")
        check_page(page, lang)  # the password page, with what will be approved
        expect(page.locator("#password-again tbody tr")).to_have_count(2)
        expect(page.locator("#password-again")).to_contain_text("1,550.50 QAR")
        page.fill("input[type=password]", "not-the-password")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        check_page(page, lang)  # the same prompt, the same payouts, an error
        expect(page.locator("#password-again [role=alert]")).to_be_visible()
        expect(page.locator("#password-again tbody tr")).to_have_count(2)
        page.fill("input[type=password]", "demo")
        with page.expect_navigation():
            page.keyboard.press("Enter")  # the password, and the approval completes: no second click
        check_page(page, lang)
        assert "max=5000" in page.url  # back on the same filtered list
        expect(page.locator(f"#payout-row-{ids[0]}")).to_have_count(0)  # approved: off the pending list
        expect(page.locator(f"#payout-row-{ids[1]}")).to_have_count(0)
        expect(page.locator(f"#payout-row-{ids[2]}")).to_have_count(1)
        expect(page.locator(".flash-success")).to_be_visible()
        expect(selection).to_have_text(NOTHING_TICKED[lang])

    on_own_thread(walk)
    with app.app_context(), database.connection_context():
        assert [Payout.get_by_id(i).status for i in ids] == ["approved", "approved", "pending"]


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_audit_trail_reads_plainly_and_fits_the_screen(app, live_server, lang):
    with app.test_request_context(), database.connection_context():
        staff = {"health": make_staff("h1", "clerk", "health"), "comp": make_staff("c1", "clerk", "compensation")}
        complete(staff, amount="623708.82")
        audit.append(None, "bank_return_imported", None, batch="DIWAN-20261123-000001", bank_return=1,
                     filename="return-file-from-the-bank-" + "x" * 150 + ".csv", sha256="ab" * 32, lines=3,
                     paid=2, failed=1, already=0, unknown=0, conflicts=0, paid_total="1550.5", failed_total="70000")
        audit.append(None, "payout_rejected", None, reason="سبب طويل " * 40, amount="300")

    def walk(page):
        page.set_viewport_size({"width": 1366, "height": 900})
        sign_in(page, live_server.url, "supervisor1")
        use_language(page, lang)
        page.goto(f"{live_server.url}/payouts/audit/")
        check_page(page, lang)
        table = page.locator("table.audit")
        expect(table).to_contain_text("623,708.82 QAR")
        expect(table).not_to_contain_text("{")  # no JSON
        expect(table).not_to_contain_text("payout_created")  # the event's name, not its code
        assert page.evaluate(OVERFLOW) <= 1366, page.evaluate(OVERFLOW)
        with page.expect_navigation():
            page.click("form[action$='/payouts/audit/verify'] button")
        check_page(page, lang)
        verdict = page.locator("#audit-verdict p")
        expect(verdict).to_have_class("flash flash-success verdict-intact")
        color = verdict.evaluate("el => getComputedStyle(el).color")
        assert color == "rgb(30, 107, 53)", color  # the success green (--ok), not the error red
        assert page.evaluate(OVERFLOW) <= 1366, page.evaluate(OVERFLOW)

    on_own_thread(walk)
