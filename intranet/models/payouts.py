"""Payouts: money a completed money request pays to the citizen's IBAN, approved by supervisors (four eyes),
with the people who may not approve it, IBAN changes awaiting a second person, and the append-only,
hash-chained audit trail of everything done to them."""
import json

import peewee as pw

from intranet.db import BaseModel
from intranet.models.people import Citizen, Department, Governorate, Staff, utcnow
from intranet.models.requests import Request, RequestType

# pending: awaiting approval; approved: enough approvals, waiting for a batch; rejected: sent back to the
# request's last stage; batched/exported/paid/failed: the bank's part (batches and files)
PAYOUT_STATUSES = ("pending", "approved", "rejected", "batched", "exported", "paid", "failed")
# why a person may not approve a payout: they made the final acceptance, entered or changed the amount,
# or changed or confirmed the citizen's IBAN
PARTY_ROLES = ("maker", "amount", "iban")


class Payout(BaseModel):
    # a request has one live payout at a time (a partial unique index below); a rejected one stays for the record
    # and the request's next final acceptance makes a new payout that names it (`replaces`)
    request = pw.ForeignKeyField(Request, backref="payouts", on_delete="RESTRICT")
    citizen = pw.ForeignKeyField(Citizen, backref="payouts", on_delete="RESTRICT")
    request_type = pw.ForeignKeyField(RequestType, on_delete="RESTRICT", index=False)
    department = pw.ForeignKeyField(Department, on_delete="RESTRICT", index=False)
    governorate = pw.ForeignKeyField(Governorate, null=True, on_delete="RESTRICT", index=False)
    amount = pw.DecimalField(max_digits=14, decimal_places=3)
    currency = pw.CharField(max_length=3)
    iban = pw.CharField(max_length=34)  # the citizen's IBAN when the payout was made (or last changed)
    beneficiary = pw.CharField(max_length=200)
    status = pw.CharField(max_length=12, default="pending")
    approvals_needed = pw.IntegerField(default=1)  # 2 above the configured amount
    # the same citizen, type and amount within the configured days: flagged, approved only with a reason
    duplicate_of = pw.TextField(default="[]")  # JSON list of payout ids
    override_reason = pw.TextField(default="")
    reject_reason = pw.TextField(default="")
    made_by = pw.ForeignKeyField(Staff, on_delete="RESTRICT", backref="+", index=False)
    created_at = pw.DateTimeField(default=utcnow)
    decided_at = pw.DateTimeField(null=True)
    version = pw.IntegerField(default=1)

    class Meta:
        table_name = "payout"
        indexes = (
            (("status", "created_at"), False),
            (("citizen", "request_type", "created_at"), False),
        )

    @property
    def duplicates(self) -> list[int]:
        return json.loads(self.duplicate_of or "[]")


# one live payout per request: the database refuses a second while the first is not rejected (migration 0012)
Payout.add_index(Payout.index(Payout.request, unique=True, name="payout_one_live_per_request",
                              where=Payout.status != "rejected"))


class PayoutParty(BaseModel):
    """Someone who had a hand in the payout's amount or IBAN, and so may not approve it."""
    payout = pw.ForeignKeyField(Payout, backref="parties", on_delete="CASCADE")
    staff = pw.ForeignKeyField(Staff, on_delete="RESTRICT", backref="+", index=False)
    role = pw.CharField(max_length=10)

    class Meta:
        table_name = "payout_party"
        indexes = ((("payout", "staff", "role"), True),)


class PayoutApproval(BaseModel):
    payout = pw.ForeignKeyField(Payout, backref="approvals", on_delete="CASCADE")
    approver = pw.ForeignKeyField(Staff, on_delete="RESTRICT", backref="+", index=False)
    iban = pw.CharField(max_length=34)  # the IBAN approved; a later change voids the approval
    approved_at = pw.DateTimeField(default=utcnow)
    voided_at = pw.DateTimeField(null=True)
    void_reason = pw.TextField(default="")

    class Meta:
        table_name = "payout_approval"
        # not unique: an approval voided by an IBAN change is kept, and the same person may approve again
        indexes = ((("payout", "approver"), False),)


class IbanChange(BaseModel):
    """A new IBAN for a citizen with payouts under way: it applies only once a second person confirms it."""
    citizen = pw.ForeignKeyField(Citizen, backref="iban_changes", on_delete="CASCADE")
    old_iban = pw.CharField(max_length=34, null=True)
    new_iban = pw.CharField(max_length=34)
    reason = pw.TextField(default="")
    status = pw.CharField(max_length=10, default="pending")  # pending, confirmed, refused
    requested_by = pw.ForeignKeyField(Staff, on_delete="RESTRICT", backref="+", index=False)
    requested_at = pw.DateTimeField(default=utcnow)
    decided_by = pw.ForeignKeyField(Staff, null=True, on_delete="RESTRICT", backref="+", index=False)
    decided_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "iban_change"
        indexes = ((("status", "requested_at"), False),)


class AuditEntry(BaseModel):
    """One payout action, never updated or deleted (database triggers refuse it); each row's hash covers the
    previous row's hash and this row's content, so a changed or removed row breaks the chain."""
    created_at = pw.DateTimeField(default=utcnow)
    actor = pw.ForeignKeyField(Staff, null=True, on_delete="RESTRICT", backref="+", index=False)
    action = pw.CharField(max_length=30)
    payout = pw.ForeignKeyField(Payout, null=True, on_delete="RESTRICT", backref="audit", index=False)
    details = pw.TextField(default="{}")
    prev_hash = pw.CharField(max_length=64)
    hash = pw.CharField(max_length=64, unique=True)

    class Meta:
        table_name = "payout_audit"
        indexes = ((("payout", "id"), False),)

    @property
    def info(self) -> dict:
        return json.loads(self.details or "{}")


# --- batches, bank files and the bank's answer ---------------------------------------------------------------

# draft: payouts gathered, nothing written; exporting: a job writes the files (resumable); released: the files
# are final and archived; cancelled: a draft given up (its payouts are approved again)
BATCH_STATUSES = ("draft", "exporting", "released", "cancelled")
# an item's fate: "" in the batch (or exported, no answer yet), paid or failed by the bank's return file, removed
# when its draft batch was cancelled. Only "" and paid hold the payout: one live export per payout (an index).
ITEM_OUTCOMES = ("", "paid", "failed", "removed")
FILE_KINDS = ("pain001", "csv", "xlsx")


class PayoutBatch(BaseModel):
    reference = pw.CharField(max_length=35, unique=True)  # the pain.001 message id, unique for ever
    bank = pw.CharField(max_length=30)  # the bank profile: the CSV's columns
    pain_version = pw.CharField(max_length=20)
    language = pw.CharField(max_length=5, default="ar")  # of the finance sheet
    currency = pw.CharField(max_length=3)
    status = pw.CharField(max_length=12, default="draft")
    item_count = pw.IntegerField(default=0)
    item_total = pw.DecimalField(max_digits=16, decimal_places=3, default=0)
    created_by = pw.ForeignKeyField(Staff, on_delete="RESTRICT", backref="+", index=False)
    created_at = pw.DateTimeField(default=utcnow)
    started_by = pw.ForeignKeyField(Staff, null=True, on_delete="RESTRICT", backref="+", index=False)
    started_at = pw.DateTimeField(null=True)  # the files' creation time, the same in every run
    released_at = pw.DateTimeField(null=True)
    # the export run: which step, how far, who holds it (a token checked at release) and until when
    phase = pw.CharField(max_length=12, default="")
    done = pw.IntegerField(default=0)
    run_token = pw.CharField(max_length=32, default="")
    lease_until = pw.DateTimeField(null=True)
    runs = pw.IntegerField(default=0)
    error = pw.TextField(default="")
    version = pw.IntegerField(default=1)

    class Meta:
        table_name = "payout_batch"
        indexes = ((("status", "id"), False),)

    # what the pages ask of a batch's state (templates never compare status strings)
    @property
    def is_draft(self) -> bool:
        return self.status == "draft"

    @property
    def is_exporting(self) -> bool:
        """A run writes its files now (or will: the job or the sweeper starts it)."""
        return self.status == "exporting" and not self.error

    @property
    def export_stopped(self) -> bool:
        """The last run stopped on a file that did not check out: nothing released, the reason in `error`."""
        return self.status == "exporting" and bool(self.error)

    @property
    def is_released(self) -> bool:
        return self.status == "released"

    @property
    def is_cancelled(self) -> bool:
        return self.status == "cancelled"


class BatchItem(BaseModel):
    """A payout in a batch, with what the files say (frozen when the batch is made)."""
    batch = pw.ForeignKeyField(PayoutBatch, backref="items", on_delete="RESTRICT", index=False)
    payout = pw.ForeignKeyField(Payout, backref="batch_items", on_delete="RESTRICT", index=False)
    seq = pw.IntegerField()
    end_to_end = pw.CharField(max_length=35, unique=True)
    amount = pw.DecimalField(max_digits=14, decimal_places=3)
    iban = pw.CharField(max_length=34)
    beneficiary = pw.CharField(max_length=200)
    # copied too, so that the export reads one table in seq order, whatever the planner thinks of the others
    tracking_number = pw.CharField(max_length=20)
    national_id = pw.CharField(max_length=20)
    request_type = pw.ForeignKeyField(RequestType, on_delete="RESTRICT", backref="+", index=False)
    outcome = pw.CharField(max_length=8, default="")
    outcome_reason = pw.TextField(default="")
    outcome_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "batch_item"
        indexes = ((("batch", "seq"), True), (("payout", "id"), False))


# a payout is in one live export only: the database refuses a second item while the first is not failed or removed
BatchItem.add_index(BatchItem.index(BatchItem.payout, unique=True, name="batch_item_one_live_export",
                                    where=BatchItem.outcome.in_(("", "paid"))))


class ExportFile(BaseModel):
    """A released file: what it holds, computed from the rows written, and its SHA-256."""
    batch = pw.ForeignKeyField(PayoutBatch, backref="files", on_delete="RESTRICT", index=False)
    kind = pw.CharField(max_length=8)
    name = pw.CharField(max_length=120)
    path = pw.CharField(max_length=300)  # within the archive folder
    size = pw.BigIntegerField()
    sha256 = pw.CharField(max_length=64)
    tx_count = pw.IntegerField()
    ctrl_sum = pw.DecimalField(max_digits=16, decimal_places=3)
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "export_file"
        indexes = ((("batch", "kind"), True),)


class ExportDownload(BaseModel):
    file = pw.ForeignKeyField(ExportFile, backref="downloads", on_delete="RESTRICT", index=False)
    staff = pw.ForeignKeyField(Staff, on_delete="RESTRICT", backref="+", index=False)
    at = pw.DateTimeField(default=utcnow)
    address = pw.CharField(max_length=45, default="")

    class Meta:
        table_name = "export_download"
        indexes = ((("file", "at"), False),)


class BankReturn(BaseModel):
    """A bank's result file imported for a batch, with its counts, the totals it reconciles and its report."""
    batch = pw.ForeignKeyField(PayoutBatch, backref="returns", on_delete="RESTRICT", index=False)
    filename = pw.CharField(max_length=200)
    sha256 = pw.CharField(max_length=64)
    imported_by = pw.ForeignKeyField(Staff, on_delete="RESTRICT", backref="+", index=False)
    imported_at = pw.DateTimeField(default=utcnow)
    lines = pw.IntegerField(default=0)
    paid = pw.IntegerField(default=0)
    failed = pw.IntegerField(default=0)
    already = pw.IntegerField(default=0)  # the same answer as before: nothing changed
    unknown = pw.IntegerField(default=0)
    conflicts = pw.IntegerField(default=0)  # amount or IBAN differ from the file sent, or paid then failed
    paid_total = pw.DecimalField(max_digits=16, decimal_places=3, default=0)
    failed_total = pw.DecimalField(max_digits=16, decimal_places=3, default=0)
    report = pw.TextField(default="[]")  # JSON: [{"line": n, "reference": ..., "problem": ...}], the first 1,000

    class Meta:
        table_name = "bank_return"
        indexes = ((("batch", "id"), False),)

    @property
    def problems(self) -> list[dict]:
        return json.loads(self.report or "[]")


class BankLayout(BaseModel):
    """A bank's CSV layout (issue 20: data administrators edit; `payouts/bank_profiles.py` checks and reads it). A
    batch names its layout by `code` (`PayoutBatch.bank`): a layout a batch names is retired, never deleted."""
    code = pw.CharField(max_length=30, unique=True)
    label = pw.CharField(max_length=200)
    columns = pw.CharField(max_length=400)  # the field names in order, comma-separated
    delimiter = pw.CharField(max_length=2)
    encoding = pw.CharField(max_length=20)
    header = pw.BooleanField(default=True)
    active = pw.BooleanField(default=True)  # offered for new batches

    class Meta:
        table_name = "bank_profile"
