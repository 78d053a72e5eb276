"""THE place where a request changes state: permission, transition, history and attachments in one transaction."""
import datetime as dt
import json
from dataclasses import dataclass

from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from stdnum import luhn

from intranet import files
from intranet.auth import permissions
from intranet.db import database, transaction
from intranet.models import Attachment, HistoryEntry, Request, Stage, utcnow

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


# --- tracking numbers ---------------------------------------------------------------------------

def next_tracking_number(year: int) -> str:
    """YY-NNNNNNN-C: two-digit year, a yearly sequence, a Luhn check digit to catch typing errors."""
    p = database.param
    row = database.execute_sql(
        f"INSERT INTO tracking_sequence (year, last_value) VALUES ({p}, 1) "
        f"ON CONFLICT (year) DO UPDATE SET last_value = tracking_sequence.last_value + 1 "
        f"RETURNING last_value", (year,)).fetchone()
    return format_tracking_number(year, row[0])


def format_tracking_number(year: int, sequence: int) -> str:
    digits = f"{year % 100:02d}{sequence:07d}"
    return f"{digits[:2]}-{digits[2:]}-{luhn.calc_check_digit(digits)}"


# --- helpers --------------------------------------------------------------------------------------

def _stage_at(request_type_id: int, position: int):
    return Stage.get_or_none((Stage.request_type == request_type_id) & (Stage.position == position))


def _record(req, actor, action, comment, stored, **change) -> HistoryEntry:
    entry = HistoryEntry.create(request=req.id, actor=actor, action=action, comment=comment or "", **change)
    for item in stored:
        Attachment.create(request=req.id, history=entry, uploaded_by=actor, **vars(item))
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


def _transition(req, actor, action, version, comment, uploads, changes_for):
    """Shared skeleton of every action: check, store files, change state + history in one transaction."""
    _check_allowed(req, actor, action)
    if action in NEEDS_COMMENT and not (comment or "").strip():
        raise WorkflowError(_l("Write a comment: it says why, for the citizen and the next clerk."))
    stored = _store(uploads)
    try:
        with transaction():
            fresh = Request.get_by_id(req.id)
            if fresh.version != version:
                raise StaleRequest(_stale_message(req.id))
            _check_allowed(fresh, actor, action)
            changes = changes_for(fresh)
            if changes:
                _apply(fresh, version, changes)
            entry = _record(fresh, actor, action, comment, stored,
                            from_stage=fresh.stage_id, from_status=fresh.status,
                            to_stage=changes.get("stage", fresh.stage_id),
                            to_status=changes.get("status", fresh.status))
    except Exception:
        files.discard(stored)
        raise
    return Outcome(Request.get_by_id(req.id), entry)


# --- the actions ------------------------------------------------------------------------------------

def submit(actor, citizen, request_type, channel, subject, details="", data=None, uploads=None,
           received_at=None) -> Outcome:
    """A new request enters the first stage's queue; `actor` entered it for `citizen` (None: the portal)."""
    if actor is not None and not permissions.can_enter_requests(actor):
        raise NotAllowed(_l("Only the reception desk and supervisors enter requests."))
    first = _stage_at(request_type.id, 1)
    if first is None or not request_type.active:
        raise WorkflowError(_l("This request type is not open for new requests."))
    received = received_at or utcnow()
    stored = _store(uploads)
    try:
        with transaction():
            req = Request.create(
                tracking_number=next_tracking_number(received.year), citizen=citizen,
                request_type=request_type, channel=channel, stage=first, department=first.department_id,
                status="open", subject=subject, details=details or "", data=json.dumps(data or {}),
                received_at=received, due_at=received + dt.timedelta(days=request_type.sla_days),
                entered_by=actor)
            entry = _record(req, actor, "submit", "", stored, to_stage=first.id, to_status="open")
    except Exception:
        files.discard(stored)
        raise
    return Outcome(req, entry)


def accept(actor, req, version, comment="", uploads=None) -> Outcome:
    """On to the next stage's department, or completed after the last stage."""
    def changes(fresh):
        following = _stage_at(fresh.request_type_id, fresh.stage.position + 1)
        if following is None:
            return {"status": "completed", "closed_at": utcnow(), "assignee": None}
        return {"stage": following.id, "department": following.department_id, "status": "open",
                "assignee": None}
    return _transition(req, actor, "accept", version, comment, uploads, changes)


def reject(actor, req, version, comment="", uploads=None) -> Outcome:
    def changes(fresh):
        return {"status": "rejected", "closed_at": utcnow(), "assignee": None}
    return _transition(req, actor, "reject", version, comment, uploads, changes)


def return_(actor, req, version, comment="", uploads=None) -> Outcome:
    """Back to the stage that sent it, or, from the first stage, to the reception desk and the citizen."""
    def changes(fresh):
        previous = _stage_at(fresh.request_type_id, fresh.stage.position - 1)
        if previous is None:
            return {"status": "awaiting_citizen", "assignee": None}
        return {"stage": previous.id, "department": previous.department_id, "status": "returned",
                "returned_from": fresh.stage_id, "assignee": None}
    return _transition(req, actor, "return", version, comment, uploads, changes)


def resubmit(actor, req, version, comment="", uploads=None) -> Outcome:
    """Corrected: back to the stage that returned it."""
    def changes(fresh):
        if fresh.returned_from_id is None:
            return {"status": "open"}
        target = fresh.returned_from
        return {"stage": target.id, "department": target.department_id, "status": "open",
                "returned_from": None, "assignee": None}
    return _transition(req, actor, "resubmit", version, comment, uploads, changes)


def comment(actor, req, version, comment="", uploads=None) -> Outcome:
    """A note (and files) on the request, no change of state."""
    return _transition(req, actor, "comment", version, comment, uploads, lambda fresh: {})


def claim(actor, req, version, comment="", uploads=None) -> Outcome:
    return _transition(req, actor, "claim", version, comment, uploads, lambda fresh: {"assignee": actor.id})


def release(actor, req, version, comment="", uploads=None) -> Outcome:
    return _transition(req, actor, "release", version, comment, uploads, lambda fresh: {"assignee": None})


ACTIONS = {"accept": accept, "return": return_, "reject": reject, "resubmit": resubmit,
           "comment": comment, "claim": claim, "release": release}


def act(actor, req, action: str, version: int, comment="", uploads=None) -> Outcome:
    """Dispatch a named action from a form."""
    if action not in ACTIONS:
        raise NotAllowed(_l("Unknown action."))
    return ACTIONS[action](actor, req, version, comment, uploads)
