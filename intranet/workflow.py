"""THE place where a request changes state: permission, transition, history and attachments in one transaction."""
import contextlib
import datetime as dt
import json
from dataclasses import dataclass

from flask_babel import format_datetime
from intranet.i18n import lazy_gettext as _l
from peewee import SQL, IntegrityError
from stdnum import luhn

from intranet import calendar, db, files, history_chain, interviews, reference, request_substance, validation
from intranet.auth import permissions
from intranet.automation import benefits
from intranet.automation import pending as automation
from intranet.db import database, is_sqlite, transaction
from intranet.intake import webhooks
from intranet.notify import events, reminders
from intranet.payouts import service as payouts
from intranet.models import Attachment, Citizen, HistoryEntry, Request, RequestType, Stage, utcnow
from intranet.models.inquiries import ANSWER_MAX_LENGTH, INQUIRY_TYPE
from intranet.letters import register as letters
from intranet.models.letters import LetterReply, MinistryLetter
from intranet.models.payouts import Payout
from intranet.stats import open_work
from intranet.stats.figures import local_today
from intranet.staff import absence

allowed_actions = permissions.allowed_actions

# actions whose reason the citizen and the next clerk need: refused without a comment
NEEDS_COMMENT = {"return", "reject", "comment"}
TRANSFER_REASON_MAX_LENGTH = 1000


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
    decision: int | None = None  # submit: the id of the pending automatic decision queued with it, if any


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

def _stage_at(request_type_id: int, version: int, position: int):
    """The stage at `position` in the type's version `version` (issue 20: a request follows the stages of the
    version it started with; a stage dropped or changed since is closed, so nothing is routed to it any more)."""
    return reference.cached("stage", (request_type_id, version, position), lambda key: Stage.get_or_none(
        (Stage.request_type == key[0]) & Stage.in_version(key[1]) & (Stage.position == key[2])))


def first_stage(request_type_id: int, version: int | None = None):
    """The stage a new request of this type starts at (its department receives it), in its current version or in
    `version`; None if it has none."""
    if version is None:
        return reference.cached("first_stage", request_type_id, lambda key: Stage.get_or_none(
            (Stage.request_type == key) & Stage.last_version.is_null() & (Stage.position == 1)))
    return _stage_at(request_type_id, version, 1)


def _record(req, actor, action, comment, stored, details=None, delegation=None, **change) -> HistoryEntry:
    # `department`: where the step was taken (`req` as it stood before it; a new request: the department it was
    # routed to), what the figures by department count it under; `delegation`: the one the actor acted under, for
    # its grantor ("A acting for B under delegation n", permissions.stage_delegation / payout_delegation)
    values = {"request": req.id, "actor": actor, "action": action, "comment": comment or "",
              "details": json.dumps(details or {}, ensure_ascii=False), "created_at": utcnow(),
              "department": req.department_id, "delegation": delegation.id if delegation else None, **change}
    values["hash"] = history_chain.sign(values)  # keyed into the request's chain (takes the request's row lock)
    entry = db.create(HistoryEntry, **values)
    for item in stored:
        Attachment.create(request=req.id, history=entry, uploaded_by=actor, **vars(item))
    events.on_change(req, entry)  # the citizen's SMS and e-mail, in this transaction
    payouts.create_for(req, entry)  # a completed money request: its payout, awaiting approval
    benefits.on_change(req, entry)  # a completed request of a renewable type: its periodic benefit (issue 17)
    webhooks.queue_for_change(req, entry)  # electronic requests: the portal's deliveries, in this transaction
    return entry


def _stale_message(req_id: int):
    last = (HistoryEntry.select().where(HistoryEntry.request == req_id)
            .order_by(HistoryEntry.id.desc()).first())
    who = last.actor.full_name if last and last.actor else "?"
    when = format_datetime(last.created_at, "short") if last else "?"
    return _l("This request was changed by %(who)s at %(when)s. Reload it to see the change, then act again.",
              who=who, when=when)


def _apply(req, version: int, changes: dict, counted: list | None = None):
    """Conditional update on the version the person saw; a concurrent change makes it match no row. The open work's
    counts follow in the same transaction (`req` as read in it: the row before), or, given `counted`, the change is
    added to it for the caller to count with the others (`open_work.moved_many`)."""
    changes = {**changes, "version": version + 1, "updated_at": utcnow()}
    if db.update_where(Request, changes, {"id": req.id, "version": version}) != 1:
        raise StaleRequest(_stale_message(req.id))
    if counted is None:
        open_work.moved(open_work.fields_of(req), changes)
    else:
        counted.append((open_work.fields_of(req), changes))


def _store(uploads):
    """Check and write the files; an item may be a (document code, file) pair: the file is that document of the
    request type's checklist (kept on its Attachment row), a bare file is another attachment."""
    pairs = [item if isinstance(item, tuple) else (None, item) for item in uploads or []]
    pairs = [(code, upload) for code, upload in pairs if upload and upload.filename]
    try:
        stored = files.store_all([upload for _, upload in pairs])
    except files.UploadRefused as refused:
        raise WorkflowError(str(refused)) from None
    for item, (code, _) in zip(stored, pairs, strict=True):
        item.document = code
    return stored


def _check_allowed(req, actor, action):
    allowed = allowed_actions(req, actor) if actor is not None else permissions.portal_actions(req)
    if action not in allowed:
        raise NotAllowed(_l("You may not do this to request %(number)s now.", number=req.tracking_number))


def _fresh(req_id):
    """The request as it is now, with its citizen in the same query (the citizen's messages need them)."""
    return Request.select(Request, Citizen).join(Citizen).where(Request.id == req_id).get()


def _counts_working_days(request_type_id: int, type_version: int) -> bool:
    """Whether a request of this type and version counts working days: the ONE answer, part of the version's
    definition (`RequestType.as_of`), so a request in flight keeps the counting it started with when an
    administrator changes the type's."""
    rtype = reference.by_id(RequestType, request_type_id)
    return bool(rtype is not None and rtype.as_of(type_version).working_days)


def _stage_due(stage, now, type_version: int):
    """The end of the stage's budget from `now`, in the days the request's version of its type counts."""
    return calendar.add_days(now, stage.budget_days, _counts_working_days(stage.request_type_id, type_version))


def _acting_under(actor, fresh):
    """The delegation the actor works the request's stage under now (None: their own right, or the portal)."""
    return permissions.stage_delegation(actor, fresh) if actor is not None else None


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
            entry = _record(fresh, actor, action, comment, stored, details(fresh) if callable(details) else details,
                            delegation=_acting_under(actor, fresh), from_stage=fresh.stage_id, from_status=fresh.status,
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
           token_checked=False, inquiry_subject=None, decision_job=True) -> Outcome:
    """A new request enters the first stage's queue; `actor` entered it for `citizen` (None: the portal).

    `inquiry_subject` (an inquiry's InquirySubject) routes it to the subject's department instead of the first
    stage's. `submission_token` makes a resent form return the first outcome instead of a second request; `note`
    (e.g. the reason for overriding a duplicate warning) is kept in the submit history row; `extra` holds
    further Request columns set at intake; `token_checked`: the caller has just looked the token up;
    `decision_job=False`: the caller decides the request itself right after (the renewal job), so no job is started
    for it; its pending automatic decision is written all the same, for the sweeper should the caller die.
    """
    if actor is not None and not permissions.can_enter_requests(actor):
        raise NotAllowed(_l("Only the reception desk and supervisors enter requests."))
    first = _stage_at(request_type.id, request_type.version, 1)
    if first is None or not request_type.active:
        raise WorkflowError(_l("This request type is not open for new requests."))
    department = _routed_department(first, request_type, inquiry_subject)
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
                request_type=request_type, type_version=request_type.version, channel=channel, stage=first,
                department=department,
                inquiry_subject=inquiry_subject.id if inquiry_subject is not None else None,
                status="open", subject=subject, details=details or "", data=json.dumps(data or {}, ensure_ascii=False),
                received_at=received, due_at=calendar.add_days(received, request_type.sla_days,
                                         _counts_working_days(request_type.id, request_type.version)),
                stage_due_at=_stage_due(first, received, request_type.version), governorate=citizen.governorate_id,
                amount=amount, submission_token=submission_token, **{"entered_by": actor, **(extra or {})})
            open_work.moved(None, open_work.fields_of(req))
            entry = _record(req, actor, "submit", "", stored, note, to_stage=first.id, to_status="open")
            decision = automation.queue_for(req, decision_job)  # a type with a rule: decided by a job after commit
    except IntegrityError:
        files.discard(stored)
        if (done := _already_submitted(submission_token)) is not None:
            return done  # the same form arrived twice at the same moment: the first one won
        raise
    except Exception:
        files.discard(stored)
        raise
    return Outcome(req, entry, decision=decision)


def _routed_department(first, request_type, inquiry_subject) -> int:
    """The department a new request goes to: its inquiry subject's, else its first stage's."""
    if inquiry_subject is None:
        return first.department_id
    if request_type.code != INQUIRY_TYPE:
        raise WorkflowError(_l("Only an inquiry has a subject."))
    if not inquiry_subject.active:
        raise WorkflowError(_l("This inquiry subject is no longer offered: choose another."))
    return inquiry_subject.department_id


def clean_answer(text) -> str:
    """An answer for the citizen: without control characters, not empty, at most ANSWER_MAX_LENGTH characters (it
    goes by SMS); WorkflowError says what is wrong."""
    text = validation.strip_controls(text).strip()
    if not text:
        raise WorkflowError(_l("Write the answer given to the citizen."))
    if len(text) > ANSWER_MAX_LENGTH:
        raise WorkflowError(_l("The answer goes by SMS: at most %(max)d characters (it has %(count)d).",
                               max=ANSWER_MAX_LENGTH, count=len(text)))
    return text


def answer_at_desk(actor, citizen, request_type, question, answer, inquiry_subject=None) -> Outcome:
    """An inquiry answered on the spot at the reception desk: recorded and closed at once (it counts in the
    statistics like any other request), the answer sent to the citizen too."""
    answer = clean_answer(answer)
    with transaction():  # one transaction: the inquiry is recorded answered, or not at all
        req = submit(actor, citizen, request_type, "walk_in", question[:300], question,
                     inquiry_subject=inquiry_subject).request
        closed = utcnow()
        Request.update(status="completed", closed_at=closed, version=Request.version + 1).where(
            Request.id == req.id).execute()
        open_work.moved(open_work.fields_of(req), {"closed_at": closed})
        entry = _record(req, actor, "answer", answer, [], None, from_stage=req.stage_id, to_stage=req.stage_id,
                        from_status="open", to_status="completed")
    return Outcome(Request.get_by_id(req.id), entry)


def _accepted(fresh) -> dict:
    following = _stage_at(fresh.request_type_id, fresh.type_version, fresh.stage.position + 1)
    if following is None:
        return {"status": "completed", "closed_at": utcnow(), "assignee": None}
    return {"stage": following.id, "department": following.department_id, "status": "open",
            "assignee": None, "stage_due_at": _stage_due(following, utcnow(), fresh.type_version)}


def accept(actor, req, version, comment="", uploads=None) -> Outcome:
    """On to the next stage's department, or completed after the last stage."""
    return _transition(req, actor, "accept", version, comment, uploads, _accepted)


def automation_may_decide(req) -> bool:
    """Where automation may decide a request: open, unassigned, at its type's first stage."""
    first = first_stage(req.request_type_id, req.type_version)
    return (req.status == "open" and req.assignee_id is None and first is not None
            and req.stage_id == first.id)


def decide_automatically(req_id: int, decision: str, details: dict, current=None) -> Outcome | None:
    """An automatic decision acted on (automation/engine.py, inside its transaction), by automation's own staff row
    (automation.system_actor: it never signs in, no permission grants it anything): the
    request, open and unassigned at its first stage, accepted on to the next stage ("accept_stage") or completed
    ("complete"; a money request's payout then awaits a supervisor's approval as always). The history row is an
    accept whose details name the decision and the rule's version ({"automatic": true, "decision", "rule",
    "rule_version"}). None, changing nothing, when the request is no longer where automation may decide it.
    `current`: the request as the caller read it in this very transaction (not read again, and not read after:
    the outcome's request is then None)."""
    fresh = current if current is not None else _fresh(req_id)
    if not automation_may_decide(fresh):
        return None
    if decision == "complete":
        changes = {"status": "completed", "closed_at": utcnow(), "assignee": None}
    else:
        changes = _accepted(fresh)
    _apply(fresh, fresh.version, changes)
    entry = _record(fresh, automation.system_actor(), "accept", "", [], {**details, "automatic": True},
                    from_stage=fresh.stage_id, from_status=fresh.status,
                    to_stage=changes.get("stage", fresh.stage_id), to_status=changes["status"])
    return Outcome(Request.get_by_id(req_id) if current is None else None, entry)


def reverse_automatic(actor, req_id: int, decided_entry, reason: str) -> Outcome:
    """A reviewer reverses an automatic decision (automation/review.py, inside its transaction): the request goes
    back, open and unassigned, to the stage automation decided it at, its payout (not yet in a batch) rejected with
    the reason; refused when the request has moved on since or its money has left."""
    if not permissions.can_review_automation(actor):
        raise NotAllowed(_l("Only supervisors review automatic decisions."))
    fresh = _fresh(req_id)
    if fresh.stage_id != decided_entry.to_stage_id or fresh.status != decided_entry.to_status:
        raise WorkflowError(_l("The request has moved on since it was decided automatically: act on it instead."))
    live = Payout.get_or_none((Payout.request == req_id) & (Payout.status != "rejected"))
    if live is not None and isinstance(payouts.reject_one(actor, live.id, reason), str):
        raise WorkflowError(_l("The payout of this request can no longer be rejected: the decision stands."))
    stage = Stage.get_by_id(decided_entry.from_stage_id)
    _apply(fresh, fresh.version, {"stage": stage.id, "department": stage.department_id, "status": "open",
                                  "closed_at": None, "assignee": None,
                                  "stage_due_at": _stage_due(stage, utcnow(), fresh.type_version)})
    entry = _record(fresh, actor, "reverse_automatic", reason, [], {"decision": decided_entry.info.get("decision")},
                    from_stage=fresh.stage_id, from_status=fresh.status, to_stage=stage.id, to_status="open")
    return Outcome(Request.get_by_id(req_id), entry)


def answer(actor, req, version, comment="", uploads=None) -> Outcome:
    """An inquiry answered by its department: completed, the answer kept in the history entry (its comment), sent to
    the citizen by SMS in their language (notify.events) and to the portal that submitted it (intake.webhooks)."""
    text = clean_answer(comment)

    def changes(fresh):
        return {"status": "completed", "closed_at": utcnow(), "assignee": None}
    return _transition(req, actor, "answer", version, text, uploads, changes)


def transfer(actor, req, version, department, reason) -> Outcome:
    """A misrouted open request sent to another department (same stage, unassigned), with the reason in its history;
    the 45-day clock and the stage's budget run on unchanged. The citizen is not told: nothing changed for them."""
    reason = validation.strip_controls(reason).strip()
    if not reason:
        raise WorkflowError(_l("Write why it goes to another department: the clerks there read it."))
    if len(reason) > TRANSFER_REASON_MAX_LENGTH:
        raise WorkflowError(_l("At most %(max_length)s characters.", max_length=TRANSFER_REASON_MAX_LENGTH))
    if department is None:
        raise WorkflowError(_l("Choose the department to send it to."))
    if not permissions.can_transfer(actor, req):
        raise NotAllowed(_l("You may not do this to request %(number)s now.", number=req.tracking_number))
    with transaction():
        fresh = _fresh(req.id)
        if fresh.version != version:
            raise StaleRequest(_stale_message(req.id))
        if not permissions.can_transfer(actor, fresh):
            raise NotAllowed(_l("You may not do this to request %(number)s now.", number=req.tracking_number))
        if fresh.department_id == department.id:
            raise WorkflowError(_l("The request is already with this department."))
        _apply(fresh, version, {"department": department.id, "assignee": None})
        entry = _record(fresh, actor, "transfer", reason, [],
                        {"from_department": fresh.department_id, "to_department": department.id},
                        delegation=_acting_under(actor, fresh),
                        from_stage=fresh.stage_id, to_stage=fresh.stage_id, from_status=fresh.status,
                        to_status=fresh.status)
    return Outcome(Request.get_by_id(req.id), entry)


def migrate_version(actor, req, version) -> Outcome:
    """An open request moved by an administrator from the version of its type it started with to the current one
    (issue 20): to the current stage of the same code (a stage changed since: its new department and budget; a
    request returned from a stage: from that stage's current row), with a history entry naming both versions. The
    clock runs on unchanged; the citizen is not told. Refused when its stage is no longer in the current version."""
    if not permissions.can_administer(actor):
        raise NotAllowed(_l("You may not do this to request %(number)s now.", number=req.tracking_number))
    with transaction():
        fresh = _fresh(req.id)
        if fresh.version != version:
            raise StaleRequest(_stale_message(req.id))
        current = RequestType.get_by_id(fresh.request_type_id)
        if not fresh.is_open or fresh.type_version == current.version:
            raise WorkflowError(_l("Request %(number)s is not open on an earlier version.",
                                   number=fresh.tracking_number))
        stages = {s.code: s for s in Stage.select().where(
            (Stage.request_type == current.id) & Stage.last_version.is_null())}
        now_at = Stage.get_by_id(fresh.stage_id)
        target = stages.get(now_at.code)
        returned = Stage.get_by_id(fresh.returned_from_id) if fresh.returned_from_id else None
        if target is None or (returned is not None and returned.code not in stages):
            raise WorkflowError(_l("Request %(number)s is at a stage the current version no longer has (%(stage)s):"
                                   " it finishes on its own version.", number=fresh.tracking_number,
                                   stage=now_at.code))
        changes = {"type_version": current.version, "stage": target.id}
        if returned is not None:
            changes["returned_from"] = stages[returned.code].id
        if fresh.status != "awaiting_citizen" and fresh.department_id == now_at.department_id:
            changes["department"] = target.department_id
        _apply(fresh, version, changes)
        entry = _record(fresh, actor, "migrate", "", [],
                        {"from_version": fresh.type_version, "to_version": current.version},
                        from_stage=fresh.stage_id, to_stage=target.id, from_status=fresh.status,
                        to_status=fresh.status)
    return Outcome(Request.get_by_id(req.id), entry)


def schedule_interview(actor, req, version, when, place, comment="") -> Outcome:
    """An interview request's interview set, or moved, by who decides it: its date and time (`when`: the form's
    local value, or a datetime; the office's time) and place stored on the request (`interviews.check`), the history
    entry keeps them (its `details`), and the citizen is told by SMS in their language (notify.events): a new date
    is a new message, and the reminder the day before follows the date in force (notify.reminders)."""
    try:
        interview = interviews.check(when, place)
    except interviews.InterviewRefused as refused:
        raise WorkflowError(refused.args[0]) from None
    if not permissions.can_schedule_interview(actor, req):
        raise NotAllowed(_l("You may not do this to request %(number)s now.", number=req.tracking_number))
    with transaction():
        fresh = _fresh(req.id)
        if fresh.version != version:
            raise StaleRequest(_stale_message(req.id))
        if not permissions.can_schedule_interview(actor, fresh):
            raise NotAllowed(_l("You may not do this to request %(number)s now.", number=req.tracking_number))
        _apply(fresh, version, {"interview_at": interview.at, "interview_place": interview.place})
        reminders.withdraw(fresh.id, keep=interview.at)  # moved: no reminder of the old time goes out
        entry = _record(fresh, actor, "schedule_interview", validation.strip_controls(comment).strip(), [],
                        interview.details, delegation=_acting_under(actor, fresh), from_stage=fresh.stage_id, to_stage=fresh.stage_id,
                        from_status=fresh.status, to_status=fresh.status)
    return Outcome(Request.get_by_id(req.id), entry)


def reject(actor, req, version, comment="", uploads=None) -> Outcome:
    def changes(fresh):
        return {"status": "rejected", "closed_at": utcnow(), "assignee": None}
    return _transition(req, actor, "reject", version, comment, uploads, changes)


def return_(actor, req, version, comment="", uploads=None, missing=()) -> Outcome:
    """Back to the stage that sent it, or, from the first stage, to the reception desk and the citizen,
    with the list of what is missing; the 45-day clock stops while the citizen holds it."""
    def changes(fresh):
        previous = _stage_at(fresh.request_type_id, fresh.type_version, fresh.stage.position - 1)
        if previous is None:
            return {"status": "awaiting_citizen", "assignee": None, "paused_at": utcnow()}
        return {"stage": previous.id, "department": previous.department_id, "status": "returned",
                "returned_from": fresh.stage_id, "assignee": None}
    return _transition(req, actor, "return", version, comment, uploads, changes,
                       details={"missing": list(missing)} if missing else None)


def resubmit(actor, req, version, comment="", uploads=None, data=None) -> Outcome:
    """Corrected: back to the stage that returned it; the clock moves on by the days it was paused.

    `data`: the type's fields as corrected (and the documents ticked received), over what the request held;
    `uploads` may name the document each file is. The history row's details keep the difference, field by field
    (`changes`: field, before, after), and the documents now received that were missing (`arrived`)."""
    difference = {}
    coming = {item[0] for item in uploads or [] if isinstance(item, tuple) and item[0] and item[1] and item[1].filename}

    def changes(fresh):
        now = utcnow()
        if fresh.returned_from_id is None:
            paused = (now - fresh.paused_at) if fresh.paused_at else dt.timedelta(0)
            moved = {"status": "open", "paused_at": None, "due_at": fresh.due_at + paused,
                     "stage_due_at": (fresh.stage_due_at or now) + paused}
        else:
            target = fresh.returned_from
            moved = {"stage": target.id, "department": target.department_id, "status": "open",
                     "returned_from": None, "assignee": None,
                     "stage_due_at": _stage_due(target, now, fresh.type_version)}
        return {**moved, **_corrected(fresh, data, coming, difference)}

    return _transition(req, actor, "resubmit", version, comment, uploads, changes, lambda fresh: difference)


def _corrected(fresh, data, coming: set, difference: dict) -> dict:
    """The request's columns a correction changes (its data, and its amount for a money type); fills `difference`
    with what changed and which missing documents arrived (the files being attached are counted in)."""
    request_type = fresh.definition  # the fields and documents of the version it started with
    before = request_substance.data_of(fresh)
    after = {**before, **(data or {})}
    attached = request_substance.attached_codes(fresh.id)
    difference["changes"] = request_substance.changes(request_type, before, after)
    difference["arrived"] = request_substance.arrived(
        request_type, request_substance.received_codes(request_type, before, attached),
        request_substance.received_codes(request_type, after, attached | coming))
    if not data:
        return {}
    columns = {"data": json.dumps(after, ensure_ascii=False)}
    if request_type.is_money and any(item["field"] == "amount" for item in difference["changes"]):
        columns["amount"] = request_substance.typed("decimal", after.get("amount"))
    return columns


def comment(actor, req, version, comment="", uploads=None) -> Outcome:
    """A note (and files) on the request, no change of state."""
    return _transition(req, actor, "comment", version, comment, uploads, lambda fresh: {})


def claim(actor, req, version, comment="", uploads=None) -> Outcome:
    return _transition(req, actor, "claim", version, comment, uploads, lambda fresh: {"assignee": actor.id})


def release(actor, req, version, comment="", uploads=None) -> Outcome:
    return _transition(req, actor, "release", version, comment, uploads, lambda fresh: {"assignee": None})


def reopen(actor, req, comment: str, delegation=None) -> Outcome:
    """A completed request back to its last stage, unassigned, because its payout was rejected (a supervisor's
    decision on the payout, with the reason for the clerk; `delegation`: the one a delegate rejected it under)."""
    if not permissions.can_decide_payouts(actor):
        raise NotAllowed(_l("Only supervisors reject payouts."))
    with transaction():
        fresh = _fresh(req.id)
        if fresh.status != "completed":
            raise WorkflowError(_l("Only a completed request can be reopened."))
        _apply(fresh, fresh.version, {"status": "open", "closed_at": None, "assignee": None,
                                      "stage_due_at": _stage_due(fresh.stage, utcnow(), fresh.type_version)})
        entry = _record(fresh, actor, "reopen", comment, [], None, delegation=delegation, from_stage=fresh.stage_id, to_stage=fresh.stage_id,
                        from_status="completed", to_status="open")
    return Outcome(Request.get_by_id(req.id), entry)


def reject_payouts(actor, payout_ids, reason: str, reauthenticated: bool) -> payouts.Decision:
    """A supervisor rejects payouts (awaiting approval or approved, not yet in a batch): each payout is rejected
    and its request goes back to its last stage for the clerk, with the reason, in one transaction per payout."""
    reason = payouts.check_rejection(actor, reason, reauthenticated)
    decision = payouts.Decision()
    for payout_id in dict.fromkeys(payout_ids):
        with transaction():
            rejected = payouts.reject_one(actor, payout_id, reason)
            if isinstance(rejected, str):
                decision.refused[payout_id] = rejected
                continue
            reopen(actor, rejected.request, reason, permissions.payout_delegation(actor, rejected))
            decision.done.append(payout_id)
    return decision


ACTIONS = {"accept": accept, "answer": answer, "return": return_, "reject": reject, "resubmit": resubmit,
           "comment": comment, "claim": claim, "release": release}


def act(actor, req, action: str, version: int, comment="", uploads=None, missing=(), data=None) -> Outcome:
    """Dispatch a named action from a form; `data`: the type's fields as corrected, for a resubmission."""
    if action not in ACTIONS:
        raise NotAllowed(_l("Unknown action."))
    if action == "return":
        return return_(actor, req, version, comment, uploads, missing)
    if action == "resubmit":
        return resubmit(actor, req, version, comment, uploads, data)
    return ACTIONS[action](actor, req, version, comment, uploads)


# --- assignment: take next, reassign -----------------------------------------------------------

def _next_unassigned_id(department_id, role):
    """The most urgent unassigned open request at a stage `role` may work (a stage that requires another role, the
    head's approval, is never handed to a clerk): overdue first, then due within 30 days, then oldest. With one
    45-day clock per request, due-date order is that priority; ties go to the older id."""
    if is_sqlite():
        # a subquery of the conditional UPDATE in take_next; the hint keeps the planner on the due-date index
        # (it otherwise walks the assignee index, ~100x slower at a million rows, while holding the write lock)
        return SQL('(SELECT "id" FROM "request" INDEXED BY "request_open_by_due" WHERE "department_id" = ? '
                   'AND "closed_at" IS NULL AND "status" = \'open\' AND "assignee_id" IS NULL '
                   'AND "stage_id" IN (SELECT "id" FROM "stage" WHERE "role" IS NULL OR "role" = ?) '
                   'ORDER BY "due_at", "id" LIMIT 1)', [department_id, role])
    return (Request.select(Request.id)
            .where((Request.department == department_id) & Request.open_work() & (Request.status == "open")
                   & Request.assignee.is_null() & Request.stage.in_(_stages_for(role)))
            .order_by(Request.due_at, Request.id).limit(1).for_update(skip_locked=True))


def _stages_for(role):
    """The stages a person of `role` may be given work at: those that require no role, or theirs."""
    return Stage.select(Stage.id).where(Stage.role.is_null() | (Stage.role == role))


def take_next(actor, department) -> Outcome | None:
    """Give the clerk the next request of the queue; atomic, so two clerks never get the same one.
    None when nothing is waiting."""
    if not permissions.can_take_from(actor, department):
        raise NotAllowed(_l("You may not take work from this queue."))
    if absence.is_absent(actor.id):
        raise NotAllowed(_l("You are marked absent today: end your absence on your staff page to take work."))
    now = utcnow()
    with transaction():
        if is_sqlite():
            # one statement: the write lock is held from the choice to the claim
            candidate = _next_unassigned_id(department.id, actor.role)
        else:
            row = _next_unassigned_id(department.id, actor.role).first()
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
        entry = _record(req, actor, "claim", "", [], {"take_next": True}, delegation=_acting_under(actor, req),
                        from_stage=req.stage_id,
                        to_stage=req.stage_id, from_status=req.status, to_status=req.status)
        # last: clerks taking the next item of one due day at once count it in one row of `open_work`, and each
        # holds that row's lock until commit
        open_work.moved({**open_work.fields_of(req), "assignee": None}, {"assignee": actor.id})
    return Outcome(req, entry)


def _check_assignable(clerk):
    """Work is given to an active clerk who is at work today (not marked absent: issue 18)."""
    if clerk.role != "clerk" or not clerk.active:
        raise WorkflowError(_l("Choose an active clerk."))
    if absence.is_absent(clerk.id):
        raise WorkflowError(_l("%(name)s is marked absent today: choose a colleague who is at work.",
                               name=clerk.full_name))


def assign(actor, request_ids, clerk, comment="") -> list[Request]:
    """A supervisor gives one or many open requests to a clerk of their department; returns those assigned
    (a request closed or moved to another department meanwhile is left out)."""
    if not permissions.can_reassign(actor):
        raise NotAllowed(_l("Only supervisors reassign work."))
    _check_assignable(clerk)
    done = []
    with transaction():
        # a request at a stage that requires another role (the head's approval) is not the clerk's: left out
        chosen = Request.select().where(Request.id.in_(list(request_ids)) & Request.open_work()
                                        & (Request.department == clerk.department_id)
                                        & Request.stage.in_(_stages_for(clerk.role)))
        counted = []
        for req in chosen if is_sqlite() else chosen.for_update():  # as read: what the open work counts move from
            Request.update(assignee=clerk.id, version=Request.version + 1, updated_at=utcnow()).where(
                Request.id == req.id).execute()
            counted.append((open_work.fields_of(req), {"assignee": clerk.id}))
            _record(req, actor, "assign", comment, [], {"assignee": clerk.id, "assignee_name": clerk.full_name},
                    from_stage=req.stage_id, to_stage=req.stage_id, from_status=req.status, to_status=req.status)
            done.append(req)
        open_work.moved_many(counted)
    return done


HAND_OVER_REASONS = ("absence", "directory")  # a colleague away (or asking), a directory change (staff/sync.py)


def hand_over(actor, staff, to=None, comment="", reason="absence") -> dict:
    """All of `staff`'s open items, in one action: each back to its queue (`to` None) or to the colleague `to` (an
    active clerk at work, of the item's department; an item they may not work goes back to its queue), with a
    history row per item ("release" or "assign", the details saying from whom and why), in one transaction.

    `reason` "absence": `actor` may hand the person's work over (themselves, their supervisor, an administrator);
    "directory": the directory sync, `actor` None (the schedule) or the administrator who ran it.
    Returns {"released": [...ids], "assigned": [...ids]}."""
    if reason not in HAND_OVER_REASONS:
        raise WorkflowError(_l("Unknown reason."))
    if reason == "directory":
        if actor is not None and not permissions.can_sync_directory(actor):
            raise NotAllowed(_l("Only administrators run the directory sync."))
    elif actor is None or not permissions.can_hand_over_work(actor, staff):
        raise NotAllowed(_l("You may not hand over this person's work."))
    if to is not None:
        if to.id == staff.id:
            raise WorkflowError(_l("Choose an active clerk."))
        _check_assignable(to)
    comment = validation.strip_controls(comment or "").strip()[:1000]
    done = {"released": [], "assigned": []}
    base = {"handed_over": reason, "from": staff.id, "from_name": staff.full_name}
    with transaction():
        workable = set() if to is None else {row.id for row in _stages_for(to.role)}
        held = Request.select().where((Request.assignee == staff.id) & Request.open_work()).order_by(Request.id)
        # all of them locked first, then the counts of the open work (a step on one of them meanwhile would hold
        # its request and wait for a count held here: a deadlock)
        held = list(held if is_sqlite() else held.for_update())
        counted = []
        for req in held:
            give = to is not None and req.department_id == to.department_id and req.stage_id in workable
            _apply(req, req.version, {"assignee": to.id if give else None}, counted)
            details = {**base, "assignee": to.id, "assignee_name": to.full_name} if give else base
            _record(req, actor, "assign" if give else "release", comment, [], details, from_stage=req.stage_id,
                    to_stage=req.stage_id, from_status=req.status, to_status=req.status)
            done["assigned" if give else "released"].append(req.id)
        open_work.moved_many(counted)
    return done


# --- letters to ministries (issue 16): the letter of a ministry-letter request, its history in the request's ------

def _letter_turn(actor, req_id, action):
    """In the transaction: the request as it is now and its letter (None: none yet), if the person may `action`."""
    fresh = _fresh(req_id)
    letter = MinistryLetter.get_or_none(MinistryLetter.request == req_id)
    if not letters.is_letter_request(fresh) or action not in permissions.letter_actions(actor, fresh, letter):
        raise NotAllowed(_l("You may not do this to the letter of request %(number)s now.",
                            number=fresh.tracking_number))
    return fresh, letter


def _letter_changed(letter, version, changes: dict):
    """Conditional update of the letter on the version the person saw (another clerk's edit makes it match none)."""
    changes = {**changes, "version": MinistryLetter.version + 1, "updated_at": utcnow()}
    if MinistryLetter.update(changes).where((MinistryLetter.id == letter.id)
                                            & (MinistryLetter.version == version)).execute() != 1:
        raise StaleRequest(_stale_message(letter.request_id))


def _letter_history(fresh, actor, action, comment, stored=(), details=None) -> HistoryEntry:
    return _record(fresh, actor, action, comment, list(stored), details, _acting_under(actor, fresh), from_stage=fresh.stage_id,
                   to_stage=fresh.stage_id, from_status=fresh.status, to_status=fresh.status)


def draft_letter(actor, req, version, ministry, subject, body) -> MinistryLetter:
    """Write the letter of a ministry-letter request, or correct it while it is a draft (`version`: the letter's,
    as the person saw it; None for the first draft)."""
    try:
        draft = letters.check_draft(ministry, subject, body)
    except letters.LetterRefused as refused:
        raise WorkflowError(refused.args[0]) from None
    try:
        with transaction():
            fresh, letter = _letter_turn(actor, req.id, "draft")
            values = {"ministry": draft.ministry, "subject": draft.subject, "body": draft.body}
            if letter is None:
                if version is not None:
                    raise StaleRequest(_stale_message(req.id))
                letter = db.create(MinistryLetter, request=fresh.id, drafted_by=actor.id, **values)
            else:
                _letter_changed(letter, version, {**values, "drafted_by": actor.id})
            _letter_history(fresh, actor, "letter_draft", "", details={"letter": letter.id})
    except IntegrityError:  # two first drafts at once: the other one is the letter now
        raise StaleRequest(_stale_message(req.id)) from None
    return MinistryLetter.get_by_id(letter.id)


def send_letter(actor, req, version, reply_due=None) -> MinistryLetter:
    """The draft leaves today: it takes the next number of the outgoing register, and its reply is awaited by
    `reply_due` (None: INTRANET_LETTER_REPLY_DAYS after today)."""
    today = local_today()
    try:
        due = letters.reply_due_for(today, reply_due)
    except letters.LetterRefused as refused:
        raise WorkflowError(refused.args[0]) from None
    with transaction():
        fresh, letter = _letter_turn(actor, req.id, "send")
        if letter.version != version:
            raise StaleRequest(_stale_message(req.id))
        reference = letters.next_reference(today.year)
        _letter_changed(letter, version, {"status": "sent", "reference": reference, "sent_on": today,
                                          "reply_due": due, "sent_by": actor.id})
        _letter_history(fresh, actor, "letter_sent", reference,
                        details={"letter": letter.id, "reference": reference, "reply_due": due.isoformat()})
    return MinistryLetter.get_by_id(letter.id)


def record_letter_reply(actor, req, received_on, reference, summary, upload=None) -> LetterReply:
    """The ministry's reply to the letter sent: its day, its own reference, what it says and, if given, its scan;
    the letter is then answered (the request is accepted or completed by the usual actions)."""
    letter = MinistryLetter.get_or_none(MinistryLetter.request == req.id)
    try:
        checked = letters.check_reply(received_on, reference, summary, letter.sent_on if letter else None,
                                      local_today())
    except letters.LetterRefused as refused:
        raise WorkflowError(refused.args[0]) from None
    stored = _store([upload] if upload is not None else [])
    try:
        with transaction():
            fresh, letter = _letter_turn(actor, req.id, "reply")
            if letter.status == "sent":
                _letter_changed(letter, letter.version, {"status": "replied"})
            entry = _letter_history(fresh, actor, "letter_reply", f"{checked.reference}\n{checked.summary}", stored,
                                    details={"letter": letter.id, "reference": checked.reference})
            attachment = Attachment.get_or_none(Attachment.history == entry.id)
            reply = db.create(LetterReply, letter=letter.id, received_on=checked.received_on,
                              reference=checked.reference, summary=checked.summary, recorded_by=actor.id,
                              attachment=attachment.id if attachment else None)
    except Exception:
        files.discard(stored)
        raise
    return reply
