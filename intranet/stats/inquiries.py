"""Inquiries counted by subject (issue 16) over a range of local days: received, and answered (closed with an
answer at the desk or by the department), by the subject that routed them; inquiries without a subject (from before
subjects, or none chosen) are counted on their own row."""
import datetime as dt

from peewee import fn

from intranet.models import HistoryEntry, Request, RequestType
from intranet.models.inquiries import INQUIRY_TYPE
from intranet.stats.figures import day_bounds


def _inquiries():
    return RequestType.select(RequestType.id).where(RequestType.code == INQUIRY_TYPE)


def counts_by_subject(start: dt.date, end: dt.date, department=None) -> dict:
    """{subject id or None: {"received": n, "answered": n}} for the local days start..end; `department`: only the
    inquiries routed there (the request's department now)."""
    first, last = day_bounds(start)[0], day_bounds(end)[1]
    where = Request.request_type.in_(_inquiries())
    if department is not None:
        where &= Request.department == department
    found: dict = {}
    for event, action in (("received", "submit"), ("answered", "answer")):
        # from the history, by its index on created_at, as every other figure
        rows = (Request.select(Request.inquiry_subject, fn.COUNT(HistoryEntry.id))
                .join(HistoryEntry, on=(HistoryEntry.request == Request.id))
                .where(where & (HistoryEntry.action == action) & (HistoryEntry.created_at >= first)
                       & (HistoryEntry.created_at < last))
                .group_by(Request.inquiry_subject).tuples())
        for subject, count in rows:
            found.setdefault(subject, {"received": 0, "answered": 0})[event] = count
    return found
