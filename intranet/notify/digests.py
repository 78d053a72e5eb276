"""The staff's morning digest e-mails: each clerk's requests at risk or overdue, each supervisor's department.

What a clerk's digest holds: the open requests assigned to them, and the unassigned ones of their department,
whose answer is due within AT_RISK_DAYS or already overdue (a paused clock, waiting for the citizen, is neither):
the one time rule of `models.requests` (`Request.needs_attention`, `Request.sla`).
The unassigned ones are there because nobody else will be told of them before they are late; supervisors see
the same items with the clerk holding each. A supervisor with a department gets that department; one without
(supervisors of all departments) gets every department in one digest. Nothing at risk: no e-mail. Each list
is cut at MAX_LINES with "and N more"; the counts are always complete.

Every query is bounded: recipients are read by key in batches, items through the partial open-work indexes of
migration 0002 (assignee, due date / department, due date) with a LIMIT, counts from the same index ranges.
"""
import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale, format_date
from intranet.i18n import gettext as _
from peewee import JOIN, Case, fn

from intranet.i18n import ltr
from intranet.models import Department, Notification, OPEN_STATUSES, Request, RequestType, Staff, utcnow
from intranet.notify import events
from intranet.queues.labels import SLA_LABELS

LANGUAGE = "ar"  # staff have no language of their own: the institution's
MAX_LINES = 50
STAFF_BATCH = 200
Holder = Staff.alias("holder")


def local_today() -> dt.date:
    return dt.datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()


def send_all(today: dt.date, now: dt.datetime | None = None) -> dict:
    """Queue today's digests (once each: a rerun queues nothing new); returns how many of each were queued."""
    now = now or utcnow()
    queued = {"clerk_digest": 0, "department_digest": 0}
    for staff in _recipients():
        event = "clerk_digest" if staff.role == "clerk" else "department_digest"
        if _send(staff, event, today, now) is not None:
            queued[event] += 1
    return queued


def _recipients():
    """Active clerks (of a department) and supervisors with an e-mail address, read by key in batches."""
    last_id = 0
    while True:
        batch = list(Staff.select(Staff, Department).join(Department, JOIN.LEFT_OUTER)
                     .where((Staff.id > last_id) & (Staff.active == True) & Staff.email.is_null(False)  # noqa: E712
                            & (Staff.email != "")
                            & ((Staff.role == "supervisor")
                               | ((Staff.role == "clerk") & Staff.department.is_null(False))))
                     .order_by(Staff.id).limit(STAFF_BATCH))
        yield from batch
        if len(batch) < STAFF_BATCH:
            return
        last_id = batch[-1].id


def _send(staff, event, today, now):
    key = f"{event}:{staff.id}:{today.isoformat()}"
    if Notification.select().where(Notification.dedupe_key == key).exists():
        return None  # already queued this morning: spare the queries
    context = build_context(staff, event, today, now)
    if context is None:
        return None
    return events.queue_staff_email(staff, event, LANGUAGE, context, key)


def build_context(staff, event, today, now) -> dict | None:
    """The digest's placeholders, or None when nothing is at risk or overdue."""
    scopes = _scopes(staff, event, now)
    at_risk = overdue = 0
    rows = []
    for scope in scopes:
        counts = _counts(scope, now)
        at_risk, overdue = at_risk + counts[0], overdue + counts[1]
        rows += _items(scope, now)
    if not at_risk + overdue:
        return None
    rows = sorted(rows, key=lambda row: (row.due_at, row.id))[:MAX_LINES]
    with force_locale(LANGUAGE):
        lines = [_line(row, staff, event, now) for row in rows]
        if at_risk + overdue > len(rows):
            lines.append(_("… and %(num)d more", num=at_risk + overdue - len(rows)))
        department = staff.department.name(LANGUAGE) if staff.department_id else _("all departments")
        return {"staff_name": staff.full_name, "department": department, "date": format_date(today, "long"),
                "at_risk_count": at_risk, "overdue_count": overdue, "items": "\n".join(lines)}


def _scopes(staff, event, now) -> list:
    """The conditions of the digest's requests (open, at risk or overdue now), each one index range (an OR of
    ranges would defeat the indexes)."""
    live = Request.open_work() & Request.needs_attention(now)
    if event == "clerk_digest":
        return [live & (Request.assignee == staff.id),
                live & (Request.department == staff.department_id) & Request.assignee.is_null()]
    if staff.department_id:
        return [live & (Request.department == staff.department_id)]
    return [live & Request.status.in_(OPEN_STATUSES)]  # every department: the (status, due_at) index


def _counts(scope, now) -> tuple[int, int]:
    row = (Request.select(fn.COUNT(Request.id).alias("total"),
                          fn.SUM(Case(None, [(Request.sla_where("overdue", now), 1)], 0)).alias("overdue"))
           .where(scope).dicts().get())
    overdue = int(row["overdue"] or 0)
    return int(row["total"] or 0) - overdue, overdue


def _items(scope, now) -> list:
    ids = [row.id for row in Request.select(Request.id).where(scope)
           .order_by(Request.due_at, Request.id).limit(MAX_LINES)]
    if not ids:
        return []
    return list(Request.select(Request.id, Request.tracking_number, Request.due_at, Request.paused_at,
                               Request.closed_at, Request.assignee, RequestType, Holder.id, Holder.full_name)
                .join_from(Request, RequestType)
                .join_from(Request, Holder, JOIN.LEFT_OUTER, on=(Request.assignee == Holder.id))
                .where(Request.id.in_(ids)))


def _line(row, staff, event, now) -> str:
    state = SLA_LABELS[row.sla(now).state]
    if row.assignee_id is None:
        holder = _("unassigned")
    elif event == "clerk_digest" and row.assignee_id == staff.id:
        holder = _("assigned to you")
    else:
        holder = _("held by %(name)s", name=row.assignee.full_name)
    return _("%(number)s · %(type)s · due %(date)s · %(state)s · %(holder)s", number=ltr(row.tracking_number, LANGUAGE),
             type=row.request_type.name(LANGUAGE), date=format_date(row.due_at, "medium"), state=state,
             holder=holder)
