"""The reception desk in headless Chromium: the request's timeline shows the SMS sent with its status; the list
of citizens to call, where a call is recorded without leaving the page. axe-core in Arabic and in English."""
import datetime as dt

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import expect

from intranet.db import database
from intranet.models import HistoryEntry, Notification, utcnow
from tests.browser import check_page, on_own_thread, sign_in
from tests.factories import make_citizen, make_request

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


@pytest.fixture
def messages(app):
    """A request whose submission SMS was delivered; another citizen whose SMS failed after every attempt."""
    now = utcnow()
    with app.app_context(), database.connection_context():
        delivered = make_request("health_care", citizen=make_citizen(full_name="مريم يوسف الكبيسي",
                                                                     phone="+97455123456"))
        lost = make_request("health_care",
                            citizen=make_citizen(full_name="سالم علي المري", phone="+97466990011"))
        for req, values in ((delivered, {"status": "delivered", "sent_at": now, "delivered_at": now, "attempts": 1}),
                            (lost, {"status": "failed", "failed_at": now, "attempts": 10,
                                    "last_error": "unknown subscriber"})):
            entry = HistoryEntry.get(HistoryEntry.request == req.id)
            Notification.create(request=req.id, history=entry.id, citizen=req.citizen_id, event="request_received",
                                channel="sms", language="ar", recipient=req.citizen.phone, body="...",
                                dedupe_key=f"browser:{req.id}", next_attempt_at=now + dt.timedelta(hours=1),
                                **values)
        return {"delivered": delivered.tracking_number, "lost": lost.tracking_number, "lost_id": lost.citizen_id}


def words(app, lang):
    with app.test_request_context(), force_locale(lang):
        return {key: gettext(text) for key, text in (("delivered", "Delivered"), ("failed", "Failed"),
                                                     ("resolve", "Called / resolved"))}


def test_desk_sees_the_sms_and_records_a_call(app, live_server, messages):
    base = live_server.url
    ar, en = words(app, "ar"), words(app, "en")

    def walk(page):
        sign_in(page, base, "reception1")
        page.goto(f"{base}/requests/{messages['delivered']}")
        sms = page.locator(".notifications li").last
        expect(sms).to_contain_text("+974 •••• 3456")
        expect(sms.locator(".notification-status")).to_have_text(ar["delivered"])
        check_page(page, "ar")

        page.goto(f"{base}/reception/unreachable/")
        card = page.locator(f"#unreachable-citizen-{messages['lost_id']}")
        expect(card).to_contain_text("سالم علي المري")
        expect(card).to_contain_text("unknown subscriber")
        expect(card.get_by_role("link", name=messages["lost"])).to_be_visible()
        check_page(page, "ar")

        with page.expect_navigation():
            page.click(".header-tools button[name=lang]")
        check_page(page, "en")
        card = page.locator(f"#unreachable-citizen-{messages['lost_id']}")
        card.get_by_label("What was said on the call").fill("Spoke to him; his new number is on file")
        with page.expect_response(lambda r: r.url.endswith("/resolve")):
            card.get_by_role("button", name=en["resolve"]).click()
        expect(card).to_contain_text("Call recorded by")
        expect(page.locator("#flashes")).to_contain_text("Call recorded by")
        check_page(page, "en")

        page.goto(f"{base}/requests/{messages['lost']}")
        failed = page.locator(".notifications li").last
        expect(failed.locator(".notification-status")).to_have_text(en["failed"])
        expect(failed).to_contain_text("Spoke to him")
        check_page(page, "en")

        page.goto(f"{base}/reception/unreachable/")
        expect(page.locator(f"#unreachable-citizen-{messages['lost_id']}")).to_have_count(0)
        check_page(page, "en")

    on_own_thread(walk)
