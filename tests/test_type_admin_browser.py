"""A request type created in the browser, in Arabic, takes a walk-in request through all its stages (issue 20).

The administrator opens the request types from the menu, writes a new type (its names, a field, two stages in two
departments), previews the intake form and the workflow diagram, saves it; the desk enters a request of it for a
citizen with the new field; Health accepts it at the first stage, Compensation at the second: completed. axe-core
checks every page on the way."""
import re

import pytest
from playwright.sync_api import expect

from intranet.db import database
from intranet.models import Request, RequestType
from tests.browser import check_page, on_own_thread, sign_in, wait_until
from tests.factories import make_citizen
from tests.test_request_substance_browser import accept_in_panel, as_staff, open_from_queue

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

NAME = "تصريح بناء ملحق"
STAGES = [("survey", "الكشف الميداني", "Site survey", "health", "20"),
          ("signature", "توقيع التصريح", "Signature", "compensation", "25")]


def create_the_type(page, base):
    sign_in(page, base, "admin1")
    with page.expect_navigation():
        page.click(".site-header nav a[href$='/admin/request-types']")
    check_page(page)
    with page.expect_navigation():
        page.click("a[href$='/admin/request-types/new']")
    check_page(page)
    page.fill("#type-code", "annex_permit")
    page.fill("#type-name-ar", NAME)
    page.fill("#type-name-en", "Annex building permit")
    page.select_option("#type-department", "health")
    page.fill("#field-0-name", "plot_number")
    page.select_option("#field-0-kind", "text")
    page.check("#field-0-required")
    page.fill("#field-0-label_ar", "رقم القسيمة")
    page.fill("#field-0-label_en", "Plot number")
    for n, (code, name_ar, name_en, department, days) in enumerate(STAGES):
        page.fill(f"#stage-{n}-code", code)
        page.fill(f"#stage-{n}-name_ar", name_ar)
        page.fill(f"#stage-{n}-name_en", name_en)
        page.select_option(f"#stage-{n}-department", department)
        page.fill(f"#stage-{n}-budget_days", days)
    with page.expect_navigation():
        page.click("#type-form button[value=preview]")
    check_page(page)
    expect(page.locator("#preview-form")).to_contain_text("رقم القسيمة")
    expect(page.locator("#preview-diagram text")).to_contain_text(["1. الكشف الميداني", "الشؤون الصحية"])
    with page.expect_navigation():
        page.click("#type-form button[value=save]")
    check_page(page)
    expect(page.locator("h1")).to_contain_text(NAME)


def enter_at_the_desk(page, base, citizen, type_id):
    page.goto(f"{base}/reception/")
    check_page(page)
    page.fill("#find-national-id", citizen.national_id)
    with page.expect_navigation():
        page.press("#find-national-id", "Enter")
    with page.expect_navigation():
        page.click(f"a.button[href*='/citizens/{citizen.id}/requests/new']")
    check_page(page)
    with page.expect_response(lambda r: "/requests/new" in r.url and r.request.method == "GET"):
        page.select_option("#request_type", value=str(type_id))
    expect(page.locator("#field_plot_number")).to_be_visible()
    wait_until(page, "!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    check_page(page)
    page.fill("#field_plot_number", "PL-77")
    with page.expect_navigation():
        page.click("#intake-form button[type=submit]")
    match = re.search(r"/requests/(\d\d-\d{7}-\d)$", page.url)
    assert match, page.url
    return match.group(1)


def test_a_type_made_in_the_browser_takes_a_walk_in_request_through_its_stages(app, live_server):
    base = live_server.url
    with app.app_context(), database.connection_context():
        citizen = make_citizen()
    found = {}

    def walk(page):
        create_the_type(page, base)
        with app.app_context(), database.connection_context():
            type_id = RequestType.get(RequestType.code == "annex_permit").id
        as_staff(page, "reception1", "ar")
        number = found["number"] = enter_at_the_desk(page, base, citizen, type_id)
        as_staff(page, "health1", "ar")
        panel = open_from_queue(page, base, "health", number, "ar")
        expect(panel.locator(".request-fields .field-plot_number")).to_have_text("PL-77")
        accept_in_panel(page, panel, number)
        as_staff(page, "comp1", "ar")
        accept_in_panel(page, open_from_queue(page, base, "compensation", number, "ar"), number)

    on_own_thread(walk)
    with app.app_context(), database.connection_context():
        req = Request.get(Request.tracking_number == found["number"])
        assert (req.status, req.type_version, req.stage.code) == ("completed", 1, "signature")
