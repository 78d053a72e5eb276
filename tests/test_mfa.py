"""The second factor of supervisors and administrators (intranet/auth/mfa.py): enrolment with a QR code and the
secret as text, sign-in refused without a right code (no page, no form answers the password step alone), codes
used once, recovery codes used once, wrong codes held back like wrong passwords, the code asked again with the
password before money moves, an administrator's reset; clerks and reception are never asked."""
import re

import pyotp
import pytest

from intranet.auth import mfa
from intranet.models import Staff
from intranet.models.mfa import RecoveryCode, StaffFactor
from intranet.models.payouts import Payout
from intranet.models.sessions import SecurityEvent, StaffSession
from tests.conftest import Auth, csrf_token

T0 = 30 * 56_666_666  # a fixed time step: the tests move the clock themselves
STEP0 = T0 // 30
SECRET = re.compile(r'id="mfa-secret"><bdi dir="ltr" class="ltr">([A-Z2-7 ]+)</bdi>')
RECOVERY = re.compile(r'<li><bdi dir="ltr" class="ltr">([0-9a-z-]+)</bdi></li>')
ALERT = re.compile(r'<p class="alert" role="alert">([^<]*)</p>')


@pytest.fixture
def clock(app, monkeypatch):
    """The second factor on for supervisors and administrators (the suite's `app` has it off), at a fixed time."""
    app.config["MFA_ROLES"] = ("supervisor", "admin")
    now = {"t": float(T0)}
    monkeypatch.setattr(mfa, "_now", lambda: now["t"])
    return now


def code(secret, step=STEP0):
    return pyotp.TOTP(secret).generate_otp(step)


def send_code(client, value, path="/login/code"):
    return client.post(path, data={"code": value, "csrf_token": csrf_token(client, path)})


def enrol(client, username="supervisor1"):
    """Password, then the enrolment page, then a right code: (secret, recovery codes)."""
    assert Auth(client).login(username).headers["Location"] == "/login/code"
    page = client.get("/login/enrol")
    secret = SECRET.search(page.text).group(1).replace(" ", "")
    done = send_code(client, code(secret), "/login/enrol")
    assert done.status_code == 200, done.text
    return secret, RECOVERY.findall(done.text)


def signed_in(client) -> bool:
    return client.get("/account/sessions").status_code == 200


def test_clerks_and_reception_are_never_asked(client, auth, clock, data):
    for username in ("health1", "reception1"):
        answer = auth.login(username)
        assert answer.status_code == 302 and "/login" not in answer.headers["Location"]
        assert signed_in(client)
        auth.logout()
    with data():
        assert StaffFactor.select().count() == 0


def test_enrolment_shows_the_qr_and_the_secret_then_a_right_code_signs_in(client, auth, clock, data):
    first = auth.login("supervisor1")
    assert first.status_code == 303 and first.headers["Location"] == "/login/code"
    assert client.get("/login/code").headers["Location"] == "/login/enrol"  # not set up yet
    page = client.get("/login/enrol")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert '<img class="mfa-qr" src="data:image/svg+xml' in page.text
    assert "تطبيق" in page.text  # explained in Arabic, the default language
    shown = SECRET.search(page.text).group(1)
    assert re.fullmatch(r"([A-Z2-7]{4} )+[A-Z2-7]{4}", shown)  # by four, isolated left to right
    secret = shown.replace(" ", "")
    assert SECRET.search(client.get("/login/enrol").text).group(1) == shown  # the same until confirmed
    with data():
        row = StaffFactor.get()
        assert row.secret == secret and row.enrolled_at is None

    wrong = send_code(client, "000000" if code(secret) != "000000" else "111111", "/login/enrol")
    assert wrong.status_code == 401 and ALERT.search(wrong.text)
    assert not signed_in(client)

    done = send_code(client, code(secret), "/login/enrol")
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    codes = RECOVERY.findall(done.text)
    assert len(codes) == 10 and len(set(codes)) == 10 and all(re.fullmatch(r"[0-9a-z]{4}(-[0-9a-z]{4}){2}", c)
                                                               for c in codes)
    assert signed_in(client)
    with data():
        assert StaffSession.select().where(StaffSession.ended_at.is_null()).count() == 1
        assert StaffFactor.get().enrolled_at is not None
        stored = [r.digest for r in RecoveryCode.select()]
        assert len(stored) == 10 and not any(c.replace("-", "") in d or c in d for c in codes for d in stored)
        assert SecurityEvent.get().kind == "second_factor_enrolled"

    auth.logout()
    clock["t"] += 30
    assert auth.login("supervisor1").headers["Location"] == "/login/code"
    again = client.get("/login/code")
    assert again.status_code == 200 and secret[:4] not in again.text and "mfa-qr" not in again.text
    assert client.get("/login/enrol").headers["Location"] == "/login/code"  # never shown again


def test_the_password_alone_reaches_nothing(client, auth, clock, data):
    enrol(client)
    auth.logout()
    assert auth.login("supervisor1").headers["Location"] == "/login/code"
    for path in ("/queues/", "/payouts/", "/account/sessions", "/admin/sessions/", "/reauth/"):
        answer = client.get(path)
        assert answer.status_code == 302 and answer.headers["Location"].startswith("/login"), path
    token = csrf_token(client, "/login/code")
    ended = client.post("/account/sessions/end-all", data={"csrf_token": token})
    assert ended.status_code == 302 and ended.headers["Location"].startswith("/login")
    decide = client.post("/payouts/decide", data={"csrf_token": token, "ids": ["1"], "decision": "approve",
                                                  "password": "demo"})
    assert decide.status_code == 302 and decide.headers["Location"].startswith("/login")
    with data():
        assert StaffSession.select().where(StaffSession.ended_at.is_null()).count() == 0
    with client.session_transaction() as stored:
        assert "_user_id" not in stored and "sid" not in stored


def test_a_session_held_before_ends_at_the_password_step(client, auth, clock, data):
    auth.login("health1")
    assert signed_in(client)
    assert auth.login("supervisor1").headers["Location"] == "/login/code"
    assert not signed_in(client)
    with data():
        assert StaffSession.select().where(StaffSession.ended_at.is_null()).count() == 0


def test_a_code_works_once(client, auth, clock):
    secret, _codes = enrol(client)  # the code of STEP0 is used
    auth.logout()
    auth.login("supervisor1")
    assert send_code(client, code(secret, STEP0)).status_code == 401  # the enrolment's own code, again
    assert not signed_in(client)
    passed = send_code(client, code(secret, STEP0 + 1))  # one step ahead: a clock a little apart
    assert passed.status_code == 303 and passed.headers["Location"] == "/queues/"
    assert signed_in(client)
    auth.logout()
    clock["t"] += 30
    auth.login("supervisor1")
    assert send_code(client, code(secret, STEP0 + 1)).status_code == 401  # replayed
    assert send_code(client, code(secret, STEP0)).status_code == 401  # older than the last one used
    assert send_code(client, code(secret, STEP0 + 3)).status_code == 401  # too far ahead
    assert send_code(client, "12 34 5x").status_code == 401
    assert send_code(client, code(secret, STEP0 + 2)).status_code == 303


def test_the_next_page_is_kept_through_the_code(client, clock):
    secret, _codes = enrol(client)
    Auth(client).logout()
    token = csrf_token(client)
    asked = client.post("/login?next=/payouts/", data={"username": "supervisor1", "password": "demo",
                                                       "csrf_token": token, "next": "/payouts/"})
    assert asked.headers["Location"] == "/login/code"
    assert send_code(client, code(secret, STEP0 + 1)).headers["Location"] == "/payouts/"


def test_the_time_to_give_the_code_runs_out(client, auth, clock):
    secret, _codes = enrol(client)
    auth.logout()
    auth.login("supervisor1")
    clock["t"] += mfa.PENDING_MINUTES * 60 + 1
    token = csrf_token(client, "/account/sessions")  # any page's token: the session's, not the page's
    late = client.post("/login/code", data={"code": code(secret, STEP0 + 20), "csrf_token": token})
    assert late.status_code == 303 and late.headers["Location"] == "/login"
    assert "انتهت المهلة المتاحة لإدخال الرمز" in client.get("/login").text  # said once
    assert not signed_in(client)
    nothing_held = client.get("/login/enrol")  # straight to the code pages, without a password: the sign-in page
    assert nothing_held.status_code == 303 and nothing_held.headers["Location"] == "/login"


def test_a_recovery_code_works_once(client, auth, clock, data):
    _secret, codes = enrol(client)
    auth.logout()
    auth.login("supervisor1")
    used = send_code(client, codes[0])
    assert used.status_code == 303
    assert "بقيت لديك 9 رموز استرداد" in client.get("/account/sessions").text  # flashed, and signed in
    auth.logout()
    auth.login("supervisor1")
    assert send_code(client, codes[0]).status_code == 401
    typed = codes[1].upper().replace("-", " ")  # as someone may type it
    assert send_code(client, typed).status_code == 303
    with data():
        assert RecoveryCode.select().where(RecoveryCode.used_at.is_null()).count() == 8
        assert SecurityEvent.select().where(SecurityEvent.kind == "recovery_code_used").count() == 2


def test_wrong_codes_are_held_back_like_wrong_passwords(client, auth, clock, data):
    secret, _codes = enrol(client)
    auth.logout()
    auth.login("supervisor1")
    wrong = "000000" if code(secret, STEP0 + 1) != "000000" else "111111"
    assert [send_code(client, wrong).status_code for _n in range(3)] == [401] * 3
    auth.login("supervisor1")  # the right password again does not clear the count of wrong codes
    assert [send_code(client, wrong).status_code for _n in range(2)] == [401] * 2
    held = send_code(client, code(secret, STEP0 + 1))
    assert held.status_code == 429 and int(held.headers["Retry-After"]) > 0
    assert not signed_in(client)
    with data():
        assert SecurityEvent.select().where(SecurityEvent.kind == "login_locked").count() == 1
        assert StaffFactor.get().last_step == STEP0  # the right code was not even tried


def test_reauthentication_asks_the_code_too(client, auth, clock, data):
    secret, _codes = enrol(client)
    page = client.get("/reauth/?next=/payouts/")
    assert page.status_code == 200 and 'name="code"' in page.text

    def confirm(**fields):
        return client.post("/reauth/", data={"csrf_token": csrf_token(client, "/reauth/"), "next": "/payouts/",
                                             "password": "demo", **fields})

    assert confirm().status_code == 422  # the password alone
    assert confirm(code=code(secret, STEP0)).status_code == 422  # used at enrolment
    assert confirm(password="nope", code=code(secret, STEP0 + 1)).status_code == 422
    with data():
        assert StaffFactor.get().last_step == STEP0  # a wrong password does not use the code up
    with client.session_transaction() as stored:
        assert "reauth_at" not in stored
    done = confirm(code=code(secret, STEP0 + 1))
    assert done.status_code == 303 and done.headers["Location"] == "/payouts/"
    with client.session_transaction() as stored:
        assert "reauth_at" in stored


def test_the_payouts_prompt_asks_the_code(client, auth, clock, data):
    from tests.factories import make_staff
    from tests.test_payouts import complete

    with data():
        staff = {"health": make_staff("h1", "clerk", "health"), "comp": make_staff("c1", "clerk", "compensation")}
        payout = Payout.get(Payout.request == complete(staff, amount="300").id).id
    secret, _codes = enrol(client)
    token = csrf_token(client, "/payouts/")
    form = {"csrf_token": token, "ids": [str(payout)], "decision": "approve", "override_reason": ""}
    asked = client.post("/payouts/decide", data=form)
    assert asked.status_code == 200 and 'id="password-again"' in asked.text and 'name="code"' in asked.text
    without = client.post("/payouts/decide", data=form | {"password": "demo"})
    assert without.status_code == 422 and ALERT.search(without.text)
    with data():
        assert Payout.get_by_id(payout).status == "pending"
    done = client.post("/payouts/decide", data=form | {"password": "demo", "code": code(secret, STEP0 + 1)})
    assert done.status_code == 303
    with data():
        assert Payout.get_by_id(payout).status == "approved"


def test_an_administrator_resets_the_second_factor(app, clock, data):
    supervisor, admin = app.test_client(), app.test_client()
    old_secret, _codes = enrol(supervisor)
    clock["t"] += 30
    enrol(admin, "admin1")
    with data():
        person = Staff.get(Staff.username == "supervisor1")
    page = admin.get(f"/admin/sessions/{person.id}")
    assert page.status_code == 200 and 'id="reset-second-factor"' in page.text
    assert "10" in page.text.split('id="second-factor"')[1]  # the recovery codes left

    token = csrf_token(supervisor, "/queues/")
    refused = supervisor.post(f"/admin/sessions/{person.id}/second-factor/reset", data={"csrf_token": token})
    assert refused.status_code == 403

    token = csrf_token(admin, f"/admin/sessions/{person.id}")
    reset = admin.post(f"/admin/sessions/{person.id}/second-factor/reset", data={"csrf_token": token})
    assert reset.status_code == 303
    assert not signed_in(supervisor)  # their sessions ended with it
    with data():
        assert not StaffFactor.select().where(StaffFactor.staff == person.id).exists()
        assert not RecoveryCode.select().where(RecoveryCode.staff == person.id).exists()
        event = SecurityEvent.get(SecurityEvent.kind == "second_factor_reset")
        assert (event.staff.username, event.subject.username) == ("admin1", "supervisor1")
    assert "second_factor_reset" not in admin.get("/admin/sessions/").text  # labelled, not the raw kind
    again = admin.post(f"/admin/sessions/{person.id}/second-factor/reset", data={"csrf_token": token})
    assert again.status_code == 303  # nothing to reset: said so, nothing changed
    new_secret, _codes = enrol(supervisor)
    assert new_secret != old_secret
