"""Under the Content-Security-Policy (intranet/security_headers.py) the main pages of each role work in Chromium with
nothing refused: sign-in, the queue and a request page (an htmx action swaps), the reception desk, the kiosk and
its ticket (which prints itself), a receipt (its print button and the roll sized to the receipt), the visitor desk
and display, payouts, the dashboard, statistics, the printed documents, portal clients and imports. Any
"Refused to ..." in the console, any securitypolicyviolation event and any uncaught error fails the walk; axe-core
checks every page."""
import datetime as dt
import subprocess

import pytest
from playwright.sync_api import expect

from intranet.db import database
from intranet.models import VisitorTicket
from intranet.stats import figures
from tests.browser import check_page, on_own_thread, sign_in, sign_out, wait_until
from tests.factories import make_request

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

# every violation the page reports, also those the console would word differently
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__violations.push(event.violatedDirective + " " + (event.blockedURI || "inline") + " at " +
                           event.sourceFile + ":" + event.lineNumber);
});
window.__prints = 0;
window.print = function () { window.__prints += 1; };
"""
COMMENT = "تعليق تحت سياسة أمان المحتوى"


class Watch:
    """What the console and the page said that the policy refused, or that broke."""

    def __init__(self, page):
        self.page = page
        self.problems = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error on {page.url}: {error}"))
        page.add_init_script(RECORD_VIOLATIONS)

    def _console(self, message):
        text = message.text
        if "Refused to" in text or "Content Security Policy" in text or "Permissions-Policy" in text:
            self.problems.append(f"{message.type} on {self.page.url}: {text}")

    def visit(self, url, lang="ar"):
        self.page.goto(url)
        self.check(lang)

    def check(self, lang="ar"):
        check_page(self.page, lang)
        violations = self.page.evaluate("window.__violations || []")
        assert not violations and not self.problems, "\n".join(self.problems + violations)


def printed_page_size(page, path):
    """The size in mm of the first page Chromium prints of `page`, as its CSS asks (pdfinfo reads it back)."""
    page.emulate_media(media="print")
    path.write_bytes(page.pdf(prefer_css_page_size=True))
    page.emulate_media(media="screen")
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    width, height = (float(n) * 25.4 / 72 for n in info.split("Page size:")[1].split()[0:3:2])
    return width, height


def test_the_main_pages_of_each_role_run_under_the_policy(app, live_server, tmp_path):
    with app.test_request_context(), database.connection_context():
        tracking_number = make_request("health_care", subject="منحة علاج").tracking_number
        yesterday = (figures.local_today() - dt.timedelta(days=1)).isoformat()
    base = live_server.url

    def walk(page):
        watch = Watch(page)
        watch.visit(f"{base}/login")
        # the watch sees what the policy refuses: a script added as text does not run, and is reported
        page.evaluate("""() => { const s = document.createElement("script");
                                 s.textContent = "window.__inline = 1"; document.head.appendChild(s); }""")
        wait_until(page, "window.__violations.length === 1")
        assert page.evaluate("window.__inline") is None
        assert "script-src" in page.evaluate("window.__violations[0]")
        # Chromium's wording: "Refused to execute inline script ..." (older) or "Executing inline script violates the
        # following Content Security Policy directive ..."
        assert [p for p in watch.problems if "inline script" in p], watch.problems
        watch.problems.clear()
        page.evaluate("window.__violations = []")

        # a clerk: the queue, a request page, an htmx action that swaps the panel
        sign_in(page, base, "health1")
        watch.visit(f"{base}/queues/")
        expect(page.locator(f"a:has-text('{tracking_number}')").first).to_be_visible()
        watch.visit(f"{base}/requests/{tracking_number}")
        page.fill("#comment", COMMENT)
        with page.expect_response(lambda r: r.request.method == "POST" and "/act" in r.url) as answer:
            page.click("#action-form button[name=action][value=comment]")
        assert answer.value.status == 200
        expect(page.locator("#request-panel .timeline")).to_contain_text(COMMENT)  # swapped in by htmx
        expect(page.locator("#comment")).to_have_value("")
        watch.check()
        sign_out(page)

        # the reception desk: intake, the receipt and its print button, the kiosk, its ticket, the desk, the display
        sign_in(page, base, "reception1")
        watch.visit(f"{base}/reception/")
        watch.visit(f"{base}/requests/{tracking_number}/receipt")
        page.click("button[data-print]")
        wait_until(page, "window.__prints === 1")
        page.evaluate("window.dispatchEvent(new Event('beforeprint'))")  # what printing does first
        roll = page.evaluate("""() => document.adoptedStyleSheets.flatMap(sheet => Array.from(sheet.cssRules))
                                      .map(rule => rule.cssText).join(' ')""")
        assert "receipt-roll" in roll and "80mm" in roll, roll
        width, height = printed_page_size(page, tmp_path / "receipt.pdf")
        assert abs(width - 80) < 1 and 60 < height < 250, (width, height)  # one page as long as the receipt
        watch.check()
        watch.visit(f"{base}/tickets/kiosk")
        with page.expect_navigation(url=lambda url: "source=kiosk" in url):  # a double tap sends the form once
            sent = page.evaluate("""() => {
                const form = document.querySelector("form[data-submit-once]"), seen = [];
                window.addEventListener("submit", event => seen.push(event.defaultPrevented));
                const button = form.querySelector("button[name=service][value=inquiry]");
                form.requestSubmit(button);
                form.requestSubmit(button);
                return seen; }""")
        assert sent == [False, True], sent
        wait_until(page, "window.__prints === 1")  # the slip printed itself, once
        assert page.get_attribute("#back-to-kiosk", "data-follow-after") == "20000"
        with app.app_context(), database.connection_context():
            issued = [t.label for t in VisitorTicket.select()]
        assert issued == [page.locator(".slip-number").inner_text().strip()], issued  # one ticket, the one shown
        watch.check()
        watch.visit(f"{base}/tickets/display")
        watch.visit(f"{base}/tickets/desk")
        sign_out(page)

        # a supervisor: payouts, the dashboard's charts, statistics, the printed documents and their print view
        sign_in(page, base, "supervisor1")
        watch.visit(f"{base}/reports/daily/{yesterday}?lang=ar")  # its running header: the nonce'd <style>
        page.click("button[data-print]")
        wait_until(page, "window.__prints === 1")
        watch.check()
        for path in ("/payouts/", "/dashboard/", "/stats/", "/reports/", "/imports/"):
            watch.visit(f"{base}{path}")
        sign_out(page)

        # an administrator: the portal clients
        sign_in(page, base, "admin1")
        watch.visit(f"{base}/admin/portal-clients/")
        assert not watch.problems, "\n".join(watch.problems)

    on_own_thread(walk)
