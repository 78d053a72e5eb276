"""The second factor in the browser, in Arabic and in English: a supervisor's (an administrator's) first sign-in
enrols (the QR code loads under the Content-Security-Policy, the key is shown as text; the code is computed here from
that text, as an authenticator app would), the recovery codes are shown once, and the next sign-in asks a code;
axe-core checks every page on the way."""
import time

import pyotp
import pytest
from playwright.sync_api import expect

from tests.browser import check_page, on_own_thread

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


@pytest.mark.parametrize(("lang", "username"), [("ar", "supervisor1"), ("en", "admin1")])
def test_enrol_then_sign_in_with_a_code(app, live_server, lang, username):
    app.config["MFA_ROLES"] = ("supervisor", "admin")  # the suite's `app` has it off

    def password_step(page):
        page.goto(f"{live_server.url}/login")
        if page.locator("html").get_attribute("lang") != lang:  # the language stays after signing out
            with page.expect_navigation():
                page.click("button[name=lang][value=en]")
        check_page(page, lang)
        page.fill("#username", username)
        page.fill("#password", "demo")
        with page.expect_navigation():
            page.click("main button[type=submit]")

    def walk(page):
        password_step(page)
        assert page.url.endswith("/login/enrol"), page.url
        check_page(page, lang)
        expect(page.locator(".site-header .who")).to_have_count(0)  # nobody is signed in yet
        qr = page.locator("img.mfa-qr")
        assert qr.evaluate("img => img.complete && img.naturalWidth > 0")  # the data: URI is allowed and drawn
        secret = page.locator("#mfa-secret").inner_text().replace(" ", "")
        assert len(secret) == 32

        page.fill("#code", "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
        with page.expect_navigation():
            page.click("main button[type=submit]")
        check_page(page, lang)  # the error, announced
        expect(page.locator("main .alert")).to_be_visible()

        step = int(time.time()) // 30
        page.fill("#code", pyotp.TOTP(secret).generate_otp(step))
        with page.expect_navigation():
            page.click("main button[type=submit]")
        check_page(page, lang)
        expect(page.locator(".recovery-codes li")).to_have_count(10)
        with page.expect_navigation():
            page.click("#continue")
        check_page(page, lang)
        expect(page.locator(".site-header .who")).to_be_visible()

        with page.expect_navigation():
            page.click("form[action$='/logout'] button")
        password_step(page)
        assert page.url.endswith("/login/code"), page.url
        check_page(page, lang)
        page.fill("#code", pyotp.TOTP(secret).generate_otp(step + 1))  # a later step than the one used
        with page.expect_navigation():
            page.click("main button[type=submit]")
        check_page(page, lang)
        expect(page.locator(".site-header .who")).to_be_visible()

    on_own_thread(walk)
