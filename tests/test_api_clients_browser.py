"""An administrator adds a portal client, copies its token from the one page that shows it, then revokes it from
the keyboard; axe-core checks every page on the way, in Arabic and in English."""
import json

import pytest
from playwright.sync_api import expect

from intranet.db import database
from intranet.intake import clients
from intranet.models import ApiClient, InboxEntry
from tests.browser import check_page, on_own_thread, sign_in, use_language

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_admin_creates_a_client_sees_the_token_once_and_revokes_it(app, live_server, lang):
    def walk(page):
        sign_in(page, live_server.url, "admin1")
        use_language(page, lang)
        with page.expect_navigation():
            page.click(".site-header nav a[href$='/admin/portal-clients/']")
        check_page(page, lang)

        # a mistake first: the error is next to its field, and the page stays clean
        page.fill("#name", "")
        with page.expect_navigation():
            page.click("#new-client-form button[type=submit]")
        check_page(page, lang)
        expect(page.locator("#name-error")).to_be_visible()
        expect(page.locator("#name")).to_be_focused()

        page.keyboard.type("Portal · البوابة الوطنية")
        page.fill("#webhook_url", "https://portal.example/hooks/diwan")
        page.check("#sign_requests")
        with page.expect_navigation():
            page.click("#new-client-form button[type=submit]")
        check_page(page, lang)
        token = page.input_value("#new-token")
        expect(page.locator("#new-token")).to_be_focused()
        expect(page.locator("#new-signing-secret")).to_be_visible()
        expect(page.locator("#new-webhook-secret")).to_be_visible()
        tokens.append(token)

        with page.expect_navigation():
            page.click("main a.button.primary")
        check_page(page, lang)
        assert token not in page.content()
        # revoke from the keyboard: tick the confirmation, then the button
        page.focus("#confirm")
        page.keyboard.press("Space")
        page.keyboard.press("Tab")
        expect(page.locator("#revoke-form button[type=submit]")).to_be_focused()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        check_page(page, lang)
        expect(page.locator("#flashes .flash-success")).to_be_visible()
        expect(page.locator("#revoke-form")).to_have_count(0)

        with page.expect_navigation():
            page.click("main a[href$='/admin/portal-clients/']")
        check_page(page, lang)
        assert token not in page.content()
        expect(page.locator("#clients-table tbody tr")).to_have_count(1)
        expect(page.locator("#clients-table tbody tr strong.error")).to_be_visible()  # revoked

        with app.app_context(), database.connection_context():
            entry = InboxEntry.create(client=ApiClient.get().id, payload=b'{"name": "<script>alert(1)</script>\xff"}',
                                      status="rejected", response_status=422,
                                      errors=json.dumps([{"field": "citizen.phone", "message": "invalid"}]))
        page.goto(f"{live_server.url}/admin/portal-clients/{entry.client_id}?status=rejected")
        check_page(page, lang)
        with page.expect_navigation():
            page.click(f"#inbox-row-{entry.id} a")
        check_page(page, lang)
        expect(page.locator("#payload")).to_contain_text("<script>alert(1)</script>")
        expect(page.locator("#entry-errors")).to_contain_text("citizen.phone")

    tokens = []
    on_own_thread(walk)
    with app.app_context(), database.connection_context():
        row = ApiClient.get()
        assert row.token_hash == clients.token_hash(tokens[0]) and row.revoked_at is not None
        assert row.signing_secret and row.webhook_url == "https://portal.example/hooks/diwan"
        assert clients.authenticate(f"Bearer {tokens[0]}") is None
