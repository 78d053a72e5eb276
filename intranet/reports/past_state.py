"""The printed documents' own figures, as they stood at a past moment: the items open then (in the department
that held them then, with the clerk who held them then), visitors served on a day, and what was decided between
two moments with its reason.

A request changed since the moment (`updated_at` later) has its department and holder at that moment read back
from its history; the others are as they stand. Counts of what happened on a day come from `stats.figures`.
"""
import datetime as dt
import json
from dataclasses import dataclass

from peewee import JOIN

from intranet.models import Department, HistoryEntry, Request, RequestType, Sla, Stage, Staff, VisitorTicket, sla_at

# what changes who holds a request: a claim gives it to the actor, an assignment to the clerk named, the rest
# (release, moves between stages, decisions) leave it unassigned
_HOLDING = ("claim", "assign", "release", "accept", "return", "reject", "resubmit")
DECISIONS = ("completed", "rejected", "returned")


@dataclass
class OpenItem:
    id: int
    tracking_number: str
    request_type_id: int
    department_id: int
    received_at: dt.datetime
    due_at: dt.datetime
    assignee_id: int | None
    paused_at: dt.datetime | None = None
    sla: Sla = Sla("on_track")  # where it stood at the moment: the one rule (models.requests.sla_at)
    clerk: str = ""

    @property
    def state(self) -> str:
        return self.sla.state


def departments() -> list[Department]:
    """The departments that work a stage, in a fixed order: one page each."""
    working = Stage.select(Stage.department).distinct()
    return list(Department.select().where(Department.id.in_(working)).order_by(Department.id))


def open_at(moment: dt.datetime) -> list[OpenItem]:
    """Every request open at `moment` (naive UTC): received before it and not closed by then, where it stood
    then by the one rule (`sla_at`); one waiting for the citizen then is paused, even if it has come back since."""
    was_open = (Request.received_at < moment) & (Request.closed_at.is_null() | (Request.closed_at >= moment))
    rows = (Request.select(Request.id, Request.tracking_number, Request.request_type, Request.department,
                           Request.received_at, Request.due_at, Request.assignee, Request.paused_at,
                           Request.updated_at)
            .where(was_open).tuples())
    items, changed = [], {}
    for rid, number, type_id, dept, received, due, assignee, paused, updated in rows:
        item = OpenItem(rid, number, type_id, dept, received, due, assignee, paused)
        items.append(item)
        if updated is not None and updated >= moment:
            changed[rid] = item
    status_then = _as_it_was(changed, moment)
    for item in items:
        waiting = status_then.get(item.id) == "awaiting_citizen"  # it has come back since: paused_at is cleared
        item.sla = Sla("paused") if waiting else sla_at(item.due_at, item.paused_at, None, moment)
    _clerk_names(items)
    return items


def _as_it_was(changed: dict, moment: dt.datetime) -> dict:
    """Department and holder at `moment` of the requests changed since, from their history before it; returns
    their status then ({id: status})."""
    ids, status_then = list(changed), {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        entries = (HistoryEntry.select(HistoryEntry.request, HistoryEntry.action, HistoryEntry.actor,
                                       HistoryEntry.details, HistoryEntry.to_status, Stage.department,
                                       HistoryEntry.department, HistoryEntry.from_stage, HistoryEntry.to_stage)
                   .join(Stage, JOIN.LEFT_OUTER, on=(HistoryEntry.to_stage == Stage.id))
                   .where(HistoryEntry.request.in_(chunk) & (HistoryEntry.created_at < moment))
                   .order_by(HistoryEntry.id).tuples())
        for rid, action, actor, details, status, stage_dept, held_by, from_stage, to_stage in entries:
            item = changed[rid]
            if status is not None:
                status_then[rid] = status
            if (dept := _held_after(action, details, stage_dept, held_by, from_stage, to_stage)) is not None:
                item.department_id = dept
            if action == "claim":
                item.assignee_id = actor
            elif action == "assign":
                item.assignee_id = json.loads(details or "{}").get("assignee")
            elif action in _HOLDING:
                item.assignee_id = None
    return status_then


def _held_after(action, details, stage_dept, held_by, from_stage, to_stage):
    """The department holding a request after a history row: the one a transfer sent it to; a move to another stage
    hands it to that stage's department; any other step leaves it where the row says it was taken (a submission:
    the department it was routed to), or, on a row from before migration 0024, with its stage's department."""
    if action == "transfer":
        return json.loads(details or "{}").get("to_department") or held_by
    if from_stage is not None and from_stage != to_stage:
        return stage_dept
    return held_by if held_by is not None else stage_dept


def _clerk_names(items):
    ids = {item.assignee_id for item in items if item.assignee_id}
    names = dict(Staff.select(Staff.id, Staff.full_name).where(Staff.id.in_(list(ids))).tuples()) if ids else {}
    for item in items:
        item.clerk = names.get(item.assignee_id, "")


def visitors(start: dt.datetime, end: dt.datetime) -> dict:
    """Walk-in visitors called to a desk in [start, end) and served (or being served), with the average wait
    from the ticket to the call (a timedelta, None when nobody was served)."""
    rows = (VisitorTicket.select(VisitorTicket.issued_at, VisitorTicket.called_at)
            .where((VisitorTicket.called_at >= start) & (VisitorTicket.called_at < end)
                   & VisitorTicket.status.in_(("done", "serving"))).tuples())
    waits = [called - issued for issued, called in rows]
    average = sum(waits, dt.timedelta()) / len(waits) if waits else None
    return {"served": len(waits), "average_wait": average}


@dataclass
class Decision:
    tracking_number: str
    request_type_id: int
    department_id: int
    outcome: str  # completed, rejected, returned
    at: dt.datetime
    actor: str
    reason: str
    sla: Sla | None = None  # completed or rejected: answered in time or late (the one rule); a return: None


def decisions(start: dt.datetime, end: dt.datetime) -> list[Decision]:
    """What was completed, rejected or returned in [start, end), in the department that decided (as its history row
    recorded it; a row from before migration 0024: its stage's), with the comment given; oldest first."""
    outcome = {"reject": "rejected", "return": "returned"}
    query = (HistoryEntry.select(HistoryEntry.action, HistoryEntry.created_at, HistoryEntry.comment,
                                 Request.tracking_number, Request.request_type.alias("type_id"),
                                 Request.due_at, Request.paused_at,
                                 HistoryEntry.counted_department(Stage.department).alias("department_id"),
                                 Staff.full_name)
             .join(Request, on=(HistoryEntry.request == Request.id))
             .join_from(HistoryEntry, Stage, on=(HistoryEntry.from_stage == Stage.id))
             .join_from(HistoryEntry, Staff, JOIN.LEFT_OUTER, on=(HistoryEntry.actor == Staff.id))
             .where((HistoryEntry.created_at >= start) & (HistoryEntry.created_at < end)
                    & (HistoryEntry.completed_it() | HistoryEntry.action.in_(("reject", "return"))))
             .order_by(HistoryEntry.created_at, HistoryEntry.id).dicts())
    return [Decision(row["tracking_number"], row["type_id"], row["department_id"],
                     outcome.get(row["action"], "completed"), row["created_at"], row["full_name"] or "",
                     (row["comment"] or "").strip(),
                     None if row["action"] == "return" else sla_at(row["due_at"], row["paused_at"], row["created_at"],
                                                                   row["created_at"]))
            for row in query]


def type_names(language: str) -> dict[int, str]:
    return {row.id: row.name(language) for row in RequestType.select()}
