"""Queue and request-page queries: tabs, filters, search, key-set pagination, counts, history."""
from collections import defaultdict
from functools import reduce
from operator import and_

from peewee import JOIN, SQL, Case, fn

from intranet import paging, search
from intranet.db import is_sqlite
from intranet.models import (
    Attachment,
    Citizen,
    Governorate,
    HistoryEntry,
    Request,
    RequestType,
    Staff,
    Stage,
    utcnow,
)
from intranet.models.delegations import Delegation
from intranet.params import to_id
from intranet.queues.filters import TABS, age_condition, sla_condition, tab_condition
from intranet.staff import absence

SORT_COLUMNS = {"due": Request.due_at, "received": Request.received_at}


def _reference_id(model, code):
    row = model.get_or_none(model.code == code) if code else None
    return row.id if row else None


def _conditions(department, filters, user, now):
    """Every condition the page's tab, filters and search put on the department's open work."""
    conditions = [Request.department == department.id, Request.open_work()]
    optional = [
        tab_condition(filters.tab, user, now),
        sla_condition(filters.sla, now),
        age_condition(filters.age, now),
        search.request_condition(filters.q),
    ]
    if filters.type:
        optional.append(Request.request_type == _reference_id(RequestType, filters.type))
    if filters.governorate:
        optional.append(Request.governorate == _reference_id(Governorate, filters.governorate))
    if (stage := to_id(filters.stage)) is not None:
        optional.append(Request.stage == stage)
    if filters.channel:
        optional.append(Request.channel == filters.channel)
    if (clerk := to_id(filters.clerk)) is not None:
        optional.append(Request.assignee == clerk)
    return conditions + [c for c in optional if c is not None]


def queue_page(department, filters, user, after_id=None, size=25):
    """One page of rows and the key of the next page (None on the last): key-set pagination, never OFFSET."""
    now = utcnow()
    column = SORT_COLUMNS[filters.sort]
    last = Request.select(column, Request.id).where(Request.id == after_id).first() if to_id(after_id) else None
    found, next_after = paging.page(
        Request.select(Request.id).where(reduce(and_, _conditions(department, filters, user, now))),
        (column, Request.id), (getattr(last, column.name), last.id) if last else None, size,
        next_key=lambda row: row.id)
    return _rows([row.id for row in found]), next_after


def _rows(ids):
    """The page's rows with what the row shows, in the order of `ids` (found by the index first)."""
    if not ids:
        return []
    query = (Request.select(Request, Citizen, RequestType, Stage, Staff)
             .join_from(Request, Citizen).join_from(Request, RequestType).join_from(Request, Stage)
             .join_from(Request, Staff, JOIN.LEFT_OUTER, on=(Request.assignee == Staff.id))
             .where(Request.id.in_(ids)))
    by_id = {row.id: row for row in query}
    return [by_id[i] for i in ids]


def tab_counts(department, user) -> dict:
    """How many open requests each tab holds, in one pass over the department's open-work index."""
    now = utcnow()

    def count(condition):
        return fn.SUM(Case(None, [(condition, 1)], 0))

    query = Request.select(fn.COUNT(Request.id).alias("all"),
                           *[count(tab_condition(tab, user, now)).alias(tab) for tab in TABS if tab != "all"])
    if is_sqlite():
        # SQLite's planner would pick the narrower received-date index and read the table for each row
        query = query.from_(SQL('"request" AS "t1" INDEXED BY "request_open_by_due"'))
    row = query.where((Request.department == department.id) & Request.open_work()).dicts().get()
    return {tab: int(row[tab] or 0) for tab in TABS}


def find_request(tracking_number: str):
    return (Request.select(Request, Citizen, RequestType, Stage)
            .join_from(Request, Citizen).join_from(Request, RequestType).join_from(Request, Stage)
            .where(Request.tracking_number == tracking_number.strip()).first())


def history_of(req):
    """The request's history, oldest first, each entry with its attachments."""
    entries = list(HistoryEntry.select(HistoryEntry, Staff)
                   .join(Staff, JOIN.LEFT_OUTER, on=(HistoryEntry.actor == Staff.id))
                   .where(HistoryEntry.request == req.id).order_by(HistoryEntry.id))
    by_entry = defaultdict(list)
    for attachment in Attachment.select().where(Attachment.request == req.id).order_by(Attachment.id):
        by_entry[attachment.history_id].append(attachment)
    # the steps taken under a delegation: its grantor, for "A acting for B under delegation n" (issue 18)
    used = {entry.delegation_id for entry in entries} - {None}
    granted = {row.id: row for row in Delegation.select(Delegation, Staff)
               .join(Staff, on=(Delegation.grantor == Staff.id)).where(Delegation.id.in_(list(used)))} if used else {}
    for entry in entries:
        entry.files = by_entry[entry.id]
        entry.acting_for = granted.get(entry.delegation_id)
    return entries


def since_last_return(history):
    """The last return and what came after it (comments, files, resubmission), for the clerk who sent it back."""
    returns = [i for i, entry in enumerate(history) if entry.action == "return"]
    if not returns:
        return None, []
    return history[returns[-1]], history[returns[-1] + 1:]


def stage_names(req):
    return {stage.id: stage for stage in Stage.select().where(Stage.request_type == req.request_type_id)}


def clerks_of(department):
    """The clerks a supervisor may assign the department's work to: active, and not absent today (issue 18)."""
    return Staff.select().where((Staff.department == department.id) & (Staff.role == "clerk")
                                & Staff.active & absence.present()).order_by(Staff.full_name)
