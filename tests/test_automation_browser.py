"""Straight-through processing in headless Chromium, in Arabic and in English: a supervisor reads a sampled automatic
decision's explanation on the request page and reverses it, then pauses automation on the controls page; an
administrator loads a registry file. axe-core checks every page."""
import pytest
from playwright.sync_api import expect

from intranet.automation import registry_files, rules
from intranet.db import database
from intranet.models import RequestType
from tests.browser import check_page, on_own_thread, sign_in, use_language
from tests.factories import make_citizen, make_request, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


@pytest.fixture
def decided(app):
    app.config["AUTOMATION_SAMPLE_PERCENT"] = 100
    with app.test_request_context(), database.connection_context():
        citizen = make_citizen()
        registry_files.load("civil", f"national_id,registered,alive\n{citizen.national_id},yes,yes\n".encode(), "csv")
        compensation = RequestType.get(RequestType.code == "compensation")
        rules.save_rule(make_staff("admin-b", "admin", None), compensation, "civil",
                        [{"fact": "registered", "op": "is_true"}, {"fact": "alive", "op": "is_true"}], "complete",
                        "5000")
        return make_request("compensation", citizen=citizen, amount=1200).tracking_number


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_explained_reversed_and_paused(app, live_server, decided, lang):
    def walk(page):
        sign_in(page, live_server.url, "supervisor1")
        use_language(page, lang)
        page.goto(f"{live_server.url}/requests/{decided}")
        check_page(page, lang)
        expect(page.locator("#automation")).to_contain_text("1,200.00")
        page.fill("#automation-reason", "reason / السبب")
        page.click("#automation button[value=reversed]")
        check_page(page, lang)
        expect(page.locator("#automation")).to_contain_text("reason / السبب")
        page.goto(f"{live_server.url}/automation/controls")
        check_page(page, lang)
        page.locator("#automation-types tbody tr").first.locator("button[value=pause]").click()
        check_page(page, lang)
        expect(page.locator("#automation-types button[value=resume]")).to_have_count(1)

    on_own_thread(walk)


def test_an_administrator_loads_a_registry(app, live_server, tmp_path):
    path = tmp_path / "civil.csv"
    path.write_text("national_id,alive\n28000000001,yes\n")

    def walk(page):
        sign_in(page, live_server.url, "admin1")
        page.goto(f"{live_server.url}/automation/registries")
        check_page(page, "ar")
        page.set_input_files("#registry-file", str(path))
        page.click("#registry-load button[type=submit]")
        check_page(page, "ar")
        expect(page.locator("#registry-list")).to_contain_text("civil")

    on_own_thread(walk)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_an_administrator_tries_and_saves_a_rule(app, live_server, decided, lang):
    with app.test_request_context(), database.connection_context():
        type_id = RequestType.get(RequestType.code == "compensation").id

    def walk(page):
        sign_in(page, live_server.url, "admin1")
        use_language(page, lang)
        page.goto(f"{live_server.url}/automation/rules")
        check_page(page, lang)
        page.goto(f"{live_server.url}/automation/rules/{type_id}")
        check_page(page, lang)
        page.fill("#rule-amount-limit", "1000")
        page.click("#rule-form button[value=try]")
        check_page(page, lang)
        expect(page.locator("#dry-run-ineligible")).to_contain_text("1")
        page.fill("#rule-note", "note / ملاحظة")
        page.click("#rule-form button[value=save]")
        check_page(page, lang)
        expect(page.locator("#rule-versions")).to_contain_text("note / ملاحظة")
        page.goto(f"{live_server.url}/automation/decisions")
        check_page(page, lang)

    on_own_thread(walk)
