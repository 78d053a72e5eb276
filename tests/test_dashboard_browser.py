"""A supervisor opens the dashboard, reads the charts' numbers, clicks a clerk's overdue count and lands on the
queue filtered to exactly those items; axe-core checks every page, in Arabic and in English."""
import pytest
from playwright.sync_api import expect

from tests.browser import check_page, on_own_thread, sign_in, use_language
from tests.test_dashboard import late  # noqa: F401  (open items, two of them overdue and held by one clerk)

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_overdue_count_opens_the_filtered_queue(app, live_server, late, lang):  # noqa: F811
    def walk(page):
        sign_in(page, live_server.url, "supervisor1")
        use_language(page, lang)
        with page.expect_navigation():
            page.click(".site-header nav a[href$='/dashboard/']")
        check_page(page, lang)
        expect(page.locator("#glance .overdue dd")).to_have_text("2")
        expect(page.locator("figure.chart svg[role=img]")).to_have_count(5)
        # every chart has a visible title and names its axes in the reader's language
        words = {"en": ("Received and completed per day", ["Open items", "Days since received"]),
                 "ar": ("الوارد والمنجز في كل يوم", ["الطلبات المفتوحة", "الأيام منذ الاستلام"])}[lang]
        expect(page.locator("figure.chart figcaption")).to_have_count(5)
        expect(page.locator("figure.chart figcaption").first).to_have_text(words[0])
        expect(page.locator("#chart-ages .chart-axis-title")).to_have_text(words[1])
        page.locator("figure.chart details summary").first.click()  # the numbers behind the trend chart
        check_page(page, lang)
        link = page.locator(f"#clerk-{late['clerk']}-health a.overdue-link")
        link.focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        check_page(page, lang)
        expect(page.locator("#clerk-filter")).to_be_visible()
        expect(page.locator("[id^=request-row-]")).to_have_count(1)
        expect(page.locator(f"#request-row-{late['ids'][0]}")).to_be_visible()
        page.goto(f"{live_server.url}/dashboard/?period=month")
        check_page(page, lang)

    on_own_thread(walk)
