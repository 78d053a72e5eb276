"""Re-authentication before a step that moves money: the signed-in person proves their password again, and the
proof stays fresh for a few minutes (PAYOUT_REAUTH_MINUTES) in this session only. Proving it starts a new session
id (intranet/auth/sessions.py); wrong passwords count against the same allowance as at sign-in (throttle.py).
A supervisor or administrator (MFA_ROLES) gives their one-time code with the password (intranet/auth/mfa.py)."""
import datetime as dt

from flask import current_app, session
from intranet.i18n import gettext as _

from intranet.auth import mfa, sessions, throttle
from intranet.auth.directory import authenticate

SESSION_KEY = "reauth_at"
SESSION_USER_KEY = "reauth_by"  # the proof belongs to whoever gave it, not to the next person on this browser


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def confirm(user, password: str, code: str | None = None) -> bool:
    """True, and the time remembered, if the directory accepts this person's password and, for a person with a second
    factor (mfa.required), `code` is right (and used up); DirectoryUnavailable passes up."""
    if not password:
        return False  # an empty password would be an unauthenticated bind; authenticate() refuses it too
    person = authenticate(user.username, password)
    if person is None or person.username.casefold() != user.username.casefold():
        return False
    if mfa.required(user) and not mfa.check(user, code or ""):  # the code is tried only after a right password
        return False
    session[SESSION_KEY] = _now().isoformat()
    session[SESSION_USER_KEY] = user.id
    sessions.rotate(user)  # a new session id once the password is proven again
    return True


def prove(user, password: str, code: str | None = None):
    """The password again, wherever it is asked (/reauth/, the payouts' own prompt), with the one-time code of a
    person who has a second factor (intranet/auth/mfa.py): while the sign-in allowance is spent nothing is tried; a
    wrong password or code counts against it. Returns (proven, error, status, headers)."""
    address = sessions.client_address()
    if wait := throttle.wait_seconds(user.username, address):
        return False, throttle.refusal(wait), 429, {"Retry-After": str(wait)}
    with_code = mfa.required(user)
    if with_code and not mfa.enrolled(user):  # the roles changed while signed in: enrolment happens at sign-in
        return False, _("Sign out and sign in again to set up your sign-in codes first."), 422, {}
    if with_code and not (code or "").strip():
        return False, _("Enter the code from your authenticator app as well."), 422, {}
    if confirm(user, password, code):  # DirectoryUnavailable: errors.py answers 503
        throttle.succeeded(user.username)
        return True, None, 200, {}
    throttle.failed(user.username, address, "reauth", staff=user)
    return False, (_("The password or the code is wrong.") if with_code else _("The password is wrong.")), 422, {}


def reauth_at(user=None) -> dt.datetime | None:
    """When the password was last re-entered in this session (by `user`, if given), as an aware UTC time."""
    value = session.get(SESSION_KEY)
    if not value or (user is not None and session.get(SESSION_USER_KEY) != user.id):
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def fresh(now: dt.datetime | None = None, user=None) -> bool:
    """The password was re-entered within the configured minutes (and not in the future: a clock that jumped)."""
    when = reauth_at(user)
    if when is None:
        return False
    now = now or _now()
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)
    window = dt.timedelta(minutes=current_app.config["PAYOUT_REAUTH_MINUTES"])
    return dt.timedelta(0) <= now - when <= window


def forget() -> None:
    session.pop(SESSION_KEY, None)
    session.pop(SESSION_USER_KEY, None)
