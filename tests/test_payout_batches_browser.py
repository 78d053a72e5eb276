"""A supervisor puts approved payouts in a batch, exports it after re-entering the password, watches the bar
until the files show with their SHA-256, and downloads the pain.001; axe-core checks every state, in Arabic and
in English."""
import pytest
from playwright.sync_api import expect

from intranet.db import database
from intranet.models.payouts import ExportDownload, ExportFile, PayoutBatch
from intranet.payouts import batch_views, batches
from intranet.seed import seed_payouts
from tests.browser import check_page, on_own_thread, sign_in, use_language

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_batch_export_progress_and_download(app, live_server, monkeypatch, lang):
    queued = []
    # the job is held back so that the page shows the bar; the test then runs it, as the consumer would
    monkeypatch.setattr(batch_views, "enqueue", lambda task, batch_id: queued.append(batch_id))
    with app.test_request_context(), database.connection_context():
        ids = seed_payouts(3)

    def walk(page):
        sign_in(page, live_server.url, "supervisor1")
        use_language(page, lang)
        page.goto(f"{live_server.url}/payouts/?status=approved")
        check_page(page, lang)
        page.check(f"#pick-{ids[0]}")
        page.check(f"#pick-{ids[2]}")
        page.focus("#batch-maker button[value=ticked]")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        check_page(page, lang)
        expect(page.locator("#batch-items tbody tr")).to_have_count(2)
        with page.expect_navigation():
            page.click("#export-form button[type=submit]")
        check_page(page, lang)  # the password page
        page.fill("input[type=password]", "demo")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        with page.expect_navigation():
            page.click("#export-form button[type=submit]")  # back on the batch: export, now for real
        bar = page.locator("#export-progress-bar")
        expect(bar).to_be_visible()
        expect(page.locator("#export-status")).to_have_attribute("hx-trigger", "every 1s")
        check_page(page, lang)
        assert len(queued) == 1
        with app.test_request_context(), database.connection_context():
            assert batches.export(queued[0]) == "released"
            sha = ExportFile.get(ExportFile.kind == "pain001").sha256
        expect(page.locator("#export-files")).to_be_visible(timeout=5000)  # the next poll brings the files
        expect(page.locator("#export-status")).not_to_have_attribute("hx-trigger", "every 1s")
        expect(page.locator("#file-pain001")).to_contain_text(sha)
        check_page(page, lang)
        with page.expect_download() as download:
            page.click("#file-pain001 a")
        assert download.value.suggested_filename.endswith(".xml")
        page.reload()
        expect(page.locator("#downloads tbody tr")).to_have_count(1)
        check_page(page, lang)

    on_own_thread(walk)
    with app.app_context(), database.connection_context():
        assert PayoutBatch.get().status == "released" and ExportDownload.select().count() == 1
