"""A supervisor reads the statistics, changes the range from the keyboard (a quick choice, then typed dates, then a
range that is refused) and downloads a table as CSV; axe-core checks every state, in Arabic and in English."""
import csv
import datetime as dt
import io

import pytest
from playwright.sync_api import expect

from intranet.db import database
from intranet.models import Governorate
from intranet.stats import figures
from tests.browser import check_page, on_own_thread, sign_in, use_language
from tests.factories import make_citizen, make_request, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_supervisor_changes_the_range_and_downloads_a_table(app, live_server, lang):
    with app.test_request_context(), database.connection_context():
        today = figures.local_today()
        boss = make_staff("boss", "supervisor", None)
        for code, channel in (("doha", "walk_in"), ("doha", "electronic"), ("rayyan", "walk_in")):
            citizen = make_citizen(governorate=Governorate.get(Governorate.code == code))
            make_request("health_care", actor=boss, citizen=citizen, channel=channel)
    doha = "الدوحة" if lang == "ar" else "Doha"

    def walk(page):
        sign_in(page, live_server.url, "supervisor1")
        use_language(page, lang)
        page.goto(f"{live_server.url}/stats/")
        check_page(page, lang)
        expect(page.locator("#governorates-table tfoot td").first).to_have_text("3")
        expect(page.locator("figure.chart svg[role=img]")).to_have_count(2)

        page.locator(".subnav a").first.focus()  # "today", from the keyboard
        with page.expect_navigation():
            page.keyboard.press("Enter")
        check_page(page, lang)
        expect(page.locator(".subnav a[aria-current=page]")).to_have_count(1)
        expect(page.locator("#from")).to_have_value(today.isoformat())
        expect(page.locator("#governorates-table tbody tr").first).to_contain_text(doha)
        expect(page.locator("#governorates-table tbody tr").first.locator("td").first).to_have_text("2")

        page.fill("#from", today.isoformat())  # the last day before the first: refused, said next to the field
        page.fill("#to", (today - dt.timedelta(days=1)).isoformat())
        with page.expect_navigation():
            page.locator("#to").press("Enter")
        check_page(page, lang)
        expect(page.locator("#to-error")).to_be_visible()
        expect(page.locator("[role=alert]")).to_be_visible()
        expect(page.locator("#governorates-table")).to_have_count(0)

        page.fill("#from", today.isoformat())
        page.fill("#to", today.isoformat())
        page.focus("#to")
        page.keyboard.press("Tab")  # the department
        page.keyboard.press("Tab")  # the button
        with page.expect_navigation():
            page.keyboard.press("Enter")
        check_page(page, lang)
        expect(page.locator("#governorates-table tfoot td").first).to_have_text("3")
        with page.expect_download() as download:
            page.locator("#by-governorate a[href*='.csv']").click()
        assert download.value.suggested_filename == f"governorates-{today}-{today}.csv"
        with open(download.value.path(), encoding="utf-8-sig") as f:
            rows = list(csv.reader(io.StringIO(f.read())))
        assert rows[1][:2] == [doha, "2"] and rows[-1][1] == "3"

    on_own_thread(walk)
