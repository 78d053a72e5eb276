"""A supervisor imports the bank's return file on a released batch (paid, failed and an unknown line), reads the
report and the reconciliation, then puts the failed payout back for batching after the password; axe-core
checks every page, in Arabic and in English."""
import pytest
from playwright.sync_api import expect

from intranet.db import database
from intranet.models import Notification
from intranet.models.payouts import BatchItem, Payout
from intranet.payouts import batches
from intranet.seed import seed_payouts
from tests.browser import check_page, on_own_thread, sign_in, use_language
from tests.factories import make_staff

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_return_file_report_reconciliation_and_put_back(app, live_server, tmp_path, lang):
    with app.test_request_context(), database.connection_context():
        boss = make_staff("boss3", "supervisor", None)
        ids = seed_payouts(3)
        batch = batches.create(boss, ids, "generic")
        batches.start_export(boss, batch.id, batch.version, True)
        assert batches.export(batch.id) == "released"
        items = list(BatchItem.select().where(BatchItem.batch == batch.id).order_by(BatchItem.seq))
    path = tmp_path / "bank-answer.csv"
    path.write_text("end_to_end,status,amount,reason\n"
                    f"{items[0].end_to_end},paid,{items[0].amount},\n"
                    f"{items[1].end_to_end},RJCT,{items[1].amount},IBAN closed\n"
                    f"{batch.reference}-999,paid,10.00,\n", encoding="utf-8")
    failed_id = items[1].payout_id

    def walk(page):
        sign_in(page, live_server.url, "supervisor1")
        use_language(page, lang)
        page.goto(f"{live_server.url}/payouts/batches/{batch.id}")
        check_page(page, lang)
        page.set_input_files("#return-file", str(path))
        with page.expect_navigation():
            page.click("#return-upload button[type=submit]")
        check_page(page, lang)
        expect(page.locator("#return-facts")).to_contain_text(batch.currency)
        expect(page.locator("#return-problems tbody tr")).to_have_count(1)  # the unknown line, reported
        expect(page.locator("#not-reconciled")).to_be_visible()  # one payout still awaits the bank's answer
        with page.expect_navigation():
            page.click(".subnav a[href$='/payouts/failed']")
        check_page(page, lang)
        expect(page.locator(f"#failed-row-{failed_id}")).to_contain_text("IBAN closed")
        page.check(f"#pick-{failed_id}")
        with page.expect_navigation():
            page.click("#failed-payouts button[type=submit]")
        check_page(page, lang)  # the password page, which carries the ticked payout
        expect(page.locator(f"#confirm-payout-{failed_id}")).to_have_count(1)
        page.fill("input[type=password]", "demo")
        with page.expect_navigation():
            page.keyboard.press("Enter")  # the password, then the payout put back: no second click
        check_page(page, lang)
        expect(page.locator(f"#failed-row-{failed_id}")).to_have_count(0)

    on_own_thread(walk)
    with app.app_context(), database.connection_context():
        statuses = {p.id: p.status for p in Payout.select()}
        assert [statuses[i] for i in ids] == ["paid", "approved", "exported"]
        assert Notification.select().where((Notification.event == "payout_sent") & (Notification.channel == "sms")
                                           ).count() == 1
