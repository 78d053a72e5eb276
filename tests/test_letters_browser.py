"""A Citizens Affairs clerk writes a letter to a ministry in headless Chromium, in Arabic and in English: drafts it
from the request's panel, marks it sent (the outgoing reference appears), opens its printed PDF, records the
ministry's reply with its scan, then finds an overdue letter on the list of letters awaiting a reply from the header.
axe-core checks every page and every swap."""
import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from intranet.db import database
from intranet.models.letters import MinistryLetter
from intranet.stats.figures import local_today
from tests.browser import TINY_PDF, check_page, on_own_thread, sign_in, use_language
from tests.factories import make_request, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

MINISTRY = "وزارة العمل"
LATE_MINISTRY = "وزارة التربية والتعليم"


@pytest.fixture
def letters(app):
    """A ministry-letter request with no letter yet, and another whose letter was sent 40 days ago (reply due 30)."""
    from intranet import workflow

    with app.test_request_context(), database.connection_context():
        fresh = make_request("ministry_letter", data={"ministry": MINISTRY, "letter_subject": "تصريح عمل"})
        late = make_request("ministry_letter", data={"ministry": LATE_MINISTRY, "letter_subject": "معادلة شهادة"})
        clerk = make_staff("citizens-helper", "clerk", "citizens")
        letter = workflow.draft_letter(clerk, late, None, LATE_MINISTRY, "معادلة شهادة", "نص الكتاب")
        letter = workflow.send_letter(clerk, late, letter.version)
        sent_on = local_today() - dt.timedelta(days=40)
        MinistryLetter.update(sent_on=sent_on, reply_due=sent_on + dt.timedelta(days=30)).where(
            MinistryLetter.id == letter.id).execute()
        return {"fresh": fresh.tracking_number, "late_reference": letter.reference}


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_draft_send_print_reply_and_the_list(app, live_server, letters, lang):
    def walk(page):
        sign_in(page, live_server.url, "citizens1")
        use_language(page, lang)
        page.goto(f"{live_server.url}/requests/{letters['fresh']}")
        check_page(page, lang)
        section = page.locator("#letter")
        expect(page.locator("#letter-ministry")).to_have_value(MINISTRY)

        page.fill("#letter-body", "نرجو التكرم بإصدار تصريح العمل للمواطن.\nمع الشكر")
        section.locator("form[action$='/draft'] button[type=submit]").click()
        expect(section.locator("#letter-print-ar")).to_be_visible()
        expect(section.locator("form[action$='/send']")).to_be_visible()
        check_page(page, lang)

        section.locator("form[action$='/send'] button[type=submit]").click()
        expect(page.locator("#letter-reference")).to_contain_text(re.compile(r"OUT/\d{4}/\d{6}"))
        expect(page.locator("#letter-body")).to_have_count(0)  # a letter sent is not edited any more
        check_page(page, lang)
        reference = page.locator("#letter-reference").inner_text().strip()

        href = page.locator(f"#letter-print-{lang}").get_attribute("href")
        printed = page.request.get(f"{live_server.url}{href}")
        assert printed.status == 200 and printed.headers["content-type"] == "application/pdf"
        assert printed.body()[:5] == b"%PDF-"

        page.fill("#letter-reply-reference", "و ع/77")
        page.fill("#letter-reply-summary", "صدر التصريح المطلوب")
        page.set_input_files("#letter-reply-attachment", files=[
            {"name": "reply.pdf", "mimeType": "application/pdf", "buffer": TINY_PDF}])
        page.locator("#letter form[action$='/replies'] button[type=submit]").click()
        expect(page.locator(".letter-replies")).to_contain_text("صدر التصريح المطلوب")
        expect(page.locator(".letter-replies a")).to_contain_text("reply.pdf")
        expect(page.locator(".timeline")).to_contain_text("و ع/77")
        check_page(page, lang)

        # the reply date cannot be in the future: the message comes in the person's language, nothing is swapped
        page.fill("#letter-reply-reference", "later")
        page.fill("#letter-reply-summary", "not yet")
        page.evaluate("document.getElementById('letter-received-on').removeAttribute('max')")
        page.fill("#letter-received-on", (local_today() + dt.timedelta(days=3)).isoformat())
        page.locator("#letter form[action$='/replies'] button[type=submit]").click()
        message = "لا يمكن أن يكون الرد قد ورد بعد اليوم" if lang == "ar" else "cannot have been received after today"
        expect(page.locator("#flashes")).to_contain_text(message)
        expect(page.locator("#letter-reply-summary")).to_have_value("not yet")
        check_page(page, lang)

        with page.expect_navigation():
            page.click(".site-header a[href='/letters/']")
        check_page(page, lang)
        table = page.locator("#letters-awaiting")
        expect(table).to_contain_text(letters["late_reference"])
        expect(table).to_contain_text(LATE_MINISTRY)
        expect(table.locator(".days-overdue")).to_contain_text("10")
        assert reference not in table.inner_text()  # answered: not awaiting
        page.select_option("#letter-filter-ministry", LATE_MINISTRY)
        with page.expect_navigation():
            page.click("#letter-filters button[type=submit]")
        expect(page.locator("#letters-awaiting")).to_contain_text(letters["late_reference"])
        check_page(page, lang)

    on_own_thread(walk)
