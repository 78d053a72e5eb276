"""Sessions the server can end: a cookie copied before sign-out no longer works, idle and absolute expiry, a new
session id at sign-in and at re-authentication, "sign out everywhere", administrators ending others' sessions."""
import datetime as dt

import pytest

from intranet import config as config_module
from intranet.models import Request, Staff, utcnow
from intranet.models.sessions import SecurityEvent, StaffSession
from tests.conftest import Auth, csrf_token
from tests.factories import make_request


def _cookie(client) -> str:
    return client.get_cookie("session").value


def _replay(app, value):
    """A second browser holding a copy of the cookie."""
    other = app.test_client()
    other.set_cookie("session", value)
    return other


def _sessions(data, username):
    with data():
        return list(StaffSession.select().join(Staff).where(Staff.username == username)
                    .order_by(StaffSession.created_at))


def test_a_cookie_copied_before_sign_out_is_refused_after_it(app, auth, client, data):
    auth.login("health1")
    token = csrf_token(client, "/queues/health")
    copied = _cookie(client)
    with data():
        waiting = make_request()
    auth.logout()
    page = _replay(app, copied).get("/queues/health")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    # the copy carries a valid CSRF token too: the state-changing POST is still refused, and nothing changes
    taken = _replay(app, copied).post("/queues/health/take-next", data={"csrf_token": token})
    assert taken.status_code == 302 and taken.headers["Location"].startswith("/login")
    with data():
        assert Request.get_by_id(waiting.id).assignee_id is None
    [row] = _sessions(data, "health1")
    assert row.ended_at is not None and row.end_reason == "logout"


def test_the_same_post_works_while_the_session_is_live(app, auth, client, data):
    """The control for the test above: the copy is refused because the session ended, not for another reason."""
    auth.login("health1")
    token = csrf_token(client, "/queues/health")
    with data():
        waiting = make_request()
    taken = _replay(app, _cookie(client)).post("/queues/health/take-next", data={"csrf_token": token})
    assert taken.status_code == 303
    with data():
        assert Request.get_by_id(waiting.id).assignee.username == "health1"


def _age(data, username, **columns):
    with data():
        StaffSession.update(**columns).where(
            StaffSession.staff == Staff.get(Staff.username == username).id).execute()


def test_idle_session_expires(app, auth, client, data):
    auth.login("health1")
    assert client.get("/queues/health").status_code == 200
    _age(data, "health1", last_seen_at=utcnow() - dt.timedelta(minutes=29))
    assert client.get("/queues/health").status_code == 200  # 29 minutes idle: still on (and seen again now)
    _age(data, "health1", last_seen_at=utcnow() - dt.timedelta(minutes=31))
    answer = client.get("/queues/health")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")
    assert "انتهت جلستك. سجّل الدخول مجددًا للمتابعة." in client.get(answer.headers["Location"]).text
    [row] = _sessions(data, "health1")
    assert row.end_reason == "idle"
    assert client.get("/queues/health").status_code == 302  # and stays ended


def test_idle_minutes_come_from_configuration(app, auth, client, data):
    app.config["SESSION_IDLE_MINUTES"] = 5
    auth.login("health1")
    _age(data, "health1", last_seen_at=utcnow() - dt.timedelta(minutes=6))
    assert client.get("/queues/health").status_code == 302


def test_absolute_lifetime_ends_a_busy_session(app, auth, client, data):
    auth.login("health1")
    _age(data, "health1", created_at=utcnow() - dt.timedelta(hours=11, minutes=59))
    assert client.get("/queues/health").status_code == 200
    _age(data, "health1", created_at=utcnow() - dt.timedelta(hours=12, minutes=1), last_seen_at=utcnow())
    assert client.get("/queues/health").status_code == 302
    [row] = _sessions(data, "health1")
    assert row.end_reason == "expired"


def test_last_seen_is_written_at_most_once_a_minute(app, auth, client, data):
    auth.login("health1")
    recent = utcnow() - dt.timedelta(seconds=20)
    _age(data, "health1", last_seen_at=recent)
    client.get("/queues/health")
    assert _sessions(data, "health1")[0].last_seen_at == recent  # no write within the minute
    older = utcnow() - dt.timedelta(minutes=2)
    _age(data, "health1", last_seen_at=older)
    client.get("/queues/health")
    assert _sessions(data, "health1")[0].last_seen_at > older + dt.timedelta(minutes=1)


def test_sign_in_starts_a_new_session_and_ends_the_one_before(app, auth, client, data):
    auth.login("health1")
    before = _cookie(client)
    auth.login("health1")  # signing in again on the same browser
    rows = _sessions(data, "health1")
    assert len(rows) == 2 and rows[0].end_reason == "rotated" and rows[1].ended_at is None
    assert _replay(app, before).get("/queues/health").status_code == 302
    assert client.get("/queues/health").status_code == 200


def test_reauthentication_starts_a_new_session_id(app, auth, client, data):
    auth.login("supervisor1")
    before = _cookie(client)
    answer = client.post("/reauth/", data={"password": "demo", "next": "/queues/",
                                           "csrf_token": csrf_token(client, "/reauth/")})
    assert answer.status_code == 303 and answer.headers["Location"] == "/queues/"
    rows = _sessions(data, "supervisor1")
    assert [r.end_reason for r in rows] == ["rotated", None]
    assert client.get("/queues/").status_code == 200  # the person goes on, with the proof kept
    with client.session_transaction() as stored:
        assert "reauth_at" in stored
    assert _replay(app, before).get("/queues/").status_code == 302


def test_sign_out_everywhere(app, client, data):
    office, home = Auth(client), Auth(app.test_client())
    office.login("health1")
    home.login("health1")
    assert home.client.get("/account/sessions").text.count("<tr>") == 3  # the header and two sessions
    token = csrf_token(client, "/account/sessions")
    answer = office.client.post("/account/sessions/end-all", data={"csrf_token": token})
    assert answer.status_code == 303 and answer.headers["Location"] == "/login"
    for browser in (office.client, home.client):
        assert browser.get("/queues/health").status_code == 302
    assert {r.end_reason for r in _sessions(data, "health1")} == {"everywhere"}
    with data():
        assert SecurityEvent.get().kind == "signed_out_everywhere"


def test_the_account_page_is_linked_from_the_header(auth, client):
    auth.login("health1")
    page = client.get("/queues/health").text
    assert 'href="/account/sessions"' in page
    mine = client.get("/account/sessions").text
    assert "هذه الجلسة" in mine and 'action="/account/sessions/end-all"' in mine


def test_an_administrator_ends_another_persons_session(app, client, data):
    admin, clerk = Auth(client), Auth(app.test_client())
    clerk.login("health1")
    admin.login("admin1")
    overview = client.get("/admin/sessions/")
    assert overview.status_code == 200 and "health1" in overview.text
    with data():
        health = Staff.get(Staff.username == "health1")
        [row] = StaffSession.select().where(StaffSession.staff == health.id)
    person = client.get(f"/admin/sessions/{health.id}")
    assert person.status_code == 200 and row.id in person.text
    token = csrf_token(client, f"/admin/sessions/{health.id}")
    ended = client.post(f"/admin/sessions/{health.id}/end", data={"session": row.id, "csrf_token": token})
    assert ended.status_code == 303
    assert clerk.client.get("/queues/health").status_code == 302
    assert client.get("/queues/").status_code == 200  # the administrator's own session goes on
    assert _sessions(data, "health1")[0].end_reason == "admin"
    with data():
        event = SecurityEvent.get()
        assert (event.kind, event.subject_id, event.staff.username) == ("sessions_ended_by_admin", health.id, "admin1")
    again = client.post(f"/admin/sessions/{health.id}/end", data={"session": row.id, "csrf_token": token})
    assert again.status_code == 303  # already ended: said so, nothing else happens
    with data():
        assert SecurityEvent.select().count() == 1
    assert "كانت هذه الجلسة قد انتهت من قبل" in client.get(f"/admin/sessions/{health.id}").text


def test_an_administrator_ends_all_sessions_of_a_person(app, client, data):
    admin = Auth(client)
    clerks = [Auth(app.test_client()) for _ in range(3)]
    for clerk in clerks:
        clerk.login("health1")
    admin.login("admin1")
    with data():
        health = Staff.get(Staff.username == "health1")
    token = csrf_token(client, f"/admin/sessions/{health.id}")
    client.post(f"/admin/sessions/{health.id}/end", data={"all": "1", "csrf_token": token})
    assert all(c.client.get("/queues/health").status_code == 302 for c in clerks)
    assert "لا توجد جلسة قائمة" in client.get(f"/admin/sessions/{health.id}").text


def test_the_overview_pages_people_by_key(app, client, data):
    admin = Auth(client)
    admin.login("admin1")
    for username in ("health1", "health2", "comp1"):
        Auth(app.test_client()).login(username)
    from intranet.auth import session_views
    session_views.PAGE_SIZE = 2
    try:
        first = client.get("/admin/sessions/")
        assert first.status_code == 200 and "after=" in first.text
        after = first.text.split("after=")[1].split('"')[0]
        second = client.get(f"/admin/sessions/?after={after}")
        names = ("health1", "health2", "comp1", "admin1")
        seen = [n for n in names if f'<span dir="ltr">{n}</span>' in first.text + second.text]
        assert sorted(seen) == sorted(names)
    finally:
        session_views.PAGE_SIZE = 25


@pytest.mark.parametrize("path, method", [("/admin/sessions/", "get"), ("/admin/sessions/1", "get"),
                                          ("/admin/sessions/1/end", "post")])
@pytest.mark.parametrize("username", ["health1", "supervisor1", "reception1"])
def test_only_administrators_see_and_end_sessions(auth, client, data, path, method, username):
    auth.login(username)
    with data():
        own = Staff.get(Staff.username == username)
    path = path.replace("/1", f"/{own.id}")
    kwargs = {"data": {"all": "1", "csrf_token": csrf_token(client, "/queues/" if username != "reception1"
                                                             else "/reception/")}} if method == "post" else {}
    answer = getattr(client, method)(path, **kwargs)
    assert answer.status_code == 403
    assert _sessions(data, username)[0].ended_at is None
    assert "/admin/sessions/" not in client.get("/account/sessions").text


def test_session_cookie_flags(app, auth, client, monkeypatch):
    answer = auth.login("health1")
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    monkeypatch.setenv("INTRANET_SESSION_COOKIE_SECURE", "1")
    monkeypatch.setenv("INTRANET_SESSION_IDLE_MINUTES", "20")
    monkeypatch.setenv("INTRANET_SESSION_LIFETIME_HOURS", "8")
    loaded = config_module.load({"SECRET_KEY": "x", "INSTANCE_DIR": app.config["INSTANCE_DIR"]})
    assert (loaded["SESSION_COOKIE_SECURE"], loaded["SESSION_IDLE_MINUTES"], loaded["SESSION_LIFETIME_HOURS"]) == \
        (True, 20, 8)
    assert loaded["SESSION_COOKIE_NAME"] == "__Host-session"  # over HTTPS: Secure, Path=/, no Domain, or refused
    app.config.update(SESSION_COOKIE_SECURE=True, SESSION_COOKIE_NAME=loaded["SESSION_COOKIE_NAME"])
    secure = Auth(app.test_client()).login("health1")
    cookie = secure.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=") and "Secure" in cookie and "Path=/" in cookie \
        and "Domain" not in cookie


@pytest.mark.parametrize("value", ["99999999999999999999", "-1", "abc", "a\r\nb", "مرحبا", "2026-13-45T99:00~x",
                                   "2026-01-01~" + "f" * 500, ""])
def test_hostile_page_keys_and_forms_change_nothing(app, client, data, value):
    Auth(app.test_client()).login("health1")
    Auth(client).login("admin1")
    with data():
        health = Staff.get(Staff.username == "health1")
    for path in ("/admin/sessions/", f"/admin/sessions/{health.id}", "/account/sessions"):
        for name in ("after", "events_before", "username"):
            assert client.get(path, query_string={name: value}).status_code in (200, 302)
    token = csrf_token(client, "/account/sessions")
    answer = client.post(f"/admin/sessions/{health.id}/end", data={"session": value, "csrf_token": token})
    assert answer.status_code == 303
    assert client.get("/admin/sessions/99999999999999999999").status_code == 404
    assert _sessions(data, "health1")[0].ended_at is None
