"""A failed htmx action shows a translated message in the flash region, keeps what was typed, and changes nothing
else on the page: in headless Chromium, in Arabic and in English, for a 403, a 409 and a 500 answered by the
server's error handlers (the request page's action form sent to a test-only route that fails), for an answer the
server did not write (a proxy's bare 502) and for a network failure (the client-side fallback texts). axe-core
checks the page after each failure."""
import pytest
from flask import abort
from flask_babel import force_locale, gettext
from playwright.sync_api import expect

from intranet.db import database
from tests.browser import check_page, on_own_thread, sign_in, use_language
from tests.factories import make_request, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

TYPED = "تعليق كتبته الموظفة ولم يُرسل بعد — keep me"


@pytest.fixture
def failing(app):
    """A test-only route that answers with the status in its path through the real error handlers (500: a crash)."""
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the 500 goes to the error handler, as in production

    def fail(code):
        if code == 500:
            raise RuntimeError("forced failure (test)")
        abort(code)

    app.add_url_rule("/test-only/fail/<int:code>", "test_only_fail", fail, methods=["GET", "POST"])
    with app.test_request_context(), database.connection_context():
        return make_request("health_care", actor=make_staff("desk", "reception", "reception"),
                            subject="منحة علاج").tracking_number


def texts(app, lang) -> dict:
    with app.test_request_context(), force_locale(lang):
        return {403: gettext("You do not have permission to see this page."),
                409: gettext("Someone changed this in the meantime. Reload the page to see the current state, "
                             "then try again."),
                500: gettext("Your last action may not have been saved. Reload the page to check, then try again."),
                "failed": gettext("The action could not be completed, and nothing on this page was changed. Try "
                                  "again; if it keeps failing, reload the page."),
                "offline": gettext("The server cannot be reached. Check the network connection and try again; what "
                                   "you typed is kept.")}


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_failed_htmx_actions_show_a_message_and_keep_the_typing(app, failing, live_server, lang):
    expected = texts(app, lang)
    assert expected[403] != texts(app, "en" if lang == "ar" else "ar")[403]  # really translated
    acts = "**/requests/*/act*"

    def walk(page):
        sign_in(page, live_server.url, "health1")
        use_language(page, lang)
        page.goto(f"{live_server.url}/requests/{failing}")
        check_page(page, lang)
        panel_before = page.locator("#request-panel .timeline").inner_html()
        page.fill("#comment", TYPED)
        flashes = page.locator("#flashes")

        def act_and_expect(text):
            with page.expect_response(lambda r: r.request.method == "POST"):
                page.click("#action-form button[name=action][value=comment]")
            expect(flashes).to_contain_text(text)
            expect(flashes.locator("p.flash-error")).to_have_count(1)
            expect(page.locator("#comment")).to_have_value(TYPED)  # what was typed is still there
            assert page.locator("#request-panel .timeline").inner_html() == panel_before  # nothing half-updated
            assert page.locator("#request-panel #flashes, #request-panel html, main main").count() == 0
            check_page(page, lang)

        for code in (403, 409, 500):  # the server's error handlers answer
            page.route(acts, lambda route, _request, url=f"{live_server.url}/test-only/fail/{code}":
                       route.continue_(url=url))
            act_and_expect(expected[code])
            page.unroute(acts)
        page.route(acts, lambda route: route.fulfill(status=502, body="<html><body>Bad gateway</body></html>",
                                                     content_type="text/html"))
        act_and_expect(expected["failed"])  # an answer the server did not write: the client's own text
        page.unroute(acts)
        page.route(acts, lambda route: route.abort("internetdisconnected"))
        page.click("#action-form button[name=action][value=comment]")
        expect(flashes).to_contain_text(expected["offline"])
        expect(page.locator("#comment")).to_have_value(TYPED)
        check_page(page, lang)
        page.unroute(acts)
        with page.expect_response(lambda r: r.request.method == "POST" and r.status == 200):
            page.click("#action-form button[name=action][value=comment]")  # the connection is back: it goes through
        expect(page.locator("#request-panel .timeline")).to_contain_text(TYPED)
        expect(flashes.locator("p.flash-error")).to_have_count(0)
        check_page(page, lang)

    on_own_thread(walk)


def test_an_htmx_request_never_gets_a_whole_error_page(app, client, auth, failing):
    """The server side, without a browser: for htmx, every error status is the message alone, out of band, and the
    target is left alone; a plain request still gets the page."""
    assert auth.login("health1").status_code == 302
    htmx = {"HX-Request": "true"}
    for code in (400, 403, 404, 405, 409, 413, 422, 429, 500, 503):
        answer = client.get(f"/test-only/fail/{code}", headers=htmx)
        assert answer.status_code == code
        assert answer.headers["HX-Reswap"] == "none" and answer.headers["Diwan-Message"] == "error"
        assert answer.text.startswith('<div id="flashes" hx-swap-oob="innerHTML">') and "<html" not in answer.text
        page = client.get(f"/test-only/fail/{code}")
        assert page.status_code == code and "<html" in page.text and "Diwan-Message" not in page.headers
    forbidden = client.get("/payouts/", headers=htmx)  # a real abort(403) in a view, as htmx asked for it
    assert forbidden.status_code == 403 and "<html" not in forbidden.text and "غير مسموح" in forbidden.text
    missing = client.get("/requests/00-0000000-0", headers=htmx)
    assert missing.status_code == 404 and "<html" not in missing.text
    api = client.get("/api/v1/requests/nothing", headers=htmx)  # the API keeps its problem details
    assert api.mimetype == "application/problem+json"
