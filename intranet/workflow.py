"""THE place where a request changes state: permission, transition, history and attachments in one transaction."""
import contextlib
import datetime as dt
import json
from dataclasses import dataclass

from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from peewee import SQL, IntegrityError
from stdnum import luhn

from intranet import db, files, history_chain, reference
from intranet.auth import permissions
from intranet.db import database, is_sqlite, transaction
from intranet.intake import webhooks
from intranet.notify import events
from intranet.payouts import service as payouts
from intranet.models import Attachment, Citizen, HistoryEntry, Request, Stage, utcnow

allowed_actions = permissions.allowed_actions

# actions whose reason the citizen and the next clerk need: refused without a comment
NEEDS_COMMENT = {"return", "reject", "comment"}


class WorkflowError(Exception):
    """A refused action; `message` tells the person what happened and what to do instead."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


class NotAllowed(WorkflowError):
    pass


class StaleRequest(WorkflowError):
    pass


@dataclass
class Outcome:
    request: Request
    entry: HistoryEntry
    replayed: bool = False  # submit: the token had already made this request


# --- tracking numbers ---------------------------------------------------------------------------

def next_tracking_number(year: int) -> str:
    """YY-NNNNNNN-C: two-digit year, a yearly sequence, a Luhn check digit to catch typing errors.
    SQLite: the year's row of tracking_sequence; PostgreSQL: the year's sequence (migration 0007)."""
    if is_sqlite():
        row = database.execute_sql(
            "INSERT INTO tracking_sequence (year, last_value) VALUES (?, 1) "
            "ON CONFLICT (year) DO UPDATE SET last_value = tracking_sequence.last_value + 1 "
            "RETURNING last_value", (year,)).fetchone()
    else:
        row = database.execute_sql("SELECT nextval(%s::regclass)", (f"tracking_{year}",)).fetchone()
    return format_tracking_number(year, row[0])


def last_tracking_value(year: int) -> int:
    """The last sequence number handed out for the year (0: none)."""
    if is_sqlite():
        row = database.execute_sql("SELECT last_value FROM tracking_sequence WHERE year = ?", (year,)).fetchone()
        return row[0] if row else 0
    value, called = database.execute_sql(f'SELECT last_value, is_called FROM "tracking_{year}"').fetchone()
    return value if called else 0


def raise_tracking_value(year: int, value: int):
    """Numbers up to `value` are taken (bulk loads): the next one handed out is above it."""
    p = database.param
    database.execute_sql(
        f"INSERT INTO tracking_sequence (year, last_value) VALUES ({p}, {p}) ON CONFLICT (year) DO UPDATE "
        f"SET last_value = CASE WHEN excluded.last_value > tracking_sequence.last_value "
        f"THEN excluded.last_value ELSE tracking_sequence.last_value END", (year, value))
    if not is_sqlite() and value > last_tracking_value(year):
        database.execute_sql("SELECT setval(%s::regclass, %s)", (f"tracking_{year}", value))


def format_tracking_number(year: int, sequence: int) -> str:
    digits = f"{year % 100:02d}{sequence:07d}"
    return f"{digits[:2]}-{digits[2:]}-{luhn.calc_check_digit(digits)}"


# --- helpers --------------------------------------------------------------------------------------

def _stage_at(request_type_id: int, position: int):
    return reference.cached("stage", (request_type_id, position), lambda key: Stage.get_or_none(
        (Stage.request_type == key[0]) & (Stage.position == key[1])))


def first_stage(request_type_id: int):
    """The stage a new request of this type starts at (its department receives it); None if it has none."""
    return _stage_at(request_type_id, 1)


def _record(req, actor, action, comment, stored, details=None, **change) -> HistoryEntry:
    values = {"request": req.id, "actor": actor, "action": action, "comment": comment or "",
              "details": json.dumps(details or {}, ensure_ascii=False), "created_at": utcnow(), **change}
    values["hash"] = history_chain.sign(values)  # keyed into the request's chain (takes the request's row lock)
    entry = db.create(HistoryEntry, **values)
    for item in stored:
        Attachment.create(request=req.id, history=entry, uploaded_by=actor, **vars(item))
    events.on_change(req, entry)  # the citizen's SMS and e-mail, in this transaction
    payouts.create_for(req, entry)  # a completed money request: its payout, awaiting approval
    webhooks.queue_for_change(req, entry)  # electronic requests: the portal's deliveries, in this transaction
    return entry


def _stale_message(req_id: int):
    last = (HistoryEntry.select().where(HistoryEntry.request == req_id)
            .order_by(HistoryEntry.id.desc()).first())
    who = last.actor.full_name if last and last.actor else "?"
    when = format_datetime(last.created_at, "short") if last else "?"
    return _l("This request was changed by %(who)s at %(when)s. Reload it to see the change, then act again.",
              who=who, when=when)


def _apply(req, version: int, changes: dict):
    """Conditional update on the version the person saw; a concurrent change makes it match no row."""
    changes = {**changes, "version": Request.version + 1, "updated_at": utcnow()}
    updated = Request.update(changes).where((Request.id == req.id) & (Request.version == version)).execute()
    if updated != 1:
        raise StaleRequest(_stale_message(req.id))


def _store(uploads):
    try:
        return files.store_all(uploads or [])
    except files.UploadRefused as refused:
        raise WorkflowError(str(refused)) from None


def _check_allowed(req, actor, action):
    if action not in allowed_actions(req, actor):
        raise NotAllowed(_l("You may not do this to request %(number)s now.", number=req.tracking_number))


def _fresh(req_id):
    """The request as it is now, with its citizen in the same query (the citizen's messages need them)."""
    return Request.select(Request, Citizen).join(Citizen).where(Request.id == req_id).get()


def _stage_due(stage, now):
    return now + dt.timedelta(days=stage.budget_days)


def _transition(req, actor, action, version, comment, uploads, changes_for, details=None):
    """Shared skeleton of every action: check, store files, change state + history in one transaction."""
    _check_allowed(req, actor, action)
    if action in NEEDS_COMMENT and not (comment or "").strip():
        raise WorkflowError(_l("Write a comment: it says why, for the citizen and the next clerk."))
    stored = _store(uploads)
    try:
        with transaction():
            fresh = _fresh(req.id)
            if fresh.version != version:
                raise StaleRequest(_stale_message(req.id))
            _check_allowed(fresh, actor, action)
            changes = changes_for(fresh)
            if changes:
                _apply(fresh, version, changes)
            entry = _record(fresh, actor, action, comment, stored, details,
                            from_stage=fresh.stage_id, from_status=fresh.status,
                            to_stage=changes.get("stage", fresh.stage_id),
                            to_status=changes.get("status", fresh.status))
    except Exception:
        files.discard(stored)
        raise
    return Outcome(Request.get_by_id(req.id), entry)


# --- the actions ------------------------------------------------------------------------------------

def _already_submitted(token):
    req = Request.get_or_none(Request.submission_token == token) if token else None
    if req is None:
        return None
    first = HistoryEntry.select().where(HistoryEntry.request == req.id).order_by(HistoryEntry.id).first()
    return Outcome(req, first, replayed=True)


def submit(actor, citizen, request_type, channel, subject, details="", data=None, uploads=None,
           received_at=None, amount=None, submission_token=None, note=None, extra=None,
           token_checked=False) -> Outcome:
    """A new request enters the first stage's queue; `actor` entered it for `citizen` (None: the portal).

    `submission_token` makes a resent form return the first outcome instead of a second request; `note`
    (e.g. the reason for overriding a duplicate warning) is kept in the submit history row; `extra` holds
    further Request columns set at intake; `token_checked`: the caller has just looked the token up.
    """
    if actor is not None and not permissions.can_enter_requests(actor):
        raise NotAllowed(_l("Only the reception desk and supervisors enter requests."))
    first = _stage_at(request_type.id, 1)
    if first is None or not request_type.active:
        raise WorkflowError(_l("This request type is not open for new requests."))
    if not token_checked and (done := _already_submitted(submission_token)) is not None:
        return done
    received = received_at or utcnow()
    stored = _store(uploads)
    # the caller that checked the token holds the transaction, and a conflict cannot happen there: no savepoint
    nested = token_checked and database.in_transaction()
    try:
        with contextlib.nullcontext() if nested else transaction():
            req = db.create(Request,
                tracking_number=next_tracking_number(received.year), citizen=citizen,
                request_type=request_type, channel=channel, stage=first, department=first.department_id,
                status="open", subject=subject, details=details or "", data=json.dumps(data or {}, ensure_ascii=False),
                received_at=received, due_at=received + dt.timedelta(days=request_type.sla_days),
                stage_due_at=_stage_due(first, received), governorate=citizen.governorate_id,
                amount=amount, submission_token=submission_token, **{"entered_by": actor, **(extra or {})})
            entry = _record(req, actor, "submit", "", stored, note, to_stage=first.id, to_status="open")
    except IntegrityError:
        files.discard(stored)
        if (done := _already_submitted(submission_token)) is not None:
            return done  # the same form arrived twice at the same moment: the first one won
        raise
    except Exception:
        files.discard(stored)
        raise
    return Outcome(req, entry)


def answer_at_desk(actor, citizen, request_type, question, answer) -> Outcome:
    """An inquiry answered on the spot at the reception desk: recorded and closed at once (it counts in the
    statistics like any other request)."""
    if not (answer or "").strip():
        raise WorkflowError(_l("Write the answer given to the citizen."))
    with transaction():  # one transaction: the inquiry is recorded answered, or not at all
        req = submit(actor, citizen, request_type, "walk_in", question[:300], question).request
        Request.update(status="completed", closed_at=utcnow(), version=Request.version + 1).where(
            Request.id == req.id).execute()
        entry = _record(req, actor, "answer", answer, [], None, from_stage=req.stage_id, to_stage=req.stage_id,
                        from_status="open", to_status="completed")
    return Outcome(Request.get_by_id(req.id), entry)


def accept(actor, req, version, comment="", uploads=None) -> Outcome:
    """On to the next stage's department, or completed after the last stage."""
    def changes(fresh):
        following = _stage_at(fresh.request_type_id, fresh.stage.position + 1)
        if following is None:
            return {"status": "completed", "closed_at": utcnow(), "assignee": None}
        return {"stage": following.id, "department": following.department_id, "status": "open",
                "assignee": None, "stage_due_at": _stage_due(following, utcnow())}
    return _transition(req, actor, "accept", version, comment, uploads, changes)


def reject(actor, req, version, comment="", uploads=None) -> Outcome:
    def changes(fresh):
        return {"status": "rejected", "closed_at": utcnow(), "assignee": None}
    return _transition(req, actor, "reject", version, comment, uploads, changes)


def return_(actor, req, version, comment="", uploads=None, missing=()) -> Outcome:
    """Back to the stage that sent it, or, from the first stage, to the reception desk and the citizen,
    with the list of what is missing; the 45-day clock stops while the citizen holds it."""
    def changes(fresh):
        previous = _stage_at(fresh.request_type_id, fresh.stage.position - 1)
        if previous is None:
            return {"status": "awaiting_citizen", "assignee": None, "paused_at": utcnow()}
        return {"stage": previous.id, "department": previous.department_id, "status": "returned",
                "returned_from": fresh.stage_id, "assignee": None}
    return _transition(req, actor, "return", version, comment, uploads, changes,
                       details={"missing": list(missing)} if missing else None)


def resubmit(actor, req, version, comment="", uploads=None) -> Outcome:
    """Corrected: back to the stage that returned it; the clock moves on by the days it was paused."""
    def changes(fresh):
        now = utcnow()
        if fresh.returned_from_id is None:
            paused = (now - fresh.paused_at) if fresh.paused_at else dt.timedelta(0)
            return {"status": "open", "paused_at": None, "due_at": fresh.due_at + paused,
                    "stage_due_at": (fresh.stage_due_at or now) + paused}
        target = fresh.returned_from
        return {"stage": target.id, "department": target.department_id, "status": "open",
                "returned_from": None, "assignee": None, "stage_due_at": _stage_due(target, now)}
    return _transition(req, actor, "resubmit", version, comment, uploads, changes)


def comment(actor, req, version, comment="", uploads=None) -> Outcome:
    """A note (and files) on the request, no change of state."""
    return _transition(req, actor, "comment", version, comment, uploads, lambda fresh: {})


def claim(actor, req, version, comment="", uploads=None) -> Outcome:
    return _transition(req, actor, "claim", version, comment, uploads, lambda fresh: {"assignee": actor.id})


def release(actor, req, version, comment="", uploads=None) -> Outcome:
    return _transition(req, actor, "release", version, comment, uploads, lambda fresh: {"assignee": None})


def reopen(actor, req, comment: str) -> Outcome:
    """A completed request back to its last stage, unassigned, because its payout was rejected (a supervisor's
    decision on the payout, with the reason for the clerk)."""
    if not permissions.can_decide_payouts(actor):
        raise NotAllowed(_l("Only supervisors reject payouts."))
    with transaction():
        fresh = _fresh(req.id)
        if fresh.status != "completed":
            raise WorkflowError(_l("Only a completed request can be reopened."))
        _apply(fresh, fresh.version, {"status": "open", "closed_at": None, "assignee": None,
                                      "stage_due_at": _stage_due(fresh.stage, utcnow())})
        entry = _record(fresh, actor, "reopen", comment, [], None, from_stage=fresh.stage_id, to_stage=fresh.stage_id,
                        from_status="completed", to_status="open")
    return Outcome(Request.get_by_id(req.id), entry)


ACTIONS = {"accept": accept, "return": return_, "reject": reject, "resubmit": resubmit,
           "comment": comment, "claim": claim, "release": release}


def act(actor, req, action: str, version: int, comment="", uploads=None, missing=()) -> Outcome:
    """Dispatch a named action from a form."""
    if action not in ACTIONS:
        raise NotAllowed(_l("Unknown action."))
    if action == "return":
        return return_(actor, req, version, comment, uploads, missing)
    return ACTIONS[action](actor, req, version, comment, uploads)


# --- assignment: take next, reassign -----------------------------------------------------------

def _next_unassigned_id(department_id):
    """The most urgent unassigned open request: overdue first, then due within 30 days, then oldest. With one
    45-day clock per request, due-date order is that priority; ties go to the older id."""
    if is_sqlite():
        # a subquery of the conditional UPDATE in take_next; the hint keeps the planner on the due-date index
        # (it otherwise walks the assignee index, ~100x slower at a million rows, while holding the write lock)
        return SQL('(SELECT "id" FROM "request" INDEXED BY "request_open_by_due" WHERE "department_id" = ? '
                   'AND "closed_at" IS NULL AND "status" = \'open\' AND "assignee_id" IS NULL '
                   'ORDER BY "due_at", "id" LIMIT 1)', [department_id])
    return (Request.select(Request.id)
            .where((Request.department == department_id) & Request.open_work() & (Request.status == "open")
                   & Request.assignee.is_null())
            .order_by(Request.due_at, Request.id).limit(1).for_update(skip_locked=True))


def take_next(actor, department) -> Outcome | None:
    """Give the clerk the next request of the queue; atomic, so two clerks never get the same one.
    None when nothing is waiting."""
    if not permissions.can_take_from(actor, department):
        raise NotAllowed(_l("You may not take work from this queue."))
    now = utcnow()
    with transaction():
        if is_sqlite():
            # one statement: the write lock is held from the choice to the claim
            candidate = _next_unassigned_id(department.id)
        else:
            row = _next_unassigned_id(department.id).first()
            if row is None:
                return None
            candidate = row.id
        claimed = (Request.update(assignee=actor.id, version=Request.version + 1, updated_at=now)
                   .where((Request.id == candidate) & Request.assignee.is_null())
                   .returning(Request.id).execute())
        ids = [row.id for row in claimed]
        if not ids:
            return None
        req = Request.get_by_id(ids[0])
        entry = _record(req, actor, "claim", "", [], {"take_next": True}, from_stage=req.stage_id,
                        to_stage=req.stage_id, from_status=req.status, to_status=req.status)
    return Outcome(req, entry)


def assign(actor, request_ids, clerk, comment="") -> list[Request]:
    """A supervisor gives one or many open requests to a clerk of their department; returns those assigned
    (a request closed or moved to another department meanwhile is left out)."""
    if not permissions.can_reassign(actor):
        raise NotAllowed(_l("Only supervisors reassign work."))
    if clerk.role != "clerk" or not clerk.active:
        raise WorkflowError(_l("Choose an active clerk."))
    done = []
    with transaction():
        for req in Request.select().where(Request.id.in_(list(request_ids)) & Request.open_work()
                                          & (Request.department == clerk.department_id)):
            Request.update(assignee=clerk.id, version=Request.version + 1, updated_at=utcnow()).where(
                Request.id == req.id).execute()
            _record(req, actor, "assign", comment, [], {"assignee": clerk.id, "assignee_name": clerk.full_name},
                    from_stage=req.stage_id, to_stage=req.stage_id, from_status=req.status, to_status=req.status)
            done.append(req)
    return done
