"""A Health clerk works the queue in headless Chromium, in Arabic, mostly from the keyboard.

Filters push the URL and the back button restores the list; the search folds Arabic spellings; take-next gives
the overdue request; a return (and an accept) from the side panel swap the row and the tab counts in place,
keeping the tab the clerk is on and keyboard focus; the shortcuts dialog opens with "?" and closes with Escape.
axe-core checks the page after each navigation and htmx swap.
"""
import datetime as dt
import re

import pytest
from flask_babel import gettext
from playwright.sync_api import expect

from intranet.db import database
from intranet.models import Request, utcnow
from intranet.queues.labels import ACTION_LABELS, STATUS_LABELS
from tests.browser import check_page, on_own_thread, sign_in
from tests.factories import make_citizen, make_request, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

AHMAD = "أحمد مُحمّد الكواري"
CITIZENS = [  # name, channel
    (AHMAD, "walk_in"),
    ("فاطمة حسن النعيمي", "electronic"),
    ("خالد عبد الله السليطي", "walk_in"),
    ("مريم يوسف الكبيسي", "electronic"),
]
OVERDUE_CITIZEN = "سالم علي المري"


@pytest.fixture
def queue_data(app):
    """Five open health-care requests; the one of سالم علي المري received 50 days ago, so overdue."""
    with app.app_context(), database.connection_context():
        desk = make_staff("desk", "reception", "reception")
        made = {name: make_request("health_care", actor=desk, channel=channel, subject="منحة علاج",
                                   citizen=make_citizen(full_name=name))
                for name, channel in CITIZENS}
        late = make_request("health_care", actor=desk, subject="منحة علاج",
                            citizen=make_citizen(full_name=OVERDUE_CITIZEN))
        received = utcnow() - dt.timedelta(days=50)
        Request.update(received_at=received, due_at=received + dt.timedelta(days=45)).where(
            Request.id == late.id).execute()
        made[OVERDUE_CITIZEN] = late
        return {name: req.tracking_number for name, req in made.items()}


def rows(page):
    return page.locator("#queue-table tbody tr")


def row_of(page, tracking_number):
    link = page.locator("a.open-request", has_text=re.compile(rf"^\s*{re.escape(tracking_number)}\s*$"))
    return page.locator("#queue-table tbody tr", has=link)


def count(page, tab):
    return int(page.locator(f"#queue-tabs .count[data-tab={tab}]").inner_text().strip())


def queue_response(page):
    """Wait for the htmx GET of the queue results that the next step triggers."""
    return page.expect_response(lambda r: "/queues/health" in r.url and r.request.method == "GET"
                                and r.request.headers.get("hx-request") == "true")


def arabic(app):
    with app.test_request_context():
        return {"awaiting": str(STATUS_LABELS["awaiting_citizen"]), "open": str(STATUS_LABELS["open"]),
                "returned": gettext("Done: %(action)s.", action=str(ACTION_LABELS["return"])),
                "accepted": gettext("Done: %(action)s.", action=str(ACTION_LABELS["accept"])),
                "yours": gettext("Request %(number)s is yours now.")}  # filled in with % {"number": ...}


def filter_and_go_back(page, base, numbers):
    """Step 1: the channel select narrows the list and pushes the URL; the back button restores the list."""
    expect(page.locator("#queue-tabs .count")).to_have_count(5)
    for tab in ("unassigned", "mine", "returned", "all", "overdue"):
        expect(page.locator(f"#queue-tabs .count[data-tab={tab}]")).to_be_visible()
    assert (count(page, "all"), count(page, "unassigned"), count(page, "overdue"), count(page, "mine")) == (5, 5, 1, 0)
    expect(rows(page)).to_have_count(5)
    expect(rows(page).first).to_contain_text(OVERDUE_CITIZEN)  # most urgent first

    with queue_response(page):
        page.select_option("#filter-channel", "electronic")
    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/queues/health\?(.*&)?channel=electronic(&|$)"))
    expect(rows(page)).to_have_count(2)
    for name in ("فاطمة حسن النعيمي", "مريم يوسف الكبيسي"):
        expect(row_of(page, numbers[name])).to_be_visible()
    check_page(page)

    page.go_back()
    expect(page).to_have_url(f"{base}/queues/health")
    expect(rows(page)).to_have_count(5)
    expect(page.locator("#filter-channel")).to_have_value("")
    check_page(page)
    # the restored page runs queue-keys.js again: one key press still moves one row, not two
    page.locator("h1").click()
    page.keyboard.press("j")
    expect(page.locator("#queue-table a.open-request").first).to_be_focused()


def search_folds_spelling(page, numbers):
    """Step 2: "/" focuses the search; another spelling, no diacritics, with the article, finds the one name."""
    page.locator("h1").click()  # focus out of any field, so that single keys are shortcuts
    page.keyboard.press("/")
    expect(page.locator("#queue-search")).to_be_focused()
    with queue_response(page):
        page.keyboard.type("احمد الكواري")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text(AHMAD)
    expect(row_of(page, numbers[AHMAD])).to_be_visible()
    assert "q=" in page.url
    check_page(page)
    with queue_response(page):
        page.keyboard.press("Escape")  # a search field clears on Escape
    expect(page.locator("#queue-search")).to_have_value("")
    expect(rows(page)).to_have_count(5)
    check_page(page)


def take_next_by_key(page, base, numbers, words, clerk):
    """Step 3: "n" takes the most urgent request, the overdue one, and opens it, now the clerk's."""
    page.locator("h1").click()
    overdue = numbers[OVERDUE_CITIZEN]
    with page.expect_navigation(url=f"{base}/requests/{overdue}"):
        page.keyboard.press("n")
    check_page(page)
    # the number isolated inside the Arabic sentence (i18n.ltr), or it would read backwards
    expect(page.locator("#flashes")).to_contain_text(words["yours"] % {"number": f"\u2066{overdue}\u2069"})
    expect(page.locator("#request-panel .facts").first).to_contain_text(clerk)
    expect(page.locator("#request-panel h1")).to_contain_text(overdue)


def return_from_panel(page, base, numbers, words):
    """Step 4: on the Unassigned tab, j j k and Enter open a request beside the list; r, a comment, one missing
    document, Ctrl+Enter return it: the panel, its row and the tab counts change without a page load."""
    page.goto(f"{base}/queues/health")
    check_page(page)
    with page.expect_navigation():
        page.locator("#queue-tabs a.tab-unassigned").click()
    assert page.url == f"{base}/queues/health?tab=unassigned"
    check_page(page)
    page.evaluate("window.sameDocument = true")
    before = {tab: count(page, tab) for tab in ("unassigned", "mine", "returned", "all", "overdue")}
    assert before == {"unassigned": 4, "mine": 1, "returned": 0, "all": 5, "overdue": 1}
    expect(rows(page)).to_have_count(4)
    expect(row_of(page, numbers[OVERDUE_CITIZEN])).to_have_count(0)  # the clerk's own now

    links = page.locator("#queue-table a.open-request")
    page.locator("h1").click()
    page.keyboard.press("j")
    expect(links.first).to_be_focused()
    page.keyboard.press("j")
    expect(links.nth(1)).to_be_focused()
    page.keyboard.press("k")
    expect(links.first).to_be_focused()
    tracking_number = links.first.inner_text().strip()
    row = row_of(page, tracking_number)
    expect(row).to_contain_text(words["open"])
    with page.expect_response(lambda r: f"/requests/{tracking_number}?" in r.url and "queue=health" in r.url):
        page.keyboard.press("Enter")
    panel = page.locator("#detail #request-panel")
    expect(panel.locator("h1")).to_contain_text(tracking_number)
    expect(page).to_have_url(f"{base}/requests/{tracking_number}")
    check_page(page)

    page.keyboard.press("r")
    expect(page.locator("#comment")).to_be_focused()
    page.keyboard.type("ينقص التقرير الطبي المختوم.")
    page.keyboard.press("Tab")  # to the first document of the checklist
    first_document = panel.locator("input[name=missing]").first
    expect(first_document).to_be_focused()
    page.keyboard.press("Space")
    expect(first_document).to_be_checked()
    missing_label = first_document.locator("xpath=..").inner_text().strip()
    page.keyboard.press("Shift+Tab")
    expect(page.locator("#comment")).to_be_focused()
    with page.expect_response(lambda r: f"/requests/{tracking_number}/act?tab=unassigned" in r.url
                              and r.request.method == "POST") as answer:
        page.keyboard.press("Control+Enter")
    assert answer.value.status == 200, answer.value.text()
    assert answer.value.request.post_data_buffer.count(b'name="action"') == 1

    expect(page.locator("#comment")).to_be_focused()  # htmx gives focus back to the new, empty comment field
    expect(page.locator("#comment")).to_have_value("")
    expect(panel.locator(".facts").first).to_contain_text(words["awaiting"])
    expect(panel.locator(".timeline > li").last).to_contain_text("ينقص التقرير الطبي المختوم.")
    expect(panel.locator(".timeline > li").last.locator(".checklist")).to_have_text(missing_label)
    expect(page.locator("#flashes")).to_contain_text(words["returned"])
    expect(row.locator("td").nth(5)).to_have_text(words["awaiting"])  # the row, swapped in place
    expect(page.locator("#queue-tabs .count[data-tab=returned]")).to_have_text(str(before["returned"] + 1))
    expect(page.locator("#queue-tabs .count[data-tab=unassigned]")).to_have_text(str(before["unassigned"] - 1))
    assert count(page, "all") == before["all"]
    assert page.evaluate("window.sameDocument === true"), "the return reloaded the page"
    assert page.url == f"{base}/requests/{tracking_number}"
    # the tabs came back out of band for the tab the clerk is on, not for the default one
    expect(page.locator("#queue-tabs a[aria-current=page]")).to_have_class(re.compile(r"\btab-unassigned\b"))
    check_page(page)


def accept_by_key(page, base, words):
    """Step 4b: j, Enter, "a" accepts the next request: it moves on to Compensation, the panel keeps no form,
    and focus goes to the new panel's heading instead of being lost with the form."""
    page.locator("#request-panel h1").click()  # out of the comment field, so that single keys are shortcuts
    links = page.locator("#queue-table a.open-request")
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(links.nth(1)).to_be_focused()
    tracking_number = links.nth(1).inner_text().strip()
    all_before = count(page, "all")
    with page.expect_response(lambda r: f"/requests/{tracking_number}?" in r.url):
        page.keyboard.press("Enter")
    panel = page.locator("#detail #request-panel")
    expect(panel.locator("h1")).to_contain_text(tracking_number)
    check_page(page)
    with page.expect_response(lambda r: f"/requests/{tracking_number}/act" in r.url) as answer:
        page.keyboard.press("a")
    assert answer.value.status == 200, answer.value.text()
    expect(panel.locator("#action-form")).to_have_count(0)
    expect(panel.locator("h1")).to_be_focused()
    expect(row_of(page, tracking_number)).to_have_class(re.compile(r"\brow-done\b"))
    expect(page.locator("#queue-tabs .count[data-tab=all]")).to_have_text(str(all_before - 1))
    expect(page.locator("#flashes")).to_contain_text(words["accepted"])
    assert page.evaluate("window.sameDocument === true"), "accepting reloaded the page"
    check_page(page)


def shortcuts_dialog(page):
    """Step 5: "?" opens the list of shortcuts as a modal dialog, Escape closes it."""
    page.locator("h1").first.click()
    page.keyboard.press("?")
    dialog = page.locator("dialog#shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button")).to_be_focused()
    assert page.evaluate("document.querySelector('#shortcuts').matches(':modal')")
    check_page(page)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert page.evaluate("window.sameDocument === true")
    check_page(page)


def test_clerk_works_the_queue_from_the_keyboard(app, live_server, queue_data):
    base = live_server.url
    words = arabic(app)

    def walk(page):
        clerk = sign_in(page, base, "health1")
        assert page.url == f"{base}/queues/health"
        filter_and_go_back(page, base, queue_data)
        search_folds_spelling(page, queue_data)
        take_next_by_key(page, base, queue_data, words, clerk)
        return_from_panel(page, base, queue_data, words)
        accept_by_key(page, base, words)
        shortcuts_dialog(page)

    on_own_thread(walk)


def press_on_layout(page, key, code, shift=False):
    """A key press as a non-Latin layout sends it: the character typed (key) and the physical key (code)."""
    page.evaluate("""([key, code, shift]) => (document.activeElement || document.body).dispatchEvent(
        new KeyboardEvent("keydown", {key, code, shiftKey: shift, bubbles: true, cancelable: true}))""",
                  [key, code, shift])


def test_shortcuts_work_on_an_arabic_keyboard_and_on_the_request_page(app, live_server, queue_data):
    """With the Arabic layout the keys type ت ن ش ؟: the physical keys still mean j, n, a and ?, on the queue and
    on the request's own page that take next opens."""
    base, words = live_server.url, arabic(app)

    def walk(page):
        sign_in(page, base, "health1")
        page.locator("h1").click()
        press_on_layout(page, "ت", "KeyJ")
        expect(page.locator("#queue-table a.open-request").first).to_be_focused()
        page.locator("h1").click()
        overdue = queue_data[OVERDUE_CITIZEN]
        with page.expect_navigation(url=f"{base}/requests/{overdue}"):
            press_on_layout(page, "ن", "KeyN")
        check_page(page)
        expect(page.locator("#flashes")).to_contain_text(words["yours"] % {"number": f"\u2066{overdue}\u2069"})

        page.locator("#request-panel h1").click()  # the full page: the shortcuts are here too
        press_on_layout(page, "؟", "Slash", shift=True)
        dialog = page.locator("dialog#shortcuts")
        expect(dialog).to_be_visible()
        check_page(page)
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()

        page.locator("#comment").click()
        press_on_layout(page, "ش", "KeyA")  # typing in the comment: a letter, not a shortcut
        expect(page.locator("#action-form")).to_have_count(1)
        page.locator("#request-panel h1").click()
        with page.expect_response(lambda r: f"/requests/{overdue}/act" in r.url) as answer:
            press_on_layout(page, "ش", "KeyA")
        assert answer.value.status == 200, answer.value.text()
        expect(page.locator("#request-panel #action-form")).to_have_count(0)
        expect(page.locator("#flashes")).to_contain_text(words["accepted"])
        check_page(page)

    on_own_thread(walk)
