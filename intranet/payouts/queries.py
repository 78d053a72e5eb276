"""The payouts' lists as their screens read them, so that no view builds a query: the approval screen's filters
and page (each payout with its citizen, type and request, the totals of all the filters select, the approvals
given so far), the ticked payouts' totals, the IBAN changes waiting, the batches and a batch's items.

Every list pages by key (`intranet/paging.py`). The filters come from the URL and keep only known values, so a
link or a form carries them on unchanged (`filter_args`)."""
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from peewee import fn

from intranet import paging, params
from intranet.models import Citizen, Department, Governorate, Request, RequestType, Staff, utcnow
from intranet.models.payouts import (
    BatchItem,
    ExportDownload,
    ExportFile,
    IbanChange,
    Payout,
    PayoutApproval,
    PayoutBatch,
)

STATUS_TABS = ("pending", "approved")
MAX_TICKED = 1000  # more ids than a page shows are ignored, not looked up
MAX_AMOUNT = Decimal("1e12")


# --- the approval screen's filters -----------------------------------------------------------------------------

def ticked_ids(values) -> list[int]:
    """The payout ids of a form or URL: ASCII digits within the id range, each once, at most MAX_TICKED;
    anything else is ignored."""
    return params.to_ids(values, MAX_TICKED)


def _number(value):
    try:
        amount = Decimal(value) if value not in (None, "") else None
    except InvalidOperation:
        return None
    return amount if amount is not None and amount.is_finite() and 0 <= amount <= MAX_AMOUNT else None


def chosen_filters(args) -> dict:
    """Only known values: anything else is ignored, as on the queue page."""
    chosen = {"status": params.arg_choice("status", STATUS_TABS, "pending", source=args)}
    for key in ("type", "department", "governorate", "age"):
        if (value := params.arg_int(key, minimum=0, source=args)) is not None:
            chosen[key] = value
    for key in ("min", "max"):
        if (amount := _number(args.get(key))) is not None:
            chosen[key] = amount
    return chosen


def filter_choices() -> dict:
    """What the filters offer: the money request types, the departments and the governorates."""
    return {"types": list(RequestType.select().where(RequestType.is_money == True)),  # noqa: E712
            "departments": list(Department.select().order_by(Department.id)),
            "governorates": list(Governorate.select().order_by(Governorate.id))}


def filter_args(chosen) -> dict:
    """The chosen filters as URL arguments (validated values only: what links and forms carry on)."""
    return {key: str(value) for key, value in chosen.items()}


def money_sum(total) -> Decimal:
    """A SUM of amounts as the exact Decimal of the column's scale (SQLite sums DECIMAL columns as floats)."""
    return Decimal(str(total or 0)).quantize(Decimal("0.001"))


def filtered(chosen, seen=None):
    """The payouts the filters select (unexecuted), among those `seen` (`permissions.visible_payouts`; None: all)."""
    query = Payout.select().where(Payout.status == chosen["status"])
    if seen is not None:
        query = query.where(seen)
    conditions = {"type": Payout.request_type, "department": Payout.department, "governorate": Payout.governorate}
    for key, column in conditions.items():
        if key in chosen:
            query = query.where(column == chosen[key])
    if "min" in chosen:
        query = query.where(Payout.amount >= chosen["min"])
    if "max" in chosen:
        query = query.where(Payout.amount <= chosen["max"])
    if "age" in chosen:
        query = query.where(Payout.created_at <= utcnow() - dt.timedelta(days=min(chosen["age"], 36500)))
    return query


def filtered_ids(chosen, limit: int) -> list[int]:
    """The ids of the payouts the filters select, in id order, at most `limit` (the caller asks one more to know
    there were too many)."""
    return [row[0] for row in filtered(chosen).select(Payout.id).order_by(Payout.id).limit(limit).tuples()]


# --- the approval screen's page --------------------------------------------------------------------------------

@dataclass
class ApprovalPage:
    rows: list  # the page's payouts, each with its citizen, type and request's tracking number
    next_after: int | None
    count: int  # of all the filters select, not only this page
    total: Decimal
    approvals: dict = field(default_factory=dict)  # payout id -> approvals given so far (not voided)
    ticked: list = field(default_factory=list)  # the page's payouts among those asked to be ticked again


def approval_page(chosen, after, size: int, ticked=(), seen=None) -> ApprovalPage:
    """One page of the payouts the filters select among those the person may see (`seen`:
    `permissions.visible_payouts`), by id, with the totals of them all and the approvals so far; `ticked` ids come
    back ticked only when this page shows them (and so submits them)."""
    query = filtered(chosen, seen)
    count, total = query.select(fn.COUNT(Payout.id), fn.SUM(Payout.amount)).scalar(as_tuple=True)
    rows, next_after = paging.page(
        query.select(Payout, Citizen, RequestType, Request.tracking_number).join(Citizen).switch(Payout)
        .join(RequestType).switch(Payout).join(Request), Payout.id, after, size)
    approvals = dict(PayoutApproval.select(PayoutApproval.payout, fn.COUNT(PayoutApproval.id))
                     .where(PayoutApproval.payout.in_([row.id for row in rows]) & PayoutApproval.voided_at.is_null())
                     .group_by(PayoutApproval.payout).tuples()) if rows else {}
    wanted = set(ticked)
    return ApprovalPage(rows, next_after, count or 0, money_sum(total), approvals,
                        [row for row in rows if row.id in wanted])


def selection_totals(ids, seen=None) -> tuple[int, Decimal]:
    """How many of these payouts there are, and their sum (of those the person may see: `seen`)."""
    if not ids:
        return 0, money_sum(0)
    query = Payout.select(fn.COUNT(Payout.id), fn.SUM(Payout.amount)).where(Payout.id.in_(ids))
    count, total = (query if seen is None else query.where(seen)).scalar(as_tuple=True)
    return count or 0, money_sum(total)


def with_tracking_numbers(ids, seen=None) -> list:
    """These payouts with their request's tracking number, by id (what the password prompt lists), of those the
    person may see (`seen`: `permissions.visible_payouts`)."""
    query = Payout.select(Payout, Request.tracking_number).join(Request).where(Payout.id.in_(ids))
    return list((query if seen is None else query.where(seen)).order_by(Payout.id))


def pending_iban_changes(limit: int = 200) -> list:
    """New IBANs waiting for a second person, oldest first, each with its citizen and who asked: one query."""
    return list(IbanChange.select(IbanChange, Citizen, Staff).join(Citizen).switch(IbanChange)
                .join(Staff, on=(IbanChange.requested_by == Staff.id)).where(IbanChange.status == "pending")
                .order_by(IbanChange.id).limit(limit))


# --- batches ---------------------------------------------------------------------------------------------------

def batches_page(before, size: int):
    """Every batch, newest first, a page at a time: (rows, the `before` of the next page or None)."""
    return paging.page(PayoutBatch.select(), PayoutBatch.id, before, size, descending=True)


def batch_items_page(batch, after, size: int):
    """A batch's items in order with their payout's status and request's tracking number, by its (batch, seq)
    index: (items, the `after` of the next page or None)."""
    return paging.page(BatchItem.select(BatchItem, Payout.status, Request.tracking_number).join(Payout).join(Request)
                       .where(BatchItem.batch == batch.id), BatchItem.seq, after, size)


def batch_downloads(batch, limit: int = 100) -> list:
    """Who downloaded the batch's files and when, newest first."""
    return list(ExportDownload.select(ExportDownload, ExportFile.kind, Staff.full_name)
                .join(ExportFile).switch(ExportDownload).join(Staff)
                .where(ExportFile.batch == batch.id).order_by(ExportDownload.id.desc()).limit(limit))


def exported_files(batch) -> list:
    """The batch's released files in the order they were written."""
    return list(ExportFile.select().where(ExportFile.batch == batch.id).order_by(ExportFile.id))
