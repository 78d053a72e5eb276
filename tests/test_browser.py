"""The spine in headless Chromium, in Arabic: reception records a request, Health and Compensation work it.

axe-core checks every page the walk shows, after each navigation and after each htmx swap.
"""
import re

import pytest
from playwright.sync_api import expect, sync_playwright
from stdnum import luhn

from intranet.queues.labels import HISTORY_LABELS, STATUS_LABELS
from tests.browser import CHROMIUM_ARGS, TINY_PDF, check_page, sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

NATIONAL_ID = "2850412345" + luhn.calc_check_digit("2850412345")
CITIZEN_NAME = "عبد الله محمد الكواري"


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="ar")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def queue_row(page, tracking_number):
    return page.locator("#queue-table tbody tr", has=page.locator(f"a bdi:text-is('{tracking_number}')"))


def open_from_queue(page, tracking_number):
    with page.expect_navigation():
        queue_row(page, tracking_number).get_by_role("link").click()
    check_page(page)


def act(page, action, comment="", files=(), *, entries):
    """Press an action button on the request panel: htmx swaps the panel in place, without a page load."""
    url = page.url
    page.evaluate("window.sameDocument = true")
    page.fill("#comment", comment)
    if files:
        page.set_input_files("#attachments", list(files))
    with page.expect_response(lambda r: r.url.endswith("/act") and r.request.method == "POST") as answer:
        page.click(f"#request-panel button[name=action][value={action}]")
    assert answer.value.status == 200, answer.value.text()
    expect(page.locator(".timeline > li")).to_have_count(entries)
    assert page.url == url and page.evaluate("window.sameDocument === true"), "the panel swap reloaded the page"
    check_page(page)
    return page.locator(".timeline > li").last


def record_request(page, base_url, tmp_path):
    """Reception: an unknown national ID, register the citizen, record a health-care request with a scan."""
    page.goto(f"{base_url}/reception/")
    check_page(page)
    typo = NATIONAL_ID[:-1] + str((int(NATIONAL_ID[-1]) + 1) % 10)
    page.fill("#find-national-id", typo)
    with page.expect_navigation():
        page.press("#find-national-id", "Enter")
    check_page(page)  # the error state: message next to the field, tied to it
    expect(page.locator("#find-national-id")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#find-national-id-error")).to_be_visible()
    page.fill("#find-national-id", NATIONAL_ID)
    with page.expect_navigation():
        page.press("#find-national-id", "Enter")
    check_page(page)
    register = page.locator("form[action$='/reception/citizens']")
    expect(register).to_be_visible()
    expect(page.locator("a[href*='/requests/new']")).to_have_count(0)  # nobody found
    expect(register.locator("[name=national_id]")).to_have_value(NATIONAL_ID)
    register.locator("[name=full_name]").fill(CITIZEN_NAME)
    register.locator("[name=phone]").fill("55123456")
    register.locator("[name=governorate]").select_option(index=1)
    register.locator("[name=preferred_language]").select_option("ar")
    with page.expect_navigation():
        register.locator("button[type=submit]").click()
    assert re.search(r"/reception/citizens/\d+/requests/new$", page.url), page.url
    check_page(page)
    expect(page.locator("h1")).to_contain_text(CITIZEN_NAME)

    scan = tmp_path / "تقرير-طبي.pdf"
    scan.write_bytes(TINY_PDF)
    page.select_option("#request_type", label="منحة رعاية صحية")  # health_care: its own fields swap in
    expect(page.locator("#field_invoice_number")).to_be_visible()
    check_page(page)
    page.fill("#field_amount", "1250.500")
    page.fill("#field_invoice_number", "INV-2026-0042")
    page.check("input[name=documents_received][value=medical_report]")
    page.fill("#subject", "منحة علاج طبيعي")
    page.fill("#details", "جلسات علاج طبيعي بعد عملية في الركبة.")
    page.set_input_files("#attachments", str(scan))
    with page.expect_navigation():
        page.click("main button[type=submit]")
    match = re.search(r"/requests/(\d\d-\d{7}-\d)$", page.url)
    assert match, page.url
    check_page(page)
    tracking_number = match.group(1)
    expect(page.locator("#flashes")).to_contain_text(tracking_number)
    expect(page.locator(".timeline > li")).to_have_count(1)
    expect(page.locator(".timeline .files a")).to_have_text(scan.name)
    return tracking_number


def arabic_labels(app):
    """The history and status words as the Arabic interface shows them."""
    with app.test_request_context():
        return ({action: str(label) for action, label in HISTORY_LABELS.items()},
                {status: str(label) for status, label in STATUS_LABELS.items()})


def health_takes_comments_and_accepts(page, base, tracking_number, tmp_path):
    """Take it from the queue (row swap), comment with a file and accept (panel swaps); it leaves the queue."""
    row = queue_row(page, tracking_number)
    expect(row).to_contain_text(CITIZEN_NAME)
    row.locator("button[value=claim]").click()
    expect(row.locator("button[value=release]")).to_be_visible()
    expect(page.locator("#flashes")).to_contain_text("تم: استلام")  # announced where the clerk is
    check_page(page)
    open_from_queue(page, tracking_number)
    report = tmp_path / "medical-report.pdf"
    report.write_bytes(TINY_PDF)
    entry = act(page, "comment", "التقرير الطبي مرفق.", [report], entries=3)
    expect(entry.locator("blockquote")).to_have_text("التقرير الطبي مرفق.")
    expect(entry.locator(".files a")).to_have_text(report.name)
    act(page, "accept", entries=4)
    expect(page.locator("#request-panel form.actions")).to_have_count(0)  # now Compensation's to work
    page.goto(f"{base}/queues/health")
    check_page(page)
    expect(queue_row(page, tracking_number)).to_have_count(0)


def test_request_walks_from_reception_through_health_and_compensation(app, live_server, page, tmp_path):
    base = live_server.url
    history_labels, status_labels = arabic_labels(app)
    desk = sign_in(page, base, "reception1")
    assert page.url == f"{base}/reception/"
    tracking_number = record_request(page, base, tmp_path)
    sign_out(page)

    health = sign_in(page, base, "health1")
    assert page.url == f"{base}/queues/health"
    health_takes_comments_and_accepts(page, base, tracking_number, tmp_path)
    sign_out(page)

    comp = sign_in(page, base, "comp1")
    assert page.url == f"{base}/queues/compensation"
    open_from_queue(page, tracking_number)
    act(page, "return", "ينقص كشف الحساب البنكي.", entries=5)
    sign_out(page)

    sign_in(page, base, "health1")
    expect(queue_row(page, tracking_number)).to_contain_text(status_labels["returned"])
    open_from_queue(page, tracking_number)
    act(page, "resubmit", "أرفقنا كشف الحساب.", entries=6)
    sign_out(page)

    sign_in(page, base, "comp1")
    open_from_queue(page, tracking_number)
    act(page, "reject", "الحالة لا تستوفي شروط المنحة.", entries=7)
    expect(page.locator("#request-panel form.actions")).to_have_count(0)

    page.reload()
    check_page(page)
    steps = [(desk, "submit"), (health, "claim"), (health, "comment"), (health, "accept"),
             (comp, "return"), (health, "resubmit"), (comp, "reject")]
    entries = page.locator(".timeline > li > p")
    expect(entries).to_have_count(len(steps))
    for index, (name, action) in enumerate(steps):
        expect(entries.nth(index).locator("strong")).to_have_text(name)
        text = " ".join(entries.nth(index).inner_text().split())
        assert text.startswith(f"{name} {history_labels[action]}"), (action, text)
    expect(page.locator(".timeline blockquote")).to_have_text([
        "التقرير الطبي مرفق.", "ينقص كشف الحساب البنكي.", "أرفقنا كشف الحساب.", "الحالة لا تستوفي شروط المنحة."])

    with page.expect_navigation():  # the same page in English, left to right
        page.click("button[name=lang][value=en]")
    assert page.url.startswith(f"{base}/requests/{tracking_number}")
    check_page(page, lang="en")
