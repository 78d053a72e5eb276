"""Sessions the server can end.

Flask's session is a signed cookie: the server cannot take one back, so a copy made before sign-out used to keep
working. Now each sign-in makes a `staff_session` row keyed by the SHA-256 of a random token, the token goes
into the signed cookie, and flask-login's user loader (`load`) accepts the cookie only while that row is live:
not ended (sign-out, "sign out everywhere", an administrator), not idle longer than SESSION_IDLE_MINUTES, not
older than SESSION_LIFETIME_HOURS. A new token is issued at sign-in and at re-authentication.

The loader reads the row with the person in one query (their department is a reference row, intranet/reference.py),
and with them what every request may ask: the reference data's stamp, whether the person holds a delegation today,
the newest history row (issue 21: on PostgreSQL each statement is a round trip);
`last_seen_at` is written at most once a minute (a conditional UPDATE), so idle time is measured to the minute.
"""
import datetime as dt
import hashlib
import secrets

from flask import current_app, flash, g, request, session
from intranet.i18n import gettext as _
from intranet.i18n import lazy_gettext as _l
from flask_login import login_user, logout_user
from peewee import JOIN, SQL, fn

from intranet import paging
from intranet.auth import permissions
from intranet import reference
from intranet.db import instance, select_tuples, transaction
from intranet.models import Department, Staff, utcnow
from intranet.models.delegations import Delegation
from intranet.models.sessions import SecurityEvent, StaffSession
from intranet.notify import staff as staff_notices
from intranet.stats.figures import local_today

SESSION_KEY = "sid"
KEEP_ACROSS_SIGN_IN = ("lang",)  # what a new session inherits from the browser's previous one
TOUCH_EVERY = dt.timedelta(minutes=1)
_PERSON = len(Staff._meta.sorted_fields)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _idle() -> dt.timedelta:
    return dt.timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])


def _lifetime() -> dt.timedelta:
    return dt.timedelta(hours=current_app.config["SESSION_LIFETIME_HOURS"])


def client_address() -> str:
    return (request.remote_addr or "")[:64]


def _clear_cookie() -> None:
    """Empty the signed session, keeping only the language the person chose."""
    kept = {key: session[key] for key in KEEP_ACROSS_SIGN_IN if key in session}
    session.clear()
    session.update(kept)
    # Flask-WTF caches the signed CSRF token in `g` for the app context: the one of the session just cleared must
    # not be rendered into the next form (a page rendered after sign-in, or a test holding one app context)
    g.pop(current_app.config["WTF_CSRF_FIELD_NAME"], None)


def _open(staff) -> None:
    """A new row and its token in the cookie."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with transaction():
        StaffSession.create(id=_digest(token), staff=staff.id, created_at=now, last_seen_at=now,
                            user_agent=(request.user_agent.string or "")[:300], address=client_address())
    session[SESSION_KEY] = token


def _end(where, reason: str) -> int:
    """End the live rows matching `where`; how many."""
    with transaction():
        return (StaffSession.update(ended_at=utcnow(), end_reason=reason)
                .where(where & StaffSession.ended_at.is_null()).execute())


def current_id() -> str | None:
    token = session.get(SESSION_KEY)
    return _digest(token) if isinstance(token, str) and token else None


def begin(staff) -> None:
    """Sign the person in on a new session: the previous one (if any) ends, the cookie starts afresh."""
    previous = current_id()
    if previous:
        _end(StaffSession.id == previous, "rotated")
    _clear_cookie()
    _open(staff)
    login_user(staff)


def rotate(staff) -> None:
    """A new session id for the same person (after re-authentication); the rest of the cookie stays."""
    previous = current_id()
    if previous:
        _end(StaffSession.id == previous, "rotated")
    _open(staff)


def finish(reason: str = "logout") -> None:
    """Sign out: the row ends for good, the cookie is emptied."""
    ending = current_id()
    if ending:
        _end(StaffSession.id == ending, reason)
    logout_user()
    _clear_cookie()


def load(staff_id):
    """flask-login's user loader: the person if the cookie's session is live, else None (and the cookie emptied)."""
    row_id = current_id()
    if row_id is None:
        return _refuse()
    day = local_today()
    found = select_tuples("staff_session", lambda session_id, day: (  # every request: its SQL made once, as values
        StaffSession.select(StaffSession.created_at, StaffSession.last_seen_at, StaffSession.ended_at,
                            *Staff._meta.sorted_fields, *map(SQL, reference.STAMP_COLUMNS),
                            Delegation.held_by(Staff.id, day), *map(SQL, staff_notices.HEAD_COLUMNS))
        .join(Staff).where(StaffSession.id == session_id).limit(1).tuples()), row_id, day)
    if not found:
        return _refuse()
    created_at, last_seen_at, ended_at, *rest = found[0]
    staff = instance(Staff, rest[:_PERSON])
    stamp, held, head = rest[_PERSON:_PERSON + 3], rest[_PERSON + 3], rest[_PERSON + 4:]
    if ended_at is not None or str(staff.id) != str(staff_id) or not staff.active:
        return _refuse()
    now = utcnow()
    if now - created_at > _lifetime():
        _end(StaffSession.id == row_id, "expired")
        return _refuse()
    if now - last_seen_at > _idle():
        _end(StaffSession.id == row_id, "idle")
        return _refuse()
    if now - last_seen_at >= TOUCH_EVERY:
        with transaction():  # whoever of two parallel requests comes second finds it done
            (StaffSession.update(last_seen_at=now)
             .where((StaffSession.id == row_id) & StaffSession.ended_at.is_null()
                    & (StaffSession.last_seen_at < now - TOUCH_EVERY)).execute())
    # what every request may ask came with the row: one round trip, not four (issue 21)
    reference.take_stamp(tuple(stamp))
    staff_notices.take_history_head(head)
    if not held:
        permissions.none_held(staff, day)
    if staff.department_id:  # the header names it on every page: a reference row, not read again each time
        staff.department = reference.by_id(Department, staff.department_id)
        staff._dirty.clear()
    g.staff_session_id = row_id
    return staff


def _refuse():
    if SESSION_KEY in session or "_user_id" in session:
        _clear_cookie()
        flash(_("Your session has ended. Sign in again to go on."), "info")
    return None


# --- the person's own sessions, and the administrators' view ------------------------------------------------------

def _live(now=None):
    now = now or utcnow()
    return (StaffSession.ended_at.is_null() & (StaffSession.last_seen_at > now - _idle())
            & (StaffSession.created_at > now - _lifetime()))


def live_sessions(staff_id: int, after: str | None = None, limit: int = 25):
    """A person's live sessions, newest first, a page at a time: (rows, the `after` of the next page or None).
    `after` is "<created_at ISO>~<id>" of the last row shown; anything else starts at the first page."""
    query = StaffSession.select().where(_live() & (StaffSession.staff == staff_id))
    return paging.page(query, (StaffSession.created_at, StaffSession.id), _parse_cursor(after), limit,
                       descending=True, next_key=lambda row: f"{row.created_at.isoformat()}~{row.id}")


def _parse_cursor(after):
    if not after or "~" not in after:
        return None
    created, row_id = after.split("~", 1)
    try:
        return dt.datetime.fromisoformat(created).replace(tzinfo=None), row_id[:64]
    except ValueError:
        return None


def people_with_sessions(after: int | None = None, limit: int = 25):
    """People who have live sessions, by staff id, a page at a time: ([(staff, count, last seen)], next after)."""
    counts = (StaffSession.select(StaffSession.staff_id, fn.COUNT(StaffSession.id).alias("live"),
                                  fn.MAX(StaffSession.last_seen_at).alias("seen"))
              .where(_live()).group_by(StaffSession.staff_id))
    rows, next_after = paging.page(counts.dicts(), StaffSession.staff_id, after, limit)
    people = {s.id: s for s in Staff.select(Staff, Department).join(Department, JOIN.LEFT_OUTER)
              .where(Staff.id.in_([r["staff"] for r in rows]))} if rows else {}
    found = [(people[r["staff"]], r["live"], r["seen"]) for r in rows if r["staff"] in people]
    return found, next_after


def end_everywhere(staff, actor=None) -> int:
    """End all of a person's sessions: by themselves ("sign out everywhere") or by an administrator. The count."""
    reason = "everywhere" if actor is None or actor.id == staff.id else "admin"
    with transaction():
        count = _end(StaffSession.staff == staff.id, reason)
        record("signed_out_everywhere" if reason == "everywhere" else "sessions_ended_by_admin",
               username=staff.username, staff=actor or staff, subject=staff, detail=str(count))
    return count


def end_by_directory(staff, actor=None, detail: str = "") -> int:
    """End all of a person's sessions because the directory changed them (intranet/staff/sync.py): `actor` the
    administrator who ran the sync, None the schedule. The count; the next request of each is refused."""
    with transaction():
        count = _end(StaffSession.staff == staff.id, "directory")
        record("sessions_ended_by_directory", username=staff.username, staff=actor, subject=staff,
               detail=f"{count} {detail}".strip(), address="" if actor is None else None)
    return count


def end_one(staff, session_id: str, actor) -> bool:
    """An administrator ends one of a person's sessions; False if it was not live (or not theirs)."""
    with transaction():
        count = _end((StaffSession.id == session_id[:64]) & (StaffSession.staff == staff.id), "admin")
        if count:
            record("sessions_ended_by_admin", username=staff.username, staff=actor, subject=staff, detail="1")
    return bool(count)


def record(kind: str, username: str = "", staff=None, subject=None, detail: str = "", address: str | None = None):
    """A security event row, and the same at WARNING in the app log."""
    address = client_address() if address is None else address
    current_app.logger.warning("security event %s: user=%r address=%s detail=%s", kind, username, address, detail)
    with transaction():
        SecurityEvent.create(kind=kind, username=(username or "")[:100], address=address[:64],
                             staff=staff.id if staff else None, subject=subject.id if subject else None,
                             detail=detail[:300])


def security_events(before: int | None = None, limit: int = 25):
    """The newest security events, a page at a time: (rows, the `before` of the next page or None)."""
    return paging.page(SecurityEvent.select(), SecurityEvent.id, before, limit, descending=True)


# the security events' names, as the administrators' sessions page shows them
SECURITY_EVENT_LABELS = {
    "login_locked": _l("Sign-in held back after wrong passwords"),
    "reauth_locked": _l("Password confirmation held back after wrong passwords"),
    "signed_out_everywhere": _l("Signed out everywhere"),
    "sessions_ended_by_admin": _l("Sessions ended by an administrator"),
    "second_factor_enrolled": _l("Sign-in codes set up"),
    "recovery_code_used": _l("Signed in with a recovery code"),
    "second_factor_reset": _l("Sign-in codes reset by an administrator"),
    "sessions_ended_by_directory": _l("Sessions ended: the directory changed the person"),
}
