"""What staff see of notifications: the messages beside each history entry, the citizens the desk must call
because a message could not be delivered (and the record of that call), and the clerk's new-items badge."""
from collections import defaultdict

import phonenumbers
from flask import current_app, g
from intranet.i18n import lazy_gettext as _l
from peewee import JOIN, SQL, fn

from intranet import paging
from intranet.db import instance, is_sqlite, select, transaction, update_where
from intranet.models import Citizen, HistoryEntry, Notification, Request, Stage, Staff, utcnow
from intranet.params import to_id

ResolvedBy = Staff.alias("resolved_by")


# --- the request's timeline ------------------------------------------------------------------------------

def masked_recipient(recipient: str, channel: str) -> str:
    """Enough of the address to recognise it, not enough to copy it: +974 •••• 3456, m•••@x.qa."""
    if channel == "email":
        local, _, domain = (recipient or "").partition("@")
        return f"{local[:1]}•••@{domain}" if domain else "•••"
    digits = "".join(c for c in recipient or "" if c.isdigit())
    try:
        code = phonenumbers.parse(recipient, current_app.config["DEFAULT_PHONE_REGION"]).country_code
    except phonenumbers.NumberParseException:
        code = None
    return f"+{code} •••• {digits[-4:]}" if code else f"•••• {digits[-4:]}"


# what a gateway's or mail server's answer means, for staff: their own words stay beside it, marked as English
_DELIVERY_ERRORS = (
    (("not reachable", "unreachable", "absent subscriber", "switched off"), _l("the number is not reachable")),
    (("timed out", "timeout"), _l("the gateway did not answer in time")),
    (("interrupted",), _l("sending was interrupted; it is tried again")),
    (("mailbox", "not an e-mail address", "550", "553", "user unknown"), _l("the e-mail address does not accept mail")),
    (("no recipient",), _l("there is no address to send to")),
    (("http 5", "smtp 4"), _l("the gateway had a fault")),
    (("http 4", "invalid", "rejected", "refused: ", "barred"), _l("the gateway refused the message")),
    (("connection", "urlerror", "oserror", "refused", "name or service"), _l("the gateway could not be reached")),
)


def delivery_error(text: str) -> str:
    """The last error of a message in the reader's language: what it means, not the provider's wording."""
    lowered = (text or "").casefold()
    for needles, meaning in _DELIVERY_ERRORS:
        if any(needle in lowered for needle in needles):
            return str(meaning)
    return str(_l("the gateway reported an error"))


def timeline_notifications(req) -> dict[int, list]:
    """The request's messages grouped by the history entry that caused them, as queues/services.history_of read them
    with the history, in its statement (`req.timeline`; read the history first)."""
    return req.timeline


# a message as a request's history shows it: its row, and who called the citizen after it failed
TIMELINE_COLUMNS = (*Notification._meta.sorted_fields, ResolvedBy.id, ResolvedBy.full_name)


def timeline_item(values) -> Notification:
    """A message from TIMELINE_COLUMNS' values, with its recipient masked for the page."""
    item = instance(Notification, values[:-2])
    if values[-2] is not None:
        item.resolved_by = instance(Staff, values[-2:], ("id", "full_name"))
        item._dirty.clear()
    item.masked = masked_recipient(item.recipient, item.channel)
    return item


# --- citizens to call --------------------------------------------------------------------------------------

def _unresolved_failure():
    return ((Notification.status == "failed") & Notification.resolved_at.is_null()
            & Notification.citizen.is_null(False))


def unreachable_page(after_id: int | None = None, size: int = 20):
    """One page of citizens with failed, unresolved messages, newest failure first, and the next page's key.

    Each citizen appears once, at their newest failure (the "head"); the page walks the (status, failed_at)
    index from the newest failure and stops after `size` heads. The key is the id of the last head shown."""
    newer = Notification.alias("newer")
    is_head = ~fn.EXISTS(newer.select(SQL("1")).where(
        (newer.citizen == Notification.citizen) & (newer.status == "failed") & newer.resolved_at.is_null()
        & ((newer.failed_at > Notification.failed_at)
           | ((newer.failed_at == Notification.failed_at) & (newer.id > Notification.id)))))
    last = Notification.get_or_none(Notification.id == after_id) if to_id(after_id) else None
    heads, next_after = paging.page(
        Notification.select(Notification.id, Notification.failed_at, Citizen)
        .join(Citizen, on=(Notification.citizen == Citizen.id)).where(_unresolved_failure() & is_head),
        (Notification.failed_at, Notification.id), (last.failed_at, last.id) if last else None, size,
        descending=True, next_key=lambda head: head.id)
    failures = _failures_of([head.citizen.id for head in heads])
    return [{"citizen": head.citizen, "head_id": head.id, "failures": failures[head.citizen.id]}
            for head in heads], next_after


def _failures_of(citizen_ids) -> dict[int, list]:
    """Each citizen's failed, unresolved messages with their request's tracking number, newest first."""
    if not citizen_ids:
        return {}
    query = (Notification.select(Notification.id, Notification.citizen, Notification.event, Notification.channel,
                                 Notification.recipient, Notification.failed_at, Notification.last_error,
                                 Notification.attempts, Request.id, Request.tracking_number)
             .join(Request, JOIN.LEFT_OUTER, on=(Notification.request == Request.id))
             .where(_unresolved_failure() & Notification.citizen.in_(citizen_ids))
             .order_by(Notification.failed_at.desc(), Notification.id.desc()))
    by_citizen = defaultdict(list)
    for item in query:
        item.masked = masked_recipient(item.recipient, item.channel)
        by_citizen[item.citizen_id].append(item)
    return by_citizen


def unreachable_citizen(citizen_id: int):
    """One citizen's entry as the list shows it, or None when nothing of theirs is left to resolve."""
    citizen = Citizen.get_or_none(Citizen.id == citizen_id)
    failures = _failures_of([citizen_id]).get(citizen_id, []) if citizen else []
    if not failures:
        return None
    return {"citizen": citizen, "head_id": failures[0].id, "failures": failures}


def resolve(citizen_id: int, staff, note: str, upto_id: int) -> int:
    """Record that `staff` reached the citizen: every failed, unresolved message of theirs up to the newest one
    the desk saw (`upto_id`) is resolved with the note, in one statement. Returns how many were resolved;
    a failure that came in after the page was read stays on the list."""
    upto = Notification.get_or_none((Notification.id == upto_id) & (Notification.citizen == citizen_id))
    if upto is None or upto.failed_at is None:
        return 0
    with transaction():
        return (Notification.update(resolved_at=utcnow(), resolved_by=staff.id, resolution_note=note.strip())
                .where(_unresolved_failure() & (Notification.citizen == citizen_id)
                       & ((Notification.failed_at < upto.failed_at)
                          | ((Notification.failed_at == upto.failed_at) & (Notification.id <= upto.id))))
                .execute())


def last_resolution(citizen_id: int):
    """The latest recorded call for the citizen (who and when), for the desk's confirmation."""
    return (Notification.select(Notification.resolved_at, Notification.resolution_note, ResolvedBy.id,
                                ResolvedBy.full_name)
            .join(ResolvedBy, on=(Notification.resolved_by == ResolvedBy.id))
            .where((Notification.citizen == citizen_id) & Notification.resolved_at.is_null(False))
            .order_by(Notification.resolved_at.desc()).first())


# --- the clerk's badge -------------------------------------------------------------------------------------

def mark_queue_seen(staff) -> None:
    """The clerk opened their queue: the badge counts from now. Written only when history was written since the
    last mark: the badge counts history entries after the mark (`new_in_queue`), so moving it over none changes
    nothing, and a write on every view cost more than the rest of the page (issue 21: on SQLite each write makes
    every other connection read the database again; 0.3 to 2.5 ms of CPU a view under gunicorn)."""
    newest = _newest_history()
    if staff.queue_seen_at is not None and (newest is None or newest[1] <= staff.queue_seen_at):
        return
    staff.queue_seen_at = utcnow()
    update_where(Staff, {"queue_seen_at": staff.queue_seen_at}, {"id": staff.id})  # its SQL made once


def new_in_queue(staff) -> int:
    """Requests waiting unassigned and open in the clerk's department that came into it since they last opened
    the queue: those whose history since then has an entry that made them open at one of the department's
    stages (submitted, accepted from the stage before, resubmitted after a return; not claims, releases or
    comments, which leave them where they were), or brought them into it from elsewhere (an inquiry routed here by
    its subject, a request transferred here).

    Read from the history rather than the department's open work: the entries since the last visit are found
    by the primary key (first_history_after) and the department's stages by history's to_stage index (whose
    entries end with the row id), so the cost follows what is new, not the size of the queue."""
    since = staff.queue_seen_at or staff.last_login_at  # never opened the queue: what came since they signed in
    if staff.department_id is None or since is None:
        return 0
    entered = (Request.department == staff.department_id) & Request.open_work() & (Request.status == "open") \
        & Request.assignee.is_null()
    first = first_history_after(since)
    if first is None:
        return 0
    stages = [s.id for s in Stage.select(Stage.id).where(Stage.department == staff.department_id)]
    moved_in = (HistoryEntry.from_status.is_null() | (HistoryEntry.from_status != "open")
                | (HistoryEntry.from_stage != HistoryEntry.to_stage))
    # a request not at one of the department's stages came in all the same when it was routed here at submission
    # (an inquiry's subject) or transferred here: the request is in the department now (`entered`)
    elsewhere = (HistoryEntry.department == staff.department_id) & (HistoryEntry.action == "submit") \
        | (HistoryEntry.action == "transfer")
    arrived = ((HistoryEntry.id >= first) & (HistoryEntry.to_status == "open")
               & ((HistoryEntry.to_stage.in_(stages) & moved_in) | elsewhere))
    query = HistoryEntry.select(fn.COUNT(fn.DISTINCT(HistoryEntry.request)))
    if is_sqlite():  # CROSS JOIN keeps the history first: else SQLite may walk the queue, probing history per row
        query = query.join(Request, JOIN.CROSS).where(HistoryEntry.request == Request.id)
    else:
        query = query.join(Request, on=(HistoryEntry.request == Request.id))
    return query.where(arrived & entered).scalar() or 0


# the last history row's id and time as columns of another query: the sign-in check reads them with the session row
# (auth/sessions.load, `take_history_head`), and the queue page and the badge ask them first (`_newest_history`)
HEAD_COLUMNS = ('(SELECT MAX("id") FROM "history")',
                '(SELECT "created_at" FROM "history" ORDER BY "id" DESC LIMIT 1)')


def take_history_head(values) -> None:
    """HEAD_COLUMNS' values as the request's sign-in check read them: the first `_newest_history` of the request
    answers with them (history as the request began), later ones read again."""
    newest, at = values
    g.history_head = None if newest is None else (newest, HistoryEntry.created_at.python_value(at))


def _newest_history():
    """(id, created_at) of the last history row written, or None."""
    if "history_head" in g:
        return g.pop("history_head")
    return next(iter(select("newest_history", lambda: (
        HistoryEntry.select(HistoryEntry.id, HistoryEntry.created_at).order_by(HistoryEntry.id.desc())
        .limit(1).tuples()))), None)


def first_history_after(moment):
    """The smallest history id written after `moment`, or None: a bisection over the primary key (ids grow
    with time), some twenty look-ups of one row each, since history has no index on its date."""
    newest = _newest_history()
    if newest is None or newest[1] <= moment:
        return None

    def is_new(at_least):  # the first row with an id of at least `at_least` was written after `moment`
        row = (HistoryEntry.select(HistoryEntry.created_at).where(HistoryEntry.id >= at_least)
               .order_by(HistoryEntry.id).first())
        return row.created_at > moment

    old, new = 0, newest[0]  # is_new(old) is False (or old is 0), is_new(new) is True
    if is_new(1):
        return 1
    old = 1
    while new - old > 1:
        middle = (old + new) // 2
        if is_new(middle):
            new = middle
        else:
            old = middle
    return new
