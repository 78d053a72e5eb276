"""Sessions in the browser: an administrator finds a person's sessions and ends one; a person signs out
everywhere from their own sessions page; axe-core checks each page in Arabic and English."""
import pytest
from playwright.sync_api import expect

from tests.browser import check_page, on_own_thread, sign_in, use_language
from tests.conftest import Auth

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_an_administrator_ends_a_session_and_a_person_signs_out_everywhere(app, live_server, lang):
    clerk = Auth(app.test_client())
    clerk.login("health1")

    def walk(page):
        sign_in(page, live_server.url, "admin1")
        use_language(page, lang)
        with page.expect_navigation():
            page.click(".site-header nav a[href$='/admin/sessions/']")
        check_page(page, lang)
        expect(page.locator("#people-table")).to_contain_text("health1")
        page.fill("#session-username", "health1")
        with page.expect_navigation():
            page.click("form[role=search] button")
        check_page(page, lang)
        expect(page.locator("#sessions-table tbody tr")).to_have_count(1)
        with page.expect_navigation():
            page.click("#sessions-table button")
        check_page(page, lang)
        expect(page.locator(".flash-success")).to_be_visible()
        expect(page.locator("#sessions-table")).to_have_count(0)

        with page.expect_navigation():
            page.click(".site-header a.who")
        check_page(page, lang)
        expect(page.locator("#sessions-table tbody tr")).to_have_count(1)
        with page.expect_navigation():
            page.click("#end-all-mine button")
        check_page(page, lang)
        expect(page.locator(".flash-success")).to_be_visible()
        assert page.url.endswith("/login")

    on_own_thread(walk)
    assert clerk.client.get("/queues/health").status_code == 302
