"""An administrator edits the Arabic SMS of "returned for correction": the live preview follows the typing with
its segment count and warns over the limit, an unknown placeholder is refused, the wording is saved; axe-core
checks every state of the page, in Arabic and in English."""
import pytest
from playwright.sync_api import expect

from intranet.db import database
from intranet.models import MessageTemplate
from intranet.notify import wording
from tests.browser import check_page, on_own_thread, sign_in, use_language

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

SHORT = "طلبكم {tracking_number}: {missing}. {reason}."
LONG_TAIL = " يرجى إحضار المستندات إلى مكتب الاستقبال أو رفعها عبر البوابة الإلكترونية مع ذكر رقم الطلب" * 3


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_admin_edits_a_template_and_sees_the_preview_with_the_segment_count(app, live_server, lang):
    with app.test_request_context():
        filled = wording.render(wording.parse(SHORT + LONG_TAIL)[0], wording.sample_context("returned", "ar"))
        long_segments = wording.sms_info(filled)["segments"]
    assert long_segments > app.config["SMS_MAX_SEGMENTS"]

    def walk(page):
        sign_in(page, live_server.url, "admin1")
        use_language(page, lang)
        with page.expect_navigation():
            page.click(".site-header nav a[href$='/admin/messages/']")
        check_page(page, lang)
        with page.expect_navigation():
            page.click("a[href$='/admin/messages/returned/sms/ar']")
        check_page(page, lang)
        body, segments, preview = page.locator("#body"), page.locator("#sms-segments"), page.locator("#preview-body")
        expect(body).to_have_attribute("dir", "rtl")
        expect(preview).to_have_attribute("dir", "rtl")
        expect(segments).to_contain_text("2")  # the default, filled in with the sample, takes two UCS-2 parts
        expect(segments).to_contain_text("67")

        # typing: the preview follows, one segment, then over the limit with a visible warning
        body.fill("")
        body.press_sequentially(SHORT, delay=5)
        expect(preview).to_contain_text("طلبكم \u2066EL-2500417-3\u2069: تقرير طبي حديث")  # isolated: i18n.ltr
        expect(segments).to_contain_text("70")
        expect(page.locator("#sms-over-limit")).to_have_count(0)
        check_page(page, lang)
        body.press_sequentially(LONG_TAIL[:40], delay=2)
        body.fill(SHORT + LONG_TAIL)  # the rest at once: fill fires the same input event
        expect(page.locator("#sms-over-limit")).to_be_visible()
        expect(segments).to_contain_text(str(long_segments))
        expect(page.locator("#preview-status")).to_contain_text("3")  # the limit, told to screen readers too
        check_page(page, lang)

        # an unknown placeholder: shown in the preview, refused on save beside the field, nothing saved
        body.fill(SHORT + " {bogus}")
        expect(page.locator("#preview-errors")).to_contain_text("{bogus}")
        with page.expect_navigation():
            page.click("#template-form button[type=submit]")
        check_page(page, lang)
        expect(page.locator("#body-error")).to_contain_text("{bogus}")
        expect(body).to_have_value(SHORT + " {bogus}")
        expect(body).to_be_focused()

        body.fill(SHORT)
        with page.expect_navigation():
            page.click("#template-form button[type=submit]")
        check_page(page, lang)
        expect(page.locator("#flashes .flash")).to_be_visible()
        expect(page.locator("#reset-form")).to_be_visible()
        expect(body).to_have_value(SHORT)
        with page.expect_navigation():
            page.click("main a[href$='/admin/messages/']")
        check_page(page, lang)
        expect(page.locator("#template-returned-sms-ar strong")).to_be_visible()  # customised

    on_own_thread(walk)
    with app.app_context(), database.connection_context():
        row = MessageTemplate.get()
        assert (row.event, row.channel, row.language, row.body) == ("returned", "sms", "ar", SHORT)
        assert row.updated_by.username == "admin1"
