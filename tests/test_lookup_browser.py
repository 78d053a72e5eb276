"""The header search in the browser, keyboard only, in Arabic and English: "/" reaches the box from any page, a name
lists the citizen and their requests, a tracking number typed in Arabic-Indic digits opens the request, the citizen
page lists what the reader may see; axe-core finds nothing on each page."""
import pytest
from playwright.sync_api import expect

from tests.browser import check_page, on_own_thread, settled, sign_in, use_language
from tests.factories import make_citizen, make_request, make_staff, national_id

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_find_from_the_header_box_with_the_keyboard(app, data, live_server, lang):
    with data():
        desk = make_staff("desk", "reception", "reception")
        person = make_citizen(full_name="عبد الرحمن خالد الكواري", national_id=national_id(4401))
        first = make_request("health_care", actor=desk, citizen=person)
        second = make_request("inquiry", actor=desk, citizen=person)
        other = make_request("compensation", actor=desk, citizen=make_citizen(full_name="سلمى النعيمي"))

    def walk(page):
        sign_in(page, live_server.url, "reception1")
        use_language(page, lang)
        page.goto(f"{live_server.url}/requests/{other.tracking_number}")
        check_page(page, lang)
        page.keyboard.press("/")  # from anywhere outside a field
        expect(page.locator("#header-search")).to_be_focused()
        page.keyboard.type("عبدالرحمن كواري")  # written together, without the article
        with page.expect_navigation():
            page.keyboard.press("Enter")
        check_page(page, lang)
        expect(page.locator("#found-citizens")).to_contain_text(person.full_name)
        expect(page.locator("#found-requests tbody tr")).to_have_count(2)
        expect(page.locator("#found-requests")).not_to_contain_text(other.tracking_number)

        # the page's own box answers as one types (htmx), with the keyboard only
        page.locator("#lookup-q").focus()
        page.keyboard.press("Control+A")
        typed = person.national_id.translate(ARABIC_DIGITS)
        page.keyboard.type(typed)
        # the answer to this very query has come (its URL pushed) and settled: the link below is not swapped away
        page.wait_for_function("q => new URLSearchParams(location.search).get('q') === q", arg=typed)
        settled(page)
        expect(page.locator("#found-requests")).to_contain_text(second.tracking_number)
        check_page(page, lang)

        # a link of the results, reached with Tab, opens the citizen page
        link = page.locator("#found-citizens a").first
        link.focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        check_page(page, lang)
        expect(page.locator("#citizen-requests tbody tr")).to_have_count(2)
        expect(page.locator("#citizen-requests")).to_contain_text(first.tracking_number)

        # a tracking number in Arabic-Indic digits, without dashes, opens the request itself
        page.keyboard.press("/")
        page.keyboard.type(first.tracking_number.replace("-", "").translate(ARABIC_DIGITS))
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.url.endswith(f"/requests/{first.tracking_number}")
        check_page(page, lang)

    on_own_thread(walk)
