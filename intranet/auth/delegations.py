"""Delegation (issue 18): granting, revoking, and the delegations in force.

A supervisor hands on what they do themselves, within their department; the head, their approval while away; an
administrator records any delegation for anyone (the grantor is whose authority it is, `created_by` who recorded
it). Never to oneself; the delegate must be active. Who may is `auth/permissions.py` (`can_manage_delegations`,
`can_grant_for`, `can_delegate`, `can_grant_in`, `can_revoke_delegation`); what a delegation then lets its delegate
do is read by the permission rules themselves (`permissions.stage_delegation`, `payout_delegation`), so the
workflow and the payouts' service check and record it where they check everything else.

A delegation applies from its first to its last day in the office's time zone, read at use time: nothing has to
run at its end. Revoking (by a person, or `revoke_for_staff` when the directory sync sees either party change)
keeps the row with who, when and why."""
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from intranet.i18n import lazy_gettext as _l
from peewee import JOIN

from intranet import paging, params, validation
from intranet.auth import permissions
from intranet.db import transaction
from intranet.models import Department, RequestType, Stage, Staff, utcnow
from intranet.models.delegations import REASON_MAX_LENGTH, SCOPES, Delegation
from intranet.stats.figures import local_today

LONGEST = dt.timedelta(days=366)  # a delegation is for an absence, not for good: a year at most
AMOUNT_MAX = Decimal("99999999999.999")  # what the column holds (14 digits, 3 after the point)

SCOPE_LABELS = {
    "stage": _l("Act on one stage of a request type"),
    "payouts": _l("Decide payouts up to an amount"),
    "queue": _l("Work a department's queue"),
    "head": _l("Approve as the head while the head is away"),
}


class DelegationRefused(Exception):
    """Why a grant or a revocation was refused, in the reader's language; nothing was changed."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


@dataclass
class Grant:
    """What the form (or a caller) asks for: the scope and its parameters, the period and the reason."""

    grantor: Staff | None
    delegate: Staff | None
    scope: str
    starts_on: dt.date | None
    ends_on: dt.date | None
    reason: str
    stage: Stage | None = None
    department: Department | None = None
    amount_limit: object = None


def active_for(staff, when: dt.datetime | None = None) -> list:
    """The delegations `staff` acts under at `when` (naive UTC; None: now), by the office's date; now: as the
    permission rules read them (once per request: the same list, not a second query)."""
    if when is None:
        return permissions._delegations(staff)
    return Delegation.active_for(staff.id, local_today(when))


def _amount(value) -> Decimal:
    try:
        amount = Decimal(str(value).strip()) if value is not None and str(value).strip() else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount <= 0 or amount > AMOUNT_MAX:
        raise DelegationRefused(_l("Give the highest amount the delegate may decide, a positive number."))
    return amount.quantize(Decimal("0.001"))


def _checked_scope(grant: Grant) -> dict:
    """The scope's own columns, or why they are refused."""
    if grant.scope not in SCOPES:
        raise DelegationRefused(_l("Choose what is delegated."))
    if grant.scope == "stage":
        if grant.stage is None:
            raise DelegationRefused(_l("Choose the stage the delegate may act on."))
        return {"stage": grant.stage.id, "request_type": grant.stage.request_type_id,
                "department": grant.stage.department_id}
    if grant.scope == "queue":
        if grant.department is None:
            raise DelegationRefused(_l("Choose the department whose queue the delegate may work."))
        return {"department": grant.department.id}
    if grant.scope == "payouts":
        return {"amount_limit": _amount(grant.amount_limit), "department": grant.grantor.department_id}
    return {}


def _checked_period(grant: Grant):
    if grant.starts_on is None or grant.ends_on is None:
        raise DelegationRefused(_l("Give the first and the last day of the delegation."))
    if grant.ends_on < grant.starts_on:
        raise DelegationRefused(_l("The last day comes before the first."))
    if grant.ends_on < local_today():
        raise DelegationRefused(_l("The last day is already past."))
    if grant.ends_on - grant.starts_on > LONGEST:
        raise DelegationRefused(_l("A delegation lasts a year at most."))


def _checked_reason(text) -> str:
    reason = validation.strip_controls(text or "").strip()
    if not reason:
        raise DelegationRefused(_l("Write the reason for the delegation."))
    if len(reason) > REASON_MAX_LENGTH:
        raise DelegationRefused(_l("At most %(max_length)s characters.", max_length=REASON_MAX_LENGTH))
    return reason


def grant(actor, asked: Grant) -> Delegation:
    """Record a delegation `actor` may grant, or raise DelegationRefused saying why (nothing written)."""
    if not permissions.can_manage_delegations(actor):
        raise DelegationRefused(_l("You may not grant delegations."))
    grantor, delegate = asked.grantor, asked.delegate
    if grantor is None or not permissions.can_grant_for(actor, grantor):
        raise DelegationRefused(_l("You may grant only your own authority."))
    if delegate is None or not delegate.active:
        raise DelegationRefused(_l("Choose an active member of staff as the delegate."))
    if delegate.id in (grantor.id, actor.id):
        raise DelegationRefused(_l("No one can delegate to themselves."))
    columns = _checked_scope(asked)
    if not permissions.can_delegate(grantor, asked.scope, asked.stage):
        raise DelegationRefused(_l("%(name)s may not do this themselves, so cannot hand it on.",
                                   name=grantor.full_name))
    if not permissions.can_grant_in(actor, grantor, columns.get("department")):
        raise DelegationRefused(_l("You may delegate only within your department."))
    _checked_period(asked)
    reason = _checked_reason(asked.reason)
    with transaction():
        created = Delegation.create(grantor=grantor.id, delegate=delegate.id, scope=asked.scope,
                                    starts_on=asked.starts_on, ends_on=asked.ends_on, reason=reason,
                                    created_by=actor.id, **columns)
    permissions._forget_delegations()
    return created


def revoke(actor, delegation, reason) -> Delegation:
    """End a delegation now, with the reason; refused when `actor` may not or it was revoked already."""
    if not permissions.can_revoke_delegation(actor, delegation):
        raise DelegationRefused(_l("You may not revoke this delegation."))
    reason = validation.strip_controls(reason or "").strip()
    if not reason:
        raise DelegationRefused(_l("Write why the delegation ends."))
    if len(reason) > REASON_MAX_LENGTH:
        raise DelegationRefused(_l("At most %(max_length)s characters.", max_length=REASON_MAX_LENGTH))
    with transaction():
        done = Delegation.update(revoked_at=utcnow(), revoked_by=actor.id, revoke_reason=reason).where(
            (Delegation.id == delegation.id) & Delegation.revoked_at.is_null()).execute()
    permissions._forget_delegations()
    if done != 1:
        raise DelegationRefused(_l("This delegation was revoked already."))
    return Delegation.get_by_id(delegation.id)


def revoke_for_staff(staff, reason: str, actor=None) -> int:
    """Every delegation not yet over in which `staff` is the grantor or the delegate, revoked now with `reason`
    (the directory sync, when the person is removed, disabled or changes role or department; `actor`: who ran it,
    None for the scheduled job). Returns how many were revoked."""
    with transaction():
        revoked = Delegation.update(revoked_at=utcnow(), revoked_by=actor.id if actor else None,
                                    revoke_reason=(reason or "")[:REASON_MAX_LENGTH]).where(
            ((Delegation.grantor == staff.id) | (Delegation.delegate == staff.id))
            & Delegation.revoked_at.is_null() & (Delegation.ends_on >= local_today())).execute()
    permissions._forget_delegations()
    return revoked


# --- what the pages read ----------------------------------------------------------------------------------------

LISTS = ("received", "given", "all")
LIST_LABELS = {"received": _l("Held by me"), "given": _l("Given by me"), "all": _l("Every delegation")}


def listing(user, which: str, after=None, size: int = 25):
    """A page of delegations, newest first, by key: those `user` holds ("received"), those they gave or recorded
    ("given"), or every one for an administrator ("all"); with the key of the next page."""
    grantor, delegate = Staff.alias(), Staff.alias()
    query = (Delegation.select(Delegation, grantor, delegate, Stage, Department)
             .join_from(Delegation, grantor, on=(Delegation.grantor == grantor.id))
             .join_from(Delegation, delegate, on=(Delegation.delegate == delegate.id))
             .join_from(Delegation, Stage, JOIN.LEFT_OUTER)
             .join_from(Delegation, Department, JOIN.LEFT_OUTER))
    if which == "received":
        query = query.where(Delegation.delegate == user.id)
    elif which == "given" or not permissions.sees_every_delegation(user):
        query = query.where((Delegation.grantor == user.id) | (Delegation.created_by == user.id))
    return paging.page(query, Delegation.id, after, size, descending=True)


def find(delegation_id) -> Delegation | None:
    return Delegation.get_or_none(Delegation.id == delegation_id) if delegation_id else None


def state(delegation, today: dt.date | None = None) -> str:
    """How it stands: "revoked", "ended", "upcoming" or "active" (the list's wording: STATE_LABELS)."""
    today = today or local_today()
    if delegation.revoked_at is not None:
        return "revoked"
    if delegation.ends_on < today:
        return "ended"
    return "upcoming" if delegation.starts_on > today else "active"


STATE_LABELS = {"active": _l("In force"), "upcoming": _l("Not yet begun"), "ended": _l("Ended"),
                "revoked": _l("Revoked")}


def delegates_to_choose(actor):
    """The active staff a delegation may go to (the form's list), by name."""
    return list(Staff.select().where(Staff.active == True).order_by(Staff.full_name))  # noqa: E712


def grantors_to_choose(actor):
    """Whose authority `actor` may hand on: themselves, or for an administrator every active member of staff."""
    if not permissions.sees_every_delegation(actor):
        return [actor]
    return list(Staff.select().where(Staff.active == True).order_by(Staff.full_name))  # noqa: E712


def stages_to_choose():
    """The stages of every request type's current version, by type and position (the form's list): one entry for
    each stage, whose delegation then covers its rows of the earlier versions too (`Delegation.stage_rows`)."""
    return list(Stage.select(Stage, RequestType).join(RequestType).where(Stage.last_version.is_null())
                .order_by(Stage.request_type, Stage.position))


def asked_from(actor, form) -> Grant:
    """The grant form's fields read into a Grant (ids looked up; anything unreadable is None and refused by `grant`
    with its own message): whose authority (an administrator chooses, anyone else gives their own), the delegate,
    the scope and its parameter, the period and the reason."""
    def row(model, name):
        number = params.to_id(form.get(name))
        return model.get_or_none(model.id == number) if number else None

    grantor = row(Staff, "grantor") if permissions.sees_every_delegation(actor) else actor
    scope = params.to_choice(form.get("scope"), SCOPES, "")
    return Grant(grantor=grantor, delegate=row(Staff, "delegate"), scope=scope,
                 starts_on=params.to_date(form.get("starts_on")), ends_on=params.to_date(form.get("ends_on")),
                 reason=form.get("reason", "") if isinstance(form.get("reason"), str) else "",
                 stage=row(Stage, "stage") if scope == "stage" else None,
                 department=row(Department, "department") if scope == "queue" else None,
                 amount_limit=form.get("amount_limit") if scope == "payouts" else None)


def departments_to_choose():
    return list(Department.select().order_by(Department.id))
