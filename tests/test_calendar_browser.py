"""An administrator enters a public holiday in Arabic (refused first without its English name, the error beside the
field), sees it in the year's list, and looks at the reference data; axe-core checks every page on the way."""
import datetime as dt

import pytest
from playwright.sync_api import expect

from intranet.db import database
from intranet.models.calendar import Holiday
from tests.browser import check_page, on_own_thread, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


def test_admin_adds_a_holiday_and_reads_the_reference_data(app, live_server):
    year = dt.date.today().year

    def walk(page):
        sign_in(page, live_server.url, "admin1")
        with page.expect_navigation():
            page.click(".site-header nav a[href$='/admin/calendar/']")
        check_page(page)
        page.fill("#holiday-name_ar", "اليوم الوطني")
        page.fill("#holiday-starts_on", f"{year}-12-18")
        page.locator("#holiday-name_en").evaluate("field => field.removeAttribute('required')")
        with page.expect_navigation():
            page.click("#holiday-add button[type=submit]")
        check_page(page)
        expect(page.locator("#holiday-name_en-error")).to_contain_text("اكتب الاسم بالإنجليزية")
        expect(page.locator("#holiday-name_ar")).to_have_value("اليوم الوطني")  # what was typed stays
        page.fill("#holiday-name_en", "National Day")
        with page.expect_navigation():
            page.click("#holiday-add button[type=submit]")
        check_page(page)
        expect(page.locator("#holidays tbody tr")).to_have_count(1)
        expect(page.locator("#holidays")).to_contain_text("اليوم الوطني")
        with page.expect_navigation():
            page.click(".site-header nav a[href$='/admin/reference/']")
        check_page(page)
        with page.expect_navigation():
            page.click("#reference-kinds a[href$='/inquiry_subject/']")
        check_page(page)
        expect(page.locator("#reference-rows tbody tr").first).to_be_visible()

    on_own_thread(walk)
    with app.app_context(), database.connection_context():
        holiday = Holiday.get()
        assert (holiday.starts_on, holiday.ends_on, holiday.name_en) == (dt.date(year, 12, 18),) * 2 + ("National Day",)
