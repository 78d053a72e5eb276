"""A clerk imports a file of electronic requests in Arabic and in English: upload, preview with per-row errors,
import from the keyboard, the progress bar polled until the report shows. axe-core checks every state."""
import pytest
from playwright.sync_api import expect

from intranet.db import database
from intranet.intake import import_files, imports
from intranet.models import Request
from tests.browser import check_page, on_own_thread, sign_in, use_language

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_upload_preview_import_and_report(app, live_server, tmp_path, monkeypatch, lang):
    import jobs.imports

    queued = []
    # the job is held back so that the page shows the bar; the test then runs it, as the consumer would
    monkeypatch.setattr(jobs.imports, "trigger", lambda batch_id, locale=None: queued.append((batch_id, locale)))
    with app.app_context(), database.connection_context():
        path = tmp_path / "portal-requests.csv"
        path.write_bytes(import_files.sample(7, bad=2, prefix=f"B{lang.upper()}"))

    def walk(page):
        sign_in(page, live_server.url, "supervisor1")  # rows of every type: see test_import_limits
        use_language(page, lang)
        page.goto(f"{live_server.url}/imports/")
        check_page(page, lang)
        page.set_input_files("#file", str(path))
        with page.expect_navigation():
            page.click("#upload-form button[type=submit]")
        check_page(page, lang)
        expect(page.locator("#preview-totals")).to_contain_text("7")
        expect(page.locator("#errors-table tbody tr")).to_have_count(2)
        expect(page.locator("#first-rows tbody tr")).to_have_count(7)

        page.focus("#run-form button")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        bar = page.locator("#import-progress-bar")
        expect(bar).to_be_visible()
        expect(page.locator("#import-status")).to_have_attribute("hx-trigger", "every 1s")
        check_page(page, lang)
        batch_id, locale = queued[0]
        assert locale == lang
        with app.test_request_context(), database.connection_context():
            assert imports.run(batch_id, locale) == {"imported": 5, "existing": 0, "failed": 0}
        expect(page.locator("#report-totals")).to_be_visible(timeout=5000)  # the next poll brings the report
        expect(page.locator("#import-status")).not_to_have_attribute("hx-trigger", "every 1s")
        expect(page.locator("#report-totals")).to_contain_text("5")
        expect(page.locator("#errors-table tbody tr")).to_have_count(2)
        check_page(page, lang)
        page.goto(f"{live_server.url}/imports/")
        check_page(page, lang)
        expect(page.locator(f"#batch-row-{batch_id}")).to_contain_text("5")

    on_own_thread(walk)
    with app.app_context(), database.connection_context():
        assert Request.select().where(Request.channel == "electronic").count() == 5
