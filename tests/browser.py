"""Browser-test helpers: the app on a live port, Chromium without `playwright install`, axe-core on every page."""
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

AXE = Path(__file__).with_name("vendor") / "axe-4.11.0.min.js"
AXE_SOURCE = "() => {\n" + AXE.read_text(encoding="utf-8") + "\n}"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# the smallest PDF that filetype (and a PDF reader) recognises
TINY_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")

DUPLICATE_IDS = """() => {
  const ids = Array.from(document.querySelectorAll("[id]"), el => el.id);
  return [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
}"""


class LiveServer:
    """The Flask app served by werkzeug on a free loopback port, in a daemon thread."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def describe(violations) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"][:5]:
            lines.append(f"    {node['target']}: {node['failureSummary']}".replace("\n", " "))
    return "\n".join(lines)


def check_page(page, lang="ar"):
    """axe-core finds no violation on the page as it is now, and the page speaks `lang` in its direction."""
    direction = "rtl" if lang == "ar" else "ltr"
    html = page.locator("html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == (lang, direction), page.url
    if not page.evaluate("typeof window.axe !== 'undefined'"):  # gone after each full navigation
        # evaluated through the DevTools protocol, which the page's Content-Security-Policy does not govern (a
        # <script> tag with the text, as add_script_tag makes, is inline script: refused)
        page.evaluate(AXE_SOURCE)
    violations = page.evaluate("async () => (await axe.run()).violations")
    assert not violations, f"axe on {page.url}:\n{describe(violations)}"
    # axe 4.11 no longer reports duplicate ids, yet a repeated id leaves the second field without its label
    repeated = page.evaluate(DUPLICATE_IDS)
    assert not repeated, f"ids used more than once on {page.url}: {repeated}"


def wait_until(page, expression: str, timeout: float = 10.0):
    """Poll a JavaScript expression until it is truthy. Playwright's wait_for_function compiles a string predicate
    inside the page, which the Content-Security-Policy (no 'unsafe-eval') refuses; page.evaluate goes through the
    DevTools protocol, which the policy does not govern."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        time.sleep(0.05)


def sign_in(page, base_url, username, password="demo"):
    """Sign in through the form; returns the name the header shows for this person."""
    page.goto(f"{base_url}/login")
    check_page(page)
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    check_page(page)
    return page.locator(".site-header .who").inner_text().split(" · ")[0].strip()


def use_language(page, lang):
    """Switch the signed-in session to `lang` with the header's language button (Arabic is the default)."""
    if lang != "ar":
        with page.expect_navigation():
            page.click(f"button[name=lang][value={lang}]")


def sign_out(page):
    with page.expect_navigation():
        page.click("form[action$='/logout'] button")
    check_page(page)


def on_own_thread(work):
    """Run work(page) in Chromium driven from a thread of its own. Playwright's sync API allows one instance per
    thread, and test_browser.py keeps a session-wide one on the main thread while the rest of the run goes on."""
    failure = []

    def run():
        try:
            with sync_playwright() as playwright:
                chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                try:
                    context = chromium.new_context(locale="ar", viewport={"width": 1400, "height": 900})
                    context.set_default_timeout(10_000)
                    work(context.new_page())
                finally:
                    chromium.close()
        except BaseException as error:  # re-raised on the test's thread, traceback and all
            failure.append(error)

    thread = threading.Thread(target=run, name="chromium", daemon=True)
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive(), "the browser walk did not finish in 120 s"
    if failure:
        raise failure[0]


class Keyboard:
    """Counts what a person at the desk does: each key press or typed value is one action, and so is a card scanned
    (a barcode scanner types the code and Enter when its trigger is pulled once)."""

    def __init__(self, page):
        self.page, self.actions = page, 0

    def press(self, key):
        self.actions += 1
        self.page.keyboard.press(key)

    def type(self, text):
        self.actions += 1
        self.page.keyboard.type(text)

    def scan(self, code):
        self.actions += 1
        self.page.keyboard.type(code)
        self.page.keyboard.press("Enter")


def settled(page):
    """Wait until htmx has finished swapping and settling (autofocus is applied at settle)."""
    wait_until(page, "!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    page.wait_for_timeout(50)
