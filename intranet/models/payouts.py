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
    request = pw.ForeignKeyField(Request, unique=True, backref="payouts", on_delete="RESTRICT")
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
