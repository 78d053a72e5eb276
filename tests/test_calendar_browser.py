"""An administrator enters a public holiday in Arabic (refused first without its English name, the error beside the
field), sees it in the year's list, looks at the reference data and adds a bank file layout (refused first for an
unknown column); axe-core checks every page on the way."""
import datetime as dt

import pytest
from playwright.sync_api import expect

from intranet.db import database
from intranet.models.calendar import Holiday
from intranet.payouts import bank_profiles
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
        # a bank file layout: an unknown column is refused beside its field, then added (issue 20)
        with page.expect_navigation():
            page.click("a[href$='/admin/reference/']")
        with page.expect_navigation():
            page.click("#bank-profiles a[href$='/bank-profiles/']")
        check_page(page)
        page.fill("#add-code", "qnb")
        page.fill("#add-label", "مصرف قطر الوطني")
        page.fill("#add-columns", "iban, amount, swift")
        page.select_option("#add-delimiter", "semicolon")
        with page.expect_navigation():
            page.click("#bank-profile-add button[type=submit]")
        check_page(page)
        expect(page.locator("#add-columns-error")).to_contain_text("swift")
        page.fill("#add-columns", "iban, amount")
        with page.expect_navigation():
            page.click("#bank-profile-add button[type=submit]")
        check_page(page)
        expect(page.locator("#bank-profile-rows")).to_contain_text("مصرف قطر الوطني")

    on_own_thread(walk)
    with app.app_context(), database.connection_context():
        holiday = Holiday.get()
        assert (holiday.starts_on, holiday.ends_on, holiday.name_en) == (dt.date(year, 12, 18),) * 2 + ("National Day",)
        assert bank_profiles.get("qnb") == bank_profiles.BankProfile("qnb", "مصرف قطر الوطني", ("iban", "amount"), ";")
