"""Re-authentication before a step that moves money: the signed-in person proves their password again, and the
proof stays fresh for a few minutes (PAYOUT_REAUTH_MINUTES) in this session only."""
import datetime as dt

from flask import current_app, session

from intranet.auth.directory import authenticate

SESSION_KEY = "reauth_at"
SESSION_USER_KEY = "reauth_by"  # the proof belongs to whoever gave it, not to the next person on this browser


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def confirm(user, password: str) -> bool:
    """True, and the time remembered, if the directory accepts this person's password; DirectoryUnavailable passes up."""
    if not password:
        return False  # an empty password would be an unauthenticated bind; authenticate() refuses it too
    person = authenticate(user.username, password)
    if person is None or person.username.casefold() != user.username.casefold():
        return False
    session[SESSION_KEY] = _now().isoformat()
    session[SESSION_USER_KEY] = user.id
    return True


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
    window = dt.timedelta(minutes=current_app.config.get("PAYOUT_REAUTH_MINUTES", 5))
    return dt.timedelta(0) <= now - when <= window


def forget() -> None:
    session.pop(SESSION_KEY, None)
    session.pop(SESSION_USER_KEY, None)
