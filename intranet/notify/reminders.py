"""The day-before reminder of an interview (issue 16): the interviews falling on tomorrow's local date (the office's
time zone, INTRANET_TIMEZONE) get their `interview_reminder` SMS (and e-mail) rows, written like every citizen
message (notify.events.queue_citizen: the citizen's language, then delivery soon after the commit).

Run every hour by jobs/reminders.py, so a consumer that was down, or an interview set during the day for tomorrow,
is caught up on the next run. Idempotent: a reminder's dedupe key names the request and the interview's moment, so a
second run adds nothing, and an interview moved to another time gets a reminder for its new time only (the reminder
of the old time, if it was written and not yet tried, is withdrawn when the interview moves: `withdraw`)."""
import datetime as dt

from intranet.db import transaction
from intranet.models import Citizen, HistoryEntry, Notification, Request, utcnow
from intranet.notify.events import queue_citizen
from intranet.stats.figures import day_bounds, local_today

EVENT = "interview_reminder"


def _key(req_id: int, at: dt.datetime) -> str:
    return f"r{req_id}@{at:%Y%m%dT%H%M}"


def due_tomorrow(now: dt.datetime | None = None):
    """The open requests whose interview falls on the day after the office's today (at `now`, naive UTC)."""
    start, end = day_bounds(local_today(now) + dt.timedelta(days=1))
    return (Request.select(Request, Citizen).join(Citizen)
            .where(Request.interview_at.is_null(False) & (Request.interview_at >= start)
                   & (Request.interview_at < end) & Request.open_work())
            .order_by(Request.interview_at, Request.id))


def queue_reminders(now: dt.datetime | None = None) -> int:
    """Write the reminders of tomorrow's interviews not yet written; returns how many rows were added."""
    now = now or utcnow()
    added = 0
    for req in due_tomorrow(now):
        with transaction():  # one request's rows at a time: a failure leaves the others written
            added += queue_citizen(EVENT, req, _set_by(req), key=_key(req.id, req.interview_at))
    return added


def _set_by(req):
    """The history entry that set the interview in force (the reminder is shown beside it on the request's
    timeline), or None if it has none."""
    return (HistoryEntry.select().where((HistoryEntry.request == req.id)
                                        & (HistoryEntry.action == "schedule_interview"))
            .order_by(HistoryEntry.id.desc()).first())


def withdraw(req_id: int, keep: dt.datetime | None = None) -> int:
    """The reminders of a request's interview written for another moment than `keep` and never tried yet are
    withdrawn (the interview moved: the citizen hears of the new time only); returns how many."""
    query = Notification.delete().where((Notification.request == req_id) & (Notification.event == EVENT)
                                        & (Notification.status == "queued") & (Notification.attempts == 0))
    if keep is not None:
        query = query.where(~Notification.dedupe_key.startswith(f"{EVENT}:{_key(req_id, keep)}:"))
    return query.execute()
