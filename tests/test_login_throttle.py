"""Throttled guessing: wrong passwords counted per user name and per client address at sign-in and at
re-authentication; once held back, even the right password is refused with one message for every account,
existing or not; each lockout is a security event administrators see; a Redis store shares the counts."""
import re
import tempfile
from pathlib import Path

import pytest

from intranet import create_app
from intranet.models import Staff
from intranet.models.sessions import SecurityEvent
from tests.conftest import Auth, csrf_token
from tests.servers import Redis

LOCKED_AR = "أُدخلت كلمة مرور خاطئة مرات كثيرة"
ALERT = re.compile(r'<p class="alert" role="alert">([^<]*)</p>')


def _alert(answer) -> str:
    found = ALERT.search(answer.text)
    return found.group(1) if found else ""


def test_forty_wrong_passwords_then_the_right_one_is_refused(auth, data):
    answers = [auth.login("health1", f"guess-{n}") for n in range(40)]
    assert [a.status_code for a in answers[:5]] == [401] * 5
    assert {a.status_code for a in answers[5:]} == {429}
    right = auth.login("health1", "demo")
    assert right.status_code == 429 and LOCKED_AR in _alert(right)
    assert 0 < int(right.headers["Retry-After"]) <= 15 * 60
    assert auth.client.get("/queues/health").status_code == 302  # not signed in
    with data():
        assert not Staff.select().where(Staff.username == "health1").exists()
        [event] = SecurityEvent.select()  # the lockout, once
        assert (event.kind, event.username, event.address) == ("login_locked", "health1", "127.0.0.1")


def test_an_unknown_user_gets_the_same_answer(app, data):
    known, unknown = Auth(app.test_client()), Auth(app.test_client())
    for n in range(5):
        assert known.login("health1", f"guess-{n}").status_code == 401
        assert unknown.login("nobody-here", f"guess-{n}").status_code == 401
    held, held_unknown = known.login("health1", "demo"), unknown.login("nobody-here", "demo")
    assert held.status_code == held_unknown.status_code == 429
    assert _alert(held) == _alert(held_unknown) and LOCKED_AR in _alert(held)


def test_the_user_name_is_counted_however_it_is_typed(auth):
    for typed in ("health1", "Health1", " HEALTH1", "health1 ", "hEaLtH1"):
        auth.login(typed, "wrong")
    assert auth.login("health1", "demo").status_code == 429


def test_the_right_password_clears_the_user_names_count(auth):
    for _round in range(3):
        for n in range(4):
            assert auth.login("health1", f"guess-{n}").status_code == 401
        assert auth.login("health1", "demo").status_code == 302
        auth.logout()


def test_one_address_is_held_back_after_twenty_failures_across_user_names(app, data):
    guesser = Auth(app.test_client())
    for n in range(20):
        assert guesser.login(f"user{n}", "wrong").status_code == 401
    assert guesser.login("health1", "demo").status_code == 429  # from this address, even a new user name
    elsewhere = Auth(app.test_client())
    elsewhere.client.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert elsewhere.login("health1", "demo").status_code == 302  # from another address, the person signs in
    with data():
        assert SecurityEvent.get(SecurityEvent.kind == "login_locked").detail == "per address"


def test_a_user_name_is_held_back_from_every_address(app):
    for n in range(5):
        browser = Auth(app.test_client())
        browser.client.environ_base["REMOTE_ADDR"] = f"10.0.0.{n + 1}"
        browser.login("health1", "wrong")
    other = Auth(app.test_client())
    other.client.environ_base["REMOTE_ADDR"] = "10.9.9.9"
    assert other.login("health1", "demo").status_code == 429


def test_re_authentication_is_throttled_too(auth, client, data):
    auth.login("supervisor1")

    def confirm(password):
        return client.post("/reauth/", data={"password": password, "next": "/payouts/",
                                             "csrf_token": csrf_token(client, "/reauth/")})

    assert [confirm(f"guess-{n}").status_code for n in range(5)] == [422] * 5
    right = confirm("demo")
    assert right.status_code == 429 and LOCKED_AR in _alert(right) and "Retry-After" in right.headers
    with client.session_transaction() as stored:
        assert "reauth_at" not in stored
    with data():
        event = SecurityEvent.get()
        assert (event.kind, event.username, event.staff.username) == ("reauth_locked", "supervisor1", "supervisor1")
    # the same allowance as sign-in: the account's password cannot be guessed there instead
    assert Auth(client.application.test_client()).login("supervisor1", "demo").status_code == 429


def test_lockouts_are_listed_for_administrators(app, client):
    guesser = Auth(app.test_client())
    guesser.client.environ_base["REMOTE_ADDR"] = "10.7.7.7"
    for n in range(5):
        guesser.login("comp1", f"guess-{n}")
    Auth(client).login("admin1")
    page = client.get("/admin/sessions/").text
    assert "إيقاف مؤقت لتسجيل الدخول بعد كلمات مرور خاطئة" in page and "comp1" in page and "10.7.7.7" in page


def test_the_english_message(auth, client):
    client.post("/language", data={"lang": "en", "next": "/login", "csrf_token": csrf_token(client)})
    for n in range(6):
        answer = auth.login("health1", f"guess-{n}")
    assert answer.status_code == 429
    assert _alert(answer).startswith("Too many wrong passwords. Wait 15 minutes")


@pytest.fixture(scope="module")
def redis_url():
    server = Redis(Path(tempfile.mkdtemp(prefix="diwan-redis-"))).start()
    yield server.url
    server.stop()


def _settings(app, **overrides):
    """The test app's settings (its database, with the reference data loaded; its directory) for more workers."""
    names = ("TESTING", "DATABASE_URL", "INSTANCE_DIR", "SECRET_KEY", "LDAP_URL", "LDAP_BASE_DN", "LDAP_USER_BASE",
             "LDAP_GROUP_BASE")
    return {**{name: app.config[name] for name in names}, **overrides}


def test_workers_on_redis_share_the_counts(app, redis_url):
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    settings = _settings(app, RATELIMIT_STORAGE_URL=redis_url)
    first, second = create_app(settings), create_app(settings)  # two workers, one store
    for n in range(3):
        assert Auth(first.test_client()).login("pension1", f"guess-{n}").status_code == 401
    for n in range(2):
        assert Auth(second.test_client()).login("pension1", f"guess-{n}").status_code == 401
    assert Auth(first.test_client()).login("pension1", "demo").status_code == 429
    assert Auth(second.test_client()).login("pension1", "demo").status_code == 429
    memory = create_app({**settings, "RATELIMIT_STORAGE_URL": "memory://"})  # the control: a store of its own
    assert Auth(memory.test_client()).login("pension1", "demo").status_code == 302


def test_behind_a_trusted_proxy_each_client_has_its_own_address(app):
    settings = _settings(app)

    def twenty_failures_then_another_client(app):
        guesser = Auth(app.test_client())
        guesser.client.environ_base["HTTP_X_FORWARDED_FOR"] = "10.0.0.66"
        for n in range(20):
            guesser.login(f"user{n}", "wrong")
        other = Auth(app.test_client())
        other.client.environ_base["HTTP_X_FORWARDED_FOR"] = "10.0.0.77"
        return other.login("health1", "demo").status_code

    assert twenty_failures_then_another_client(create_app({**settings, "TRUSTED_PROXIES": 1})) == 302
    assert twenty_failures_then_another_client(create_app(settings)) == 429  # the header is not believed


def test_failed_sign_ins_and_refused_pages_are_logged_without_secrets(auth, client, caplog):
    """What an operator reads back after an attack (ASVS 7.1.3, 7.2.1, 7.2.2): each wrong password with the user name
    and address, each refused page with who asked; never the password typed."""
    caplog.set_level("WARNING", logger="intranet.security")
    auth.login("health1", "hunter2-guess")
    auth.login("health1")
    assert client.get("/payouts/").status_code == 403  # a clerk at the supervisors' screen
    lines = [record.getMessage() for record in caplog.records if record.name == "intranet.security"]
    assert any("login failed for user name 'health1' from 127.0.0.1" in line for line in lines), lines
    assert any("access refused: GET /payouts/ by health1" in line for line in lines), lines
    assert not any("hunter2" in line for line in lines)
