"""Re-authentication before approving or exporting payouts: the password again, against the real directory, fresh
for a few minutes only."""
import datetime as dt

from flask import session

from intranet.auth import reauth
from tests.conftest import csrf_token

PAGE = "/reauth/"


def _is_fresh(app, client, **kwargs):
    """Ask reauth.fresh() with this client's session cookie."""
    with client.session_transaction() as stored:
        values = dict(stored)
    with app.test_request_context():
        session.update(values)
        return reauth.fresh(**kwargs)


def _confirm(client, password, next_="/queues/"):
    token = csrf_token(client, f"{PAGE}?next={next_}")
    return client.post(PAGE, data={"password": password, "next": next_, "csrf_token": token})


def test_the_page_names_the_person_and_keeps_a_safe_next(auth, client):
    auth.login("supervisor1")
    page = client.get(f"{PAGE}?next=/queues/")
    assert page.status_code == 200
    assert "عائشة الهاجري" in page.text and 'autocomplete="current-password"' in page.text
    assert 'name="next" type="hidden" value="/queues/"' in page.text
    assert 'value="https://evil.example/"' not in client.get(f"{PAGE}?next=https://evil.example/").text
    assert 'value="//evil.example/"' not in client.get(f"{PAGE}?next=//evil.example/").text


def test_the_wrong_password_is_refused_and_nothing_is_stored(app, auth, client):
    auth.login("supervisor1")
    answer = _confirm(client, "not-demo")
    assert answer.status_code == 422 and 'role="alert"' in answer.text
    with client.session_transaction() as stored:
        assert "reauth_at" not in stored
    assert not _is_fresh(app, client)


def test_an_empty_password_is_refused(app, auth, client):
    auth.login("supervisor1")
    assert _confirm(client, "").status_code == 422
    assert not _is_fresh(app, client)
    with app.test_request_context():
        assert reauth.confirm(_staff("supervisor1"), "") is False


def test_the_right_password_is_fresh_then_goes_stale(app, auth, client):
    auth.login("supervisor1")
    answer = _confirm(client, "demo", "/queues/?x=1")
    assert answer.status_code == 303 and answer.headers["Location"] == "/queues/?x=1"
    assert _is_fresh(app, client)
    with client.session_transaction() as stored:
        at = dt.datetime.fromisoformat(stored["reauth_at"])
    assert at.tzinfo is not None
    minutes = app.config.get("PAYOUT_REAUTH_MINUTES", 5)
    assert _is_fresh(app, client, now=at + dt.timedelta(minutes=minutes) - dt.timedelta(seconds=1))
    assert not _is_fresh(app, client, now=at + dt.timedelta(minutes=minutes, seconds=1))
    app.config["PAYOUT_REAUTH_MINUTES"] = 1
    assert not _is_fresh(app, client, now=at + dt.timedelta(minutes=2))


def test_a_stored_time_older_than_the_window_is_stale(app, auth, client):
    auth.login("supervisor1")
    _confirm(client, "demo")
    with client.session_transaction() as stored:
        stored["reauth_at"] = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=30)).isoformat()
    assert not _is_fresh(app, client)


def test_an_unsafe_next_goes_home(auth, client):
    auth.login("supervisor1")
    answer = _confirm(client, "demo", "//evil.example/")
    assert answer.status_code == 303 and "evil" not in answer.headers["Location"]


def test_the_proof_belongs_to_the_person_who_gave_it(app, auth, client):
    auth.login("supervisor1")
    _confirm(client, "demo")
    supervisor = _staff("supervisor1")
    auth.logout()
    auth.login("health1")
    health = _staff("health1")
    with client.session_transaction() as stored:
        values = dict(stored)
    with app.test_request_context():
        session.update(values)
        assert not reauth.fresh(user=health)
        assert reauth.fresh(user=supervisor) == ("reauth_at" in values)


def test_a_clerk_confirms_only_their_own_password(app, auth, client):
    auth.login("health1")
    assert _confirm(client, "demo").status_code == 303
    assert _is_fresh(app, client)


def test_anonymous_is_sent_to_sign_in(client):
    answer = client.get(f"{PAGE}?next=/queues/")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    assert client.post(PAGE, data={"password": "demo"}).status_code in (302, 400)


def _staff(username):
    from intranet import db
    from intranet.models import Staff
    with db.database.connection_context():
        return Staff.get(Staff.username == username)
