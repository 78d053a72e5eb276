"""Queue and request-page queries: key-set pagination, history with attachments."""
from collections import defaultdict

from peewee import JOIN

from intranet.models import Attachment, Citizen, HistoryEntry, Request, RequestType, Stage, Staff


def queue_page(department, request_type=None, after_id=None, size=25):
    """One page of the department's open work by due date; `after_id` is the last row of the previous page."""
    query = (Request.in_queue(department)
             .select(Request, Citizen, RequestType, Stage, Staff)
             .join_from(Request, Citizen).join_from(Request, RequestType).join_from(Request, Stage)
             .join_from(Request, Staff, JOIN.LEFT_OUTER, on=(Request.assignee == Staff.id)))
    if request_type is not None:
        query = query.where(Request.request_type == request_type)
    if after_id:
        last = Request.get_or_none(Request.id == after_id)
        if last is not None:
            query = query.where((Request.due_at > last.due_at)
                                | ((Request.due_at == last.due_at) & (Request.id > last.id)))
    rows = list(query.limit(size + 1))
    return rows[:size], (rows[size - 1].id if len(rows) > size else None)


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
    for entry in entries:
        entry.files = by_entry[entry.id]
    return entries


def stage_names(req):
    return {stage.id: stage for stage in Stage.select().where(Stage.request_type == req.request_type_id)}

