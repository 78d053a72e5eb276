"""An inquiry in Arabic and in English (issue 16): entered at the desk with its subject and routed to Retirement, sent
on by the pension clerk to Health Affairs with a reason, answered there; the answer's SMS is read at the loopback
gateway in the citizen's language. axe-core checks every page on the way."""
import re

import pytest
from playwright.sync_api import expect

from intranet.db import database
from intranet.models import HistoryEntry, Request
from intranet.notify import delivery
from tests.browser import check_page, on_own_thread, use_language
from tests.factories import make_citizen

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

ANSWERS = {"ar": "تُصرف منحة الرعاية الصحية خلال عشرة أيام عمل من الموافقة",
           "en": "The health-care grant is paid within ten working days of approval"}


def sign_in(page, base_url, username, lang):
    """Sign in, then read the pages in `lang` (the language chosen stays with the browser after signing out)."""
    page.goto(f"{base_url}/login")
    page.fill("#username", username)
    page.fill("#password", "demo")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    if page.locator("html").get_attribute("lang") != lang:
        use_language(page, lang)
    check_page(page, lang)


def sign_out(page, lang):
    with page.expect_navigation():
        page.click("form[action$='/logout'] button")
    check_page(page, lang)  # the sign-in page, still in the language chosen


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_an_inquiry_routed_transferred_and_answered(app, live_server, gateway, lang):
    with app.app_context(), database.connection_context():
        citizen = make_citizen(full_name="مريم خالد السليطي", preferred_language=lang, phone="+97455000333")
    found = {}

    def walk(page):
        sign_in(page, live_server.url, "reception1", lang)
        page.goto(f"{live_server.url}/reception/?national_id={citizen.national_id}")
        check_page(page, lang)
        page.select_option("#subject", value="pension")
        page.fill("#question", "When is the health-care grant paid?" if lang == "en" else "متى تُصرف المنحة العلاجية؟")
        with page.expect_navigation():
            page.click("button[name=route][value='1']")
        match = re.search(r"/requests/(\d\d-\d{7}-\d)$", page.url)
        assert match, page.url
        found["number"] = match.group(1)
        check_page(page, lang)
        expect(page.locator("dl.facts").first).to_contain_text("Retirement" if lang == "en" else "التقاعد")
        sign_out(page, lang)

        # the pension clerk sees it is about the health-care grant: on to Health Affairs, with the reason
        sign_in(page, live_server.url, "pension1", lang)
        page.goto(f"{live_server.url}/requests/{found['number']}")
        check_page(page, lang)
        page.click("#transfer summary")
        check_page(page, lang)
        page.click("#transfer button[type=submit]")  # no department, no reason: refused, translated, nothing changes
        expect(page.locator("#flashes")).to_contain_text("Write why" if lang == "en" else "سبب إحالته")
        page.select_option("#transfer-department", label="Health Affairs" if lang == "en" else "الشؤون الصحية")
        page.fill("#transfer-reason", "About the health-care grant" if lang == "en" else "السؤال عن المنحة العلاجية")
        with page.expect_navigation():
            page.click("#transfer button[type=submit]")
        check_page(page, lang)
        expect(page.locator("#flashes")).to_contain_text(found["number"])
        sign_out(page, lang)

        # Health Affairs answers it: the text goes to the citizen
        sign_in(page, live_server.url, "health1", lang)
        page.goto(f"{live_server.url}/requests/{found['number']}")
        check_page(page, lang)
        timeline = page.locator("ol.timeline")
        expect(timeline).to_contain_text("Retirement" if lang == "en" else "التقاعد")
        expect(timeline).to_contain_text("About the health-care grant" if lang == "en" else "السؤال عن المنحة العلاجية")
        page.fill("#comment", ANSWERS[lang])
        page.click("#action-form button[value=answer]")
        expect(page.locator("dl.facts").first).to_contain_text("Completed" if lang == "en" else "منجز")
        check_page(page, lang)
        expect(page.locator("ol.timeline")).to_contain_text(ANSWERS[lang])

    on_own_thread(walk)
    with app.app_context(), database.connection_context():
        req = Request.get(Request.tracking_number == found["number"])
        assert (req.status, req.department.code, req.inquiry_subject.code) == ("completed", "health", "pension")
        assert [e.action for e in HistoryEntry.select().where(HistoryEntry.request == req.id)
                .order_by(HistoryEntry.id)] == ["submit", "transfer", "answer"]
        delivery.deliver_due()
    answers = [item["json"] for item in gateway.received if ANSWERS[lang] in item["json"]["text"]]
    assert len(answers) == 1 and answers[0]["to"] == "+97455000333"
    expected = {"ar": f"رد على استفساركم رقم \u2066{found['number']}\u2069: {ANSWERS['ar']}",
                "en": f"Answer to your inquiry {found['number']}: {ANSWERS['en']}"}[lang]
    assert answers[0]["text"] == expected
