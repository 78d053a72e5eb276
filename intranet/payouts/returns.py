"""The bank's return file for a released batch: read whole (one malformed line refuses the file and changes
nothing), applied in one transaction, reconciled against what the batch sent; and the failed payouts a
supervisor puts back for batching.

A line answers one item of this batch, found by its end-to-end id. An answer is applied once: the same answer
again is "already" (no second SMS, no second audit entry), a different one (paid after failed, or the other way)
or a different amount or IBAN is a conflict, reported and not applied, for a person to take up with the bank.
"""
import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from intranet.i18n import gettext as _
from intranet.i18n import lazy_gettext as _l
from intranet.i18n import ngettext

from intranet import db, paging
from intranet.auth import permissions
from intranet.db import is_sqlite, transaction
from intranet.models import Citizen, Request, Staff, utcnow
from intranet.models.payouts import BankReturn, BatchItem, Payout, PayoutBatch
from intranet.notify import events, wording
from intranet.payouts import audit
from intranet.payouts.service import Decision, PayoutRefused

MAX_BYTES = 10 * 1024 * 1024
MAX_LINES = 200_000
SHOWN_PROBLEMS = 50  # listed in a refusal
STORED_PROBLEMS = 1_000  # kept in a return's report; all are counted
REQUIRED = ("end_to_end", "status", "amount")
COLUMNS = REQUIRED + ("iban", "reason", "message_id")
# the bank's word for each outcome: ours, and the ISO 20022 transaction status codes
STATUSES = {"paid": "paid", "acsc": "paid", "accc": "paid", "failed": "failed", "rjct": "failed"}
# why a line of an imported file was not applied (stored as the code, shown in the reader's language)
PROBLEMS = {
    "unknown": _l("No payment of this batch has this end-to-end id."),
    "amount": _l("The amount differs from the amount sent: not applied."),
    "iban": _l("The IBAN differs from the IBAN sent: not applied."),
    "paid_after_failed": _l("Paid, but an earlier file said it failed: not applied. Ask the bank."),
    "failed_after_paid": _l("Failed, but an earlier file said it was paid: not applied. Ask the bank."),
    "moved": _l("The payout is no longer awaiting the bank's answer: not applied."),
}


class FileRefused(Exception):
    """The file as a whole is not imported; `problems` are (line, message) pairs, the first SHOWN_PROBLEMS of
    `total`. Nothing was changed."""

    def __init__(self, message, problems=(), total=0):
        super().__init__(str(message))
        self.message = str(message)
        self.problems = list(problems)[:SHOWN_PROBLEMS]
        self.total = total or len(self.problems)


@dataclass
class Line:
    number: int  # as a spreadsheet numbers it: the header is line 1
    end_to_end: str
    status: str  # paid or failed
    amount: Decimal
    iban: str
    reason: str


def may_import(user) -> bool:
    """Supervisors import the bank's answers; administrators read them: `permissions.can_import_bank_returns`."""
    return permissions.can_import_bank_returns(user)


# --- reading ---------------------------------------------------------------------------------------------------

def _iban(value: str) -> str:
    return "".join((value or "").split()).upper()


def _amount(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or value <= 0 or value.as_tuple().exponent < -3 or value >= Decimal("1e11"):
        return None
    return value


def _check(number, values: dict, reference: str, seen: dict) -> tuple[Line | None, list[str]]:
    """The line, or what is wrong with it."""
    problems = []
    end_to_end = values.get("end_to_end", "")
    if not end_to_end:
        problems.append(_("The end-to-end id is empty."))
    elif len(end_to_end) > 35:
        problems.append(_("An end-to-end id has at most 35 characters."))
    elif end_to_end in seen:
        problems.append(_("This end-to-end id is on line %(line)d already.", line=seen[end_to_end]))
    status = STATUSES.get(values.get("status", "").lower())
    if status is None:
        problems.append(_("Unknown status \"%(value)s\": write paid or failed (or ACSC, ACCC, RJCT).",
                          value=values.get("status", "")))
    amount = _amount(values.get("amount", ""))
    if amount is None:
        problems.append(_("The amount \"%(value)s\" is not a positive amount like 1250.500.",
                          value=values.get("amount", "")))
    if values.get("message_id") and values["message_id"] != reference:
        problems.append(_("The message id %(value)s is not this batch's reference (%(reference)s).",
                          value=values["message_id"], reference=reference))
    if problems:
        return None, problems
    seen[end_to_end] = number
    return Line(number, end_to_end, status, amount, _iban(values.get("iban", "")),
                values.get("reason", "")[:500]), []


def _header(reader) -> list[str]:
    header = [name.strip().lower() for name in next(reader, None) or []]
    if not any(header):
        raise FileRefused(_("The file has no header line: the first line names the columns end_to_end, status "
                            "and amount."))
    if len(set(header)) != len(header):
        raise FileRefused(_("A column is named twice in the header line."))
    if missing := [name for name in REQUIRED if name not in header]:
        raise FileRefused(_("Required columns are missing: %(names)s.", names=", ".join(missing)))
    return header


def read(content: bytes, batch) -> list[Line]:
    """Every line of the file, checked; FileRefused if the file cannot be read or any line is malformed."""
    if not content:
        raise FileRefused(_("The file is empty."))
    if len(content) > MAX_BYTES:
        raise FileRefused(_("The file is larger than %(mb)d MB: ask the bank for smaller files.",
                            mb=MAX_BYTES // 2**20))
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRefused(_("The file is not UTF-8 text: save it as \"CSV UTF-8\" and upload it again.")) from None
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text), delimiter=";" if first.count(";") > first.count(",") else ",")
    lines, problems, seen, number = [], [], {}, 0
    try:
        header, number = _header(reader), 1
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if number > MAX_LINES + 1:
                raise FileRefused(_("The file has more than %(n)s lines: ask the bank for smaller files.",
                                    n=f"{MAX_LINES:,}"))
            if len(cells) > len(header):
                problems.append((number, _("This line has more cells than the header has columns.")))
                continue
            line, wrong = _check(number, {name: cell.strip() for name, cell in zip(header, cells)},
                                 batch.reference, seen)
            problems += [(number, message) for message in wrong]
            if line is not None:
                lines.append(line)
    except csv.Error:
        raise FileRefused(_("Line %(line)d of the file cannot be read as CSV.", line=number + 1)) from None
    if problems:
        raise FileRefused(ngettext("The file was refused: %(num)d problem. Nothing was changed.",
                                   "The file was refused: %(num)d problems. Nothing was changed.",
                                   len(problems)), problems, len(problems))
    if not lines:
        raise FileRefused(_("The file has a header line but no lines after it."))
    return lines


# --- applying --------------------------------------------------------------------------------------------------

CHUNK = 500  # ids per UPDATE ... WHERE id IN (...)


@dataclass
class _Tally:
    paid: int = 0
    failed: int = 0
    already: int = 0
    unknown: int = 0
    conflicts: int = 0
    paid_total: Decimal = Decimal(0)
    failed_total: Decimal = Decimal(0)
    report: list = field(default_factory=list)
    applied: list = field(default_factory=list)  # (line, item) to write

    def count(self, line: Line, item, verdict: str):
        if verdict == "apply":
            self.applied.append((line, item))
            setattr(self, line.status, getattr(self, line.status) + 1)
            setattr(self, f"{line.status}_total", getattr(self, f"{line.status}_total") + item.amount)
            return
        if verdict == "already":
            self.already += 1
            return
        if verdict == "unknown":
            self.unknown += 1
        else:
            self.conflicts += 1
        if len(self.report) < STORED_PROBLEMS:
            self.report.append(_problem(line, item, verdict))

    def columns(self) -> dict:
        return {name: getattr(self, name) for name in ("paid", "failed", "already", "unknown", "conflicts",
                                                      "paid_total", "failed_total")} | {
            "report": json.dumps(self.report, ensure_ascii=False)}


def _problem(line: Line, item, code: str) -> dict:
    given = {"amount": str(line.amount), "iban": line.iban}.get(code, "")
    sent = {"amount": item and f"{item.amount:.3f}", "iban": item and item.iban}.get(code, "")
    return {"line": line.number, "reference": line.end_to_end, "problem": code, "status": line.status,
            "file": given, "sent": sent or ""}


def _verdict(line: Line, item) -> str:
    """"apply", "already", or the problem's code."""
    if item is None:
        return "unknown"
    if line.amount != item.amount:
        return "amount"
    if line.iban and line.iban != _iban(item.iban):
        return "iban"
    if item.outcome == line.status:
        return "already"
    if item.outcome in ("paid", "failed"):
        return f"{line.status}_after_{item.outcome}"
    return "apply" if item.outcome == "" and item.payout.status == "exported" else "moved"


def _items(batch) -> dict:
    """The batch's items by end-to-end id, each with its payout, request and citizen (one query)."""
    query = (BatchItem.select(BatchItem, Payout, Request, Citizen).join(Payout).join(Request)
             .join(Citizen, on=(Request.citizen == Citizen.id)).where(BatchItem.batch == batch.id))
    return {item.end_to_end: item for item in query}


def _citizen_language(citizen) -> str:
    return citizen.preferred_language if citizen.preferred_language in ("ar", "en") else "ar"


def _write(actor, batch, bank_return, applied: list):
    """The applied lines' items and payouts (a statement per chunk), their audit entries and the citizens' SMS."""
    now = utcnow()
    for status in ("paid", "failed"):
        chosen = [(line, item) for line, item in applied if line.status == status]
        for start in range(0, len(chosen), CHUNK):
            chunk = chosen[start:start + CHUNK]
            moved = Payout.update(status=status, version=Payout.version + 1).where(
                Payout.id.in_([item.payout_id for _, item in chunk]) & (Payout.status == "exported")).execute()
            if moved != len(chunk):  # the batch is locked: only a payout changed outside it gets here
                raise FileRefused(_("Payouts of this batch changed during the import, so nothing was changed: "
                                    "import the file again."))
            for reason in {line.reason for line, _item in chunk}:
                BatchItem.update(outcome=status, outcome_reason=reason, outcome_at=now).where(
                    BatchItem.id.in_([item.id for line, item in chunk if line.reason == reason])
                    & (BatchItem.outcome == "")).execute()
        audit.append_many(actor, f"payout_{status}", ((item.payout_id, {
            "batch": batch.reference, "end_to_end": item.end_to_end, "amount": str(item.amount),
            "reason": line.reason, "bank_return": bank_return.id}) for line, item in chosen))
    for line, item in applied:
        if line.status == "paid":
            request = item.payout.request
            amount = wording.amount_text(item.amount, _citizen_language(request.citizen))
            events.queue_citizen("payout_sent", request, key=f"payout-{item.payout_id}", extra={"amount": amount})


def import_file(actor, batch, filename: str, content: bytes) -> BankReturn:
    """Apply the bank's return file to the released batch in one transaction; the BankReturn records the counts,
    totals and the lines not applied. FileRefused (nothing changed) for a file that cannot be applied whole."""
    if not may_import(actor):
        raise PayoutRefused(_l("Only supervisors import the bank's return files."))
    if batch.status != "released":
        raise FileRefused(_("This batch has not been released to the bank: there is no answer to import yet."))
    lines = read(content, batch)
    with transaction():
        locked = PayoutBatch.select().where(PayoutBatch.id == batch.id)
        batch = (locked if is_sqlite() else locked.for_update()).get()  # two imports of a batch take turns
        items, tally = _items(batch), _Tally()
        for line in lines:
            item = items.get(line.end_to_end)
            tally.count(line, item, _verdict(line, item))
        bank_return = db.create(BankReturn, batch=batch.id, filename=(filename or "")[:200],
                                sha256=hashlib.sha256(content).hexdigest(), imported_by=actor.id, lines=len(lines),
                                **tally.columns())
        _write(actor, batch, bank_return, tally.applied)
        audit.append(actor, "bank_return_imported", None, batch=batch.reference, bank_return=bank_return.id,
                     filename=bank_return.filename, sha256=bank_return.sha256, lines=len(lines), paid=tally.paid,
                     failed=tally.failed, already=tally.already, unknown=tally.unknown, conflicts=tally.conflicts,
                     paid_total=str(tally.paid_total), failed_total=str(tally.failed_total))
    return BankReturn.get_by_id(bank_return.id)


def example(batch) -> bytes:
    """A return file for this batch to show the bank (or to fill in): every item with an empty status, so it
    cannot be imported by mistake as it is."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for item in BatchItem.select().where((BatchItem.batch == batch.id) & (BatchItem.outcome != "removed")) \
            .order_by(BatchItem.seq):
        writer.writerow([item.end_to_end, "", f"{item.amount:.3f}", item.iban, "", batch.reference])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8


# --- reconciliation --------------------------------------------------------------------------------------------

@dataclass
class Reconciliation:
    expected: int  # what the batch sent: its item count and total
    expected_total: Decimal
    paid: int = 0
    paid_total: Decimal = Decimal(0)
    failed: int = 0
    failed_total: Decimal = Decimal(0)
    awaiting: int = 0
    awaiting_total: Decimal = Decimal(0)
    differing: list = field(default_factory=list)  # lines of imported files whose amount differs

    @property
    def counted(self) -> int:
        return self.paid + self.failed + self.awaiting

    @property
    def counted_total(self) -> Decimal:
        return self.paid_total + self.failed_total + self.awaiting_total

    @property
    def matches_batch(self) -> bool:
        return self.counted == self.expected and self.counted_total == self.expected_total

    @property
    def reconciled(self) -> bool:
        return self.matches_batch and self.awaiting == 0 and not self.differing


def reconcile(batch) -> Reconciliation:
    """The bank's answers so far against what the batch sent (sums in Decimal, in Python: SQLite sums floats)."""
    found = Reconciliation(batch.item_count, Decimal(batch.item_total or 0))
    names = {"paid": "paid", "failed": "failed", "": "awaiting"}
    for outcome, amount in (BatchItem.select(BatchItem.outcome, BatchItem.amount)
                            .where((BatchItem.batch == batch.id) & (BatchItem.outcome != "removed")).tuples()):
        name = names[outcome]
        setattr(found, name, getattr(found, name) + 1)
        setattr(found, f"{name}_total", getattr(found, f"{name}_total") + Decimal(amount))
    for bank_return in BankReturn.select().where((BankReturn.batch == batch.id) & (BankReturn.conflicts > 0)) \
            .order_by(BankReturn.id):
        found.differing += [dict(problem, bank_return=bank_return.id, filename=bank_return.filename)
                            for problem in bank_return.problems if problem["problem"] == "amount"]
    return found


def context(batch, user=None) -> dict:
    """What the batch page's "bank's answer" fragment (payouts/_returns.html) needs besides `batch`."""
    from flask_login import current_user

    user = user or current_user
    imported = (BankReturn.select(BankReturn, Staff).join(Staff, on=(BankReturn.imported_by == Staff.id))
                .where(BankReturn.batch == batch.id).order_by(BankReturn.id.desc()).limit(50))
    return {"returns": list(imported), "reconciliation": reconcile(batch),
            "may_import_returns": may_import(user) and batch.status == "released", "RETURN_PROBLEMS": PROBLEMS,
            "return_limits": {"mb": MAX_BYTES // 2**20, "lines": MAX_LINES}}


# --- failed payouts --------------------------------------------------------------------------------------------

def failed_page(after: int | None = None, size: int = 50) -> tuple[list, int | None]:
    """Failed payouts by id after `after`, each with `failed_item` (its latest failed item and batch); and the
    id to continue after, or None on the last page."""
    rows, next_after = paging.page(Payout.select(Payout, Citizen, Request).join(Citizen).switch(Payout).join(Request)
                                   .where(Payout.status == "failed"), Payout.id, after, size)
    items = (BatchItem.select(BatchItem, PayoutBatch).join(PayoutBatch)
             .where(BatchItem.payout.in_([row.id for row in rows]) & (BatchItem.outcome == "failed"))
             .order_by(BatchItem.id))
    latest = {item.payout_id: item for item in items}
    for row in rows:
        row.failed_item = latest.get(row.id)
    return rows, next_after


def put_back(actor, payout_ids, reauthenticated: bool) -> Decision:
    """Failed payouts back to approved, to go into a new batch; the failed item stays as their history. One
    payout is one transaction, serialised on its version."""
    if not permissions.can_put_back_failed_payouts(actor):
        raise PayoutRefused(_l("Only supervisors put failed payouts back for batching."))
    if not reauthenticated:
        raise PayoutRefused(_l("Enter your password again to put payouts back for batching."))
    decision = Decision()
    for payout_id in dict.fromkeys(payout_ids):
        with transaction():
            payout = Payout.get_or_none(Payout.id == payout_id)
            if payout is None or payout.status != "failed":
                decision.refused[payout_id] = str(_l("This payout has not failed (or not any more): there is "
                                                     "nothing to put back."))
                continue
            moved = Payout.update(status="approved", version=Payout.version + 1).where(
                (Payout.id == payout.id) & (Payout.version == payout.version) & (Payout.status == "failed")).execute()
            if moved != 1:
                decision.refused[payout_id] = str(_l("Someone else changed this payout a moment ago."))
                continue
            item = (BatchItem.select(BatchItem.end_to_end, BatchItem.outcome_reason)
                    .where((BatchItem.payout == payout.id) & (BatchItem.outcome == "failed"))
                    .order_by(BatchItem.id.desc()).first())
            audit.append(actor, "payout_put_back", payout, iban=payout.iban, amount=str(payout.amount),
                         end_to_end=item.end_to_end if item else "", reason=item.outcome_reason if item else "")
            decision.done.append(payout_id)
    return decision
