"""The desk a facilitator calls from is remembered on that computer across sign-outs and browser restarts (a
long-lived cookie), and a cookie that names no known desk or service is ignored."""
import re

from tests.conftest import csrf_token


def _selected_desk(page: str):
    chosen = re.search(r'<option value="([^"]*)" selected>', page)
    return chosen.group(1) if chosen else None


def _checked_services(page: str) -> set:
    return set(re.findall(r'name="services" value="(\w+)" checked', page))


def test_the_desk_is_remembered_across_sign_ins(ctx, auth, client):
    auth.login("reception1")
    token = csrf_token(client, "/tickets/desk")
    called = client.post("/tickets/desk/call", data={"csrf_token": token, "desk": "4", "services": ["inquiry"]})
    assert called.status_code == 303
    cookie = client.get_cookie("diwan_desk")
    assert cookie is not None and cookie.http_only and cookie.max_age and cookie.max_age > 300 * 86400
    auth.logout()
    client.delete_cookie("session")  # the browser closed: the session is gone, the desk cookie stays
    auth.login("reception1")
    page = client.get("/tickets/desk").text
    assert _selected_desk(page) == "4" and _checked_services(page) == {"inquiry"}


def test_an_unknown_desk_in_the_cookie_is_ignored(ctx, auth, client):
    auth.login("reception1")
    for value in ("99:inquiry", "4:bogus.<script>", ":", "\u2066", "4"):
        client.set_cookie("diwan_desk", value)
        response = client.get("/tickets/desk")
        assert response.status_code == 200, value
        assert "<script>" not in response.text.split("</header>")[-1].replace("<script src", "")
        selected = _selected_desk(response.text)
        assert selected in (None, "", "4"), value
        if value.startswith("99"):
            assert selected in (None, "")


def test_the_desk_is_remembered_per_person_on_any_computer(app, ctx):
    """Issue 19: each person finds the desk they called from last, on a computer another person used since, and
    on a computer they never used (the cookie only stands in for someone who has no choice of their own)."""
    from tests.conftest import Auth

    shared, other = app.test_client(), app.test_client()

    def call(client, username, desk, services):
        Auth(client).login(username)
        token = csrf_token(client, "/tickets/desk")
        called = client.post("/tickets/desk/call", data={"csrf_token": token, "desk": desk, "services": services})
        assert called.status_code == 303
        Auth(client).logout()
        client.delete_cookie("session")

    call(shared, "reception1", "4", ["inquiry"])
    call(shared, "supervisor1", "2", ["follow_up"])  # the computer now remembers desk 2
    for client in (shared, other):
        Auth(client).login("reception1")
        page = client.get("/tickets/desk").text
        assert _selected_desk(page) == "4" and _checked_services(page) == {"inquiry"}
        Auth(client).logout()
