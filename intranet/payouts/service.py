"""Payouts from creation to approval: four eyes, enforced here for every route.

A completed money request becomes a payout in the same transaction as its final acceptance, with the citizen's
IBAN at that moment. The people who had a hand in it (the clerk of the final acceptance, whoever entered the
amount, whoever changed the citizen's IBAN) may never approve it; above a configured amount two different
supervisors must; approving needs a recent re-authentication; a suspected duplicate needs a reason. Every
action is written to the hash-chained audit trail in its own transaction.
"""
import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal

from flask import current_app
from intranet.i18n import lazy_gettext as _l

from intranet import db, reference
from intranet.auth import permissions
from intranet.db import transaction
from intranet.models import CitizenChange, RequestType, utcnow
from intranet.models.payouts import IbanChange, Payout, PayoutApproval, PayoutParty
from intranet.payouts import audit

APPROVABLE = ("pending",)


class PayoutRefused(Exception):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


@dataclass
class Decision:
    done: list = field(default_factory=list)  # payout ids
    refused: dict = field(default_factory=dict)  # payout id -> message


# --- creation (inside the final acceptance's transaction) ----------------------------------------------------

def _threshold() -> Decimal:
    return Decimal(str(current_app.config["PAYOUT_SECOND_APPROVAL_ABOVE"]))


def suspected_duplicates(citizen_id, request_type_id, amount, excluding=None) -> list[int]:
    """Payouts to the same citizen, of the same type and amount, within the configured days (not rejected)."""
    since = utcnow() - dt.timedelta(days=current_app.config["PAYOUT_DUPLICATE_DAYS"])
    query = (Payout.select(Payout.id)
             .where((Payout.citizen == citizen_id) & (Payout.request_type == request_type_id)
                    & (Payout.amount == amount) & (Payout.created_at >= since) & (Payout.status != "rejected")))
    if excluding is not None:
        query = query.where(Payout.id != excluding)
    return [row.id for row in query.order_by(Payout.id)]


def _iban_hands(citizen_id) -> set[int]:
    """Staff who changed or confirmed the citizen's IBAN."""
    hands = {change.changed_by_id for change in CitizenChange.select(CitizenChange.changed_by, CitizenChange.changes)
             .where(CitizenChange.citizen == citizen_id) if "iban" in json.loads(change.changes or "{}")}
    for change in IbanChange.select().where((IbanChange.citizen == citizen_id) & (IbanChange.status == "confirmed")):
        hands |= {change.requested_by_id, change.decided_by_id}
    return hands - {None}


def create_for(req, entry) -> Payout | None:
    """A money request's final acceptance makes its payout, pending approval; None for anything else.

    A request accepted again after its payout was rejected gets a new payout (the rejected one stays as it was, for
    the record); the new one's audit entry names the one it replaces. The database keeps one live payout per
    request (a partial unique index over payouts not rejected)."""
    if entry.action != "accept" or entry.to_status != "completed" or req.amount is None:
        return None
    request_type = reference.by_id(RequestType, req.request_type_id)
    if request_type is None or not request_type.is_money:
        return None
    citizen = req.citizen
    amount = Decimal(str(req.amount))
    duplicates = suspected_duplicates(citizen.id, req.request_type_id, amount)
    replaced = (Payout.select(Payout.id).where((Payout.request == req.id) & (Payout.status == "rejected"))
                .order_by(Payout.id.desc()).first())
    payout = db.create(
        Payout, request=req.id, citizen=citizen.id, request_type=req.request_type_id, department=req.department_id,
        governorate=req.governorate_id, amount=amount, currency=current_app.config["CURRENCY"],
        iban=citizen.iban or "", beneficiary=citizen.full_name, made_by=entry.actor_id,
        approvals_needed=2 if amount > _threshold() else 1, duplicate_of=json.dumps(duplicates))
    parties = {(entry.actor_id, "maker")}
    if req.entered_by_id is not None:
        parties.add((req.entered_by_id, "amount"))
    parties |= {(staff_id, "iban") for staff_id in _iban_hands(citizen.id)}
    for staff_id, role in sorted(parties):
        PayoutParty.create(payout=payout.id, staff=staff_id, role=role)
    details = {"request": req.tracking_number, "amount": str(amount), "currency": payout.currency,
               "iban": payout.iban, "duplicates": duplicates, "approvals_needed": payout.approvals_needed}
    if replaced is not None:
        details["replaces"] = replaced.id
    audit.append(entry.actor, "payout_created", payout, **details)
    return payout


# --- approval -------------------------------------------------------------------------------------------------

def may_decide(actor) -> bool:
    """Supervisors approve and reject payouts (administrators read them only): `permissions.can_decide_payouts`."""
    return permissions.can_decide_payouts(actor)


def _may_decide(actor, reauthenticated: bool):
    if not may_decide(actor):
        raise PayoutRefused(_l("Only supervisors approve or reject payouts."))
    if not reauthenticated:
        raise PayoutRefused(_l("Enter your password again to approve or reject payouts."))


def check_reject_reason(reason: str) -> str:
    """The reason for a rejection, stripped; refused when empty (asked before the password, and again here)."""
    if not (reason or "").strip():
        raise PayoutRefused(_l("Write the reason: the clerk who gets the request back needs it."))
    return reason.strip()


def acting_for(actor, payout) -> dict:
    """The audit entry's words for a decision taken under a delegation (issue 18): its number and whose authority
    ("A acting for B under delegation n"); empty when the person decides in their own right."""
    delegation = permissions.payout_delegation(actor, payout)
    if delegation is None:
        return {}
    return {"delegation": delegation.id, "acting_for": delegation.grantor_id,
            "acting_for_name": delegation.grantor.full_name}


def _beyond_delegation(actor, payout) -> str | None:
    """Why a delegate may not decide this payout (beyond their delegation's amount or department; or, four eyes on
    the authority too, its grantor made it or approved it already); None: they may, or decide in their own right."""
    if not permissions.can_decide_payout(actor, payout):
        return str(_l("This payout is beyond what your delegation lets you decide."))
    delegation = permissions.payout_delegation(actor, payout)
    if delegation is None:
        return None
    hands = PayoutParty.select().where((PayoutParty.payout == payout.id)
                                       & (PayoutParty.staff == delegation.grantor_id)).exists()
    approved = PayoutApproval.select().where((PayoutApproval.payout == payout.id)
                                             & (PayoutApproval.approver == delegation.grantor_id)
                                             & PayoutApproval.voided_at.is_null()).exists()
    if hands or approved:
        return str(_l("%(name)s, whose delegation you hold, made or approved this payout: another supervisor must "
                      "approve it.", name=delegation.grantor.full_name))
    return None


def refusal(actor, payout: Payout, override_reason: str = "") -> str | None:
    """Why `actor` may not approve `payout` now (None: they may). Four eyes apply to the real person, whether they
    act in their own right or under a delegation."""
    if payout.status not in APPROVABLE:
        return str(_l("This payout is not awaiting approval."))
    if (beyond := _beyond_delegation(actor, payout)) is not None:
        return beyond
    if PayoutParty.select().where((PayoutParty.payout == payout.id) & (PayoutParty.staff == actor.id)).exists():
        return str(_l("You made this payout or changed its amount or IBAN: another supervisor must approve it."))
    if PayoutApproval.select().where((PayoutApproval.payout == payout.id) & (PayoutApproval.approver == actor.id)
                                     & PayoutApproval.voided_at.is_null()).exists():
        return str(_l("You have approved this payout already: a second, different supervisor must approve it."))
    if not payout.iban:
        return str(_l("The citizen has no IBAN on file: record one before the payout is approved."))
    if payout.duplicates and not override_reason.strip():
        return str(_l("This may repeat an earlier payout: give the reason to approve it anyway."))
    return None


def approve(actor, payout_ids, reauthenticated: bool, override_reason: str = "") -> Decision:
    """Approve each payout the actor may approve; the others are refused with the reason. One payout's approval is
    one transaction, serialised on the payout's version: twenty clicks at once approve once."""
    _may_decide(actor, reauthenticated)
    decision = Decision()
    for payout_id in dict.fromkeys(payout_ids):
        with transaction():
            payout = Payout.get_or_none(Payout.id == payout_id)
            why = refusal(actor, payout, override_reason) if payout is not None else str(_l("No such payout."))
            if why is not None:
                decision.refused[payout_id] = why
                continue
            given = PayoutApproval.select().where((PayoutApproval.payout == payout.id)
                                                  & PayoutApproval.voided_at.is_null()).count() + 1
            changes = {"version": Payout.version + 1}
            if given >= payout.approvals_needed:
                changes.update(status="approved", decided_at=utcnow())
            if payout.duplicates:
                changes["override_reason"] = override_reason.strip()
            moved = Payout.update(changes).where((Payout.id == payout.id) & (Payout.version == payout.version)
                                                 & Payout.status.in_(APPROVABLE)).execute()
            if moved != 1:
                decision.refused[payout_id] = str(_l("Someone else decided on this payout a moment ago."))
                continue
            PayoutApproval.create(payout=payout.id, approver=actor.id, iban=payout.iban)
            audit.append(actor, "payout_approved", payout, iban=payout.iban, amount=str(payout.amount),
                         approvals=given, needed=payout.approvals_needed, override_reason=override_reason.strip(),
                         **acting_for(actor, payout))
            decision.done.append(payout_id)
    return decision


def check_rejection(actor, reason: str, reauthenticated: bool) -> str:
    """Who may reject payouts, and the reason stripped (PayoutRefused otherwise)."""
    _may_decide(actor, reauthenticated)
    return check_reject_reason(reason)


def reject_one(actor, payout_id, reason: str) -> Payout | str:
    """Reject one payout awaiting approval or approved (not yet in a batch), inside the caller's transaction: the
    payout rejected, or why not. Its request goes back to the clerk: `workflow.reject_payouts` does both."""
    payout = Payout.get_or_none(Payout.id == payout_id)
    if payout is None or payout.status not in ("pending", "approved"):
        return str(_l("This payout can no longer be rejected."))
    if not permissions.can_decide_payout(actor, payout):
        return str(_l("This payout is beyond what your delegation lets you decide."))
    moved = Payout.update(status="rejected", reject_reason=reason, decided_at=utcnow(),
                          version=Payout.version + 1).where(
        (Payout.id == payout.id) & (Payout.version == payout.version)).execute()
    if moved != 1:
        return str(_l("Someone else decided on this payout a moment ago."))
    audit.append(actor, "payout_rejected", payout, reason=reason, amount=str(payout.amount),
                 **acting_for(actor, payout))
    return payout


# --- IBAN changes while payouts are under way -------------------------------------------------------------------

# a failed payout (the bank refused it, e.g. a wrong IBAN) waits to be fixed: a new IBAN sends it back for approval
UNDER_WAY = ("pending", "approved", "failed")


def payouts_under_way(citizen_id):
    return Payout.select().where((Payout.citizen == citizen_id) & Payout.status.in_(UNDER_WAY))


def request_iban_change(actor, citizen, new_iban: str, reason: str = "") -> IbanChange | None:
    """With payouts under way, a new IBAN waits for a second person's confirmation (returned); without, None:
    the caller applies it as any other correction."""
    with transaction():
        if not payouts_under_way(citizen.id).exists():
            return None
        change = IbanChange.create(citizen=citizen.id, old_iban=citizen.iban, new_iban=new_iban,
                                   reason=(reason or "").strip(), requested_by=actor.id)
        audit.append(actor, "iban_change_requested", None, citizen=citizen.id, old=citizen.iban, new=new_iban,
                     change=change.id)
    return change


def iban_change_refusal(actor, change):
    """Why `actor` may not confirm or refuse `change` (None: they may)."""
    if not permissions.can_confirm_iban_changes(actor):
        return _l("Only supervisors confirm IBAN changes.")
    if actor.id == change.requested_by_id:
        return _l("You asked for this change: a second person must confirm it.")
    return None


def _decidable(actor, change):
    if (why := iban_change_refusal(actor, change)) is not None:
        raise PayoutRefused(why)


def confirm_iban_change(actor, change: IbanChange) -> int:
    """Apply the new IBAN; approvals given for the old one are void and those payouts await approval again.
    Returns how many payouts were affected."""
    from intranet.models import Citizen

    _decidable(actor, change)
    now = utcnow()
    with transaction():
        if IbanChange.update(status="confirmed", decided_by=actor.id, decided_at=now).where(
                (IbanChange.id == change.id) & (IbanChange.status == "pending")).execute() != 1:
            raise PayoutRefused(_l("This change was decided already."))
        Citizen.update(iban=change.new_iban, updated_at=now).where(Citizen.id == change.citizen_id).execute()
        CitizenChange.create(citizen=change.citizen_id, changed_by=change.requested_by_id, changes=json.dumps(
            {"iban": [change.old_iban, change.new_iban], "confirmed_by": actor.id}, ensure_ascii=False))
        affected = list(payouts_under_way(change.citizen_id))
        for payout in affected:
            voided = PayoutApproval.update(voided_at=now, void_reason="IBAN changed").where(
                (PayoutApproval.payout == payout.id) & PayoutApproval.voided_at.is_null()).execute()
            Payout.update(iban=change.new_iban, status="pending", decided_at=None,
                          version=Payout.version + 1).where(Payout.id == payout.id).execute()
            for staff_id in {change.requested_by_id, actor.id}:
                PayoutParty.insert(payout=payout.id, staff=staff_id, role="iban").on_conflict_ignore().execute()
            audit.append(actor, "iban_changed", payout, old=change.old_iban, new=change.new_iban,
                         approvals_voided=voided, change=change.id)
    return len(affected)


def refuse_iban_change(actor, change: IbanChange, reason: str):
    _decidable(actor, change)
    with transaction():
        if IbanChange.update(status="refused", decided_by=actor.id, decided_at=utcnow(),
                             reason=(reason or change.reason)).where(
                (IbanChange.id == change.id) & (IbanChange.status == "pending")).execute() != 1:
            raise PayoutRefused(_l("This change was decided already."))
        audit.append(actor, "iban_change_refused", None, change=change.id, reason=reason)
