"""Periodic benefits (issue 17): when a request of a renewable type (its `renewal_months`, from the definitions file)
is completed, the citizen's benefit of that type is made, or set going again, with its next renewal due that many
months after the completion (office date). A renewal request's own completion changes nothing: the scheduled job
(renewals.py) advanced the benefit when it claimed the period. Called by the workflow in the transaction that
records the step; it imports no workflow."""
import calendar
import datetime as dt

from intranet import reference
from intranet.db import database, insert_row
from intranet.models import RequestType, utcnow
from intranet.models.renewals import Benefit
from intranet.stats.figures import local_today


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved `months` calendar months on, the day of the month kept where the month has it (31 January + 1:
    28 or 29 February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def renewal_months(request_type_id: int) -> int | None:
    rtype = reference.by_id(RequestType, request_type_id)
    return rtype.renewal_months if rtype is not None else None


def _is_renewal(request_id: int) -> bool:
    return database.execute_sql(f'SELECT 1 FROM "renewal" WHERE "request_id" = {database.param} LIMIT 1',
                                (request_id,)).fetchone() is not None


def on_change(req, entry):
    """Inside the step's transaction: a completed request of a renewable type starts (or restarts) its benefit."""
    if entry.to_status != "completed" or entry.from_status == "completed":
        return
    months = renewal_months(req.request_type_id)
    if not months or _is_renewal(req.id):
        return
    next_due = add_months(local_today(), months)
    values = {"every_months": months, "next_due": next_due, "amount": req.amount, "subject": (req.subject or "")[:300],
              "origin": req.id, "active": True, "updated_at": utcnow()}
    if insert_row(Benefit, {"citizen": req.citizen_id, "request_type": req.request_type_id, "period": 0,
                            "created_at": utcnow(), **values}, ignore_conflict=True) is None:
        Benefit.update(values).where((Benefit.citizen == req.citizen_id)
                                     & (Benefit.request_type == req.request_type_id)).execute()
