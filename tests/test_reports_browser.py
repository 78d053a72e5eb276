"""A supervisor opens the archive of printed documents and the daily summary's print view in Chromium, in Arabic
and in English; axe-core checks every page."""
import datetime as dt

import pytest
from playwright.sync_api import expect

from intranet.db import database
from intranet.models.stats import ReportRequest
from intranet.reports import archive
from intranet.stats import figures as stats
from tests.browser import check_page, on_own_thread, sign_in, use_language
from tests.factories import make_request

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_a_supervisor_opens_the_archive_and_the_print_view(app, live_server, tmp_path, lang):
    app.config["REPORT_ARCHIVE_DIR"] = tmp_path / "reports"
    with app.test_request_context(), database.connection_context():
        make_request()
        yesterday = stats.local_today() - dt.timedelta(days=1)
        report = archive.produce("daily_summary", yesterday, lang)

    def walk(page):
        sign_in(page, live_server.url, "supervisor1")
        use_language(page, lang)
        page.goto(f"{live_server.url}/reports/")
        check_page(page, lang)
        expect(page.locator(f"#report-row-{report.id}")).to_be_visible()
        page.goto(f"{live_server.url}/reports/daily/{yesterday.isoformat()}?lang={lang}")
        check_page(page, lang)
        expect(page.locator("section.sheet")).to_have_count(report.pages)
        expect(page.locator(".site-header")).to_have_count(0)
        page.goto(f"{live_server.url}/reports/alert/{yesterday.isoformat()}?lang={lang}")
        check_page(page, lang)

    on_own_thread(walk)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_producing_a_pdf_updates_the_page_when_the_file_is_ready(app, live_server, tmp_path, monkeypatch, lang):
    app.config["REPORT_ARCHIVE_DIR"] = tmp_path / "reports"
    queued = []
    # the job is held back so that the page shows it waiting; the test then runs it, as the consumer would
    monkeypatch.setattr(archive, "enqueue", lambda task, request_id: queued.append(request_id))
    with app.test_request_context(), database.connection_context():
        make_request()
    yesterday = stats.local_today() - dt.timedelta(days=1)

    def walk(page):
        sign_in(page, live_server.url, "supervisor1")
        use_language(page, lang)
        page.goto(f"{live_server.url}/reports/")
        page.select_option("#produce-form select[name=kind]", "alert_statement")
        page.fill("#produce-form input[name=day]", yesterday.isoformat())
        page.select_option("#produce-form select[name=language]", lang)
        with page.expect_navigation():
            page.click("#produce-form button[type=submit]")
        status = page.locator("#produce-status")
        expect(status).to_have_attribute("hx-trigger", "every 2s")
        expect(status).to_have_attribute("data-state", "producing")
        check_page(page, lang)
        with app.test_request_context(), database.connection_context():
            asked = ReportRequest.get_by_id(queued[0])
            assert (asked.kind, asked.day, asked.language, asked.produced_at) == ("alert_statement", yesterday, lang,
                                                                                 None)
            report = archive.produce_asked(asked.id)
        expect(page.locator("#produced-file")).to_be_visible(timeout=6000)  # the next poll brings the link
        expect(status).not_to_have_attribute("hx-trigger", "every 2s")
        expect(status).to_have_attribute("data-state", "ready")
        expect(page.locator("#produced-file")).to_have_attribute("href", f"/reports/files/{report.id}")
        check_page(page, lang)
        page.wait_for_timeout(2500)  # no poll after the file is ready: the fragment stays as it is
        expect(status).to_have_attribute("data-state", "ready")

    on_own_thread(walk)
