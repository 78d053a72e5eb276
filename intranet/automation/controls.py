"""The controls over automatic decisions (issue 17), as rows that take effect at once: the exceptions list (citizens
or request types never decided automatically, each with its reason and who added it), the pause per request type,
and the spending ceilings per type per office day and per month (money committed: the amounts of the eligible
automatic decisions of that day or month)."""
import dataclasses
import datetime as dt
import decimal

from intranet.i18n import lazy_gettext as _l
from peewee import JOIN, fn

from intranet import paging
from intranet.auth import permissions
from intranet.db import database, transaction
from intranet.models import Citizen, RequestType, Staff, utcnow
from intranet.models.automation import AutoCeiling, AutoDecision, AutoException, AutoPause, AutoRule
from intranet.stats.figures import day_bounds, local_today

REASON_MAX_LENGTH = 1000


class ControlRefused(ValueError):
    """A control that cannot be changed; the message says why."""


def _check(actor):
    if not permissions.can_control_automation(actor):
        raise ControlRefused(_l("Only supervisors pause automation, keep the exceptions list and set ceilings."))


# --- what stands in the way of one decision, read at once -----------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Standing:
    """The controls over one request's decision as they are now: the type's rule in force (its id, None: none),
    the type paused, the citizen or the type on the exceptions list, a ceiling set for the type."""
    rule_id: int | None
    paused: bool
    excepted: bool
    has_ceiling: bool


def _standing_sql() -> str:
    p = database.param
    return ('SELECT (SELECT "id" FROM "auto_rule" WHERE "request_type_id" = {p} AND "active" '
            'ORDER BY "version" DESC LIMIT 1), '
            'EXISTS (SELECT 1 FROM "auto_pause" WHERE "request_type_id" = {p} AND "resumed_at" IS NULL), '
            'EXISTS (SELECT 1 FROM "auto_exception" WHERE "removed_at" IS NULL '
            'AND ("citizen_id" = {p} OR "request_type_id" = {p})), '
            'EXISTS (SELECT 1 FROM "auto_ceiling" WHERE "request_type_id" = {p})').format(p=p)


def standing(type_id: int, citizen_id: int) -> Standing:
    """One statement for what every decision reads inside its transaction (the same rows as current_rule,
    is_paused, exception_for and ceiling_for), so that a pause or an exception takes effect at the next decision."""
    rule_id, paused, excepted, ceiling = database.execute_sql(
        _standing_sql(), (type_id, type_id, citizen_id, type_id, type_id)).fetchone()
    return Standing(rule_id, bool(paused), bool(excepted), bool(ceiling))


# --- pause -------------------------------------------------------------------------------------------

def is_paused(type_id: int) -> bool:
    return AutoPause.select().where((AutoPause.request_type == type_id) & AutoPause.resumed_at.is_null()).exists()


def pause(actor, request_type) -> AutoPause:
    _check(actor)
    with transaction():
        current = AutoPause.get_or_none((AutoPause.request_type == request_type.id) & AutoPause.resumed_at.is_null())
        return current or AutoPause.create(request_type=request_type.id, paused_by=actor.id, paused_at=utcnow())


def resume(actor, request_type) -> int:
    _check(actor)
    with transaction():
        return (AutoPause.update(resumed_at=utcnow(), resumed_by=actor.id)
                .where((AutoPause.request_type == request_type.id) & AutoPause.resumed_at.is_null()).execute())


# --- exceptions --------------------------------------------------------------------------------------

def _reason(text) -> str:
    text = (text or "").strip()
    if not text:
        raise ControlRefused(_l("Write the reason: the next supervisor reads it."))
    if len(text) > REASON_MAX_LENGTH:
        raise ControlRefused(_l("At most %(max_length)s characters.", max_length=REASON_MAX_LENGTH))
    return text


def add_exception(actor, reason, citizen=None, request_type=None) -> AutoException:
    _check(actor)
    if (citizen is None) == (request_type is None):
        raise ControlRefused(_l("Name either a citizen or a request type."))
    reason = _reason(reason)
    with transaction():
        return AutoException.create(citizen=getattr(citizen, "id", None), request_type=getattr(request_type, "id", None),
                                    reason=reason, added_by=actor.id, created_at=utcnow())


def remove_exception(actor, exception_id: int) -> int:
    _check(actor)
    with transaction():
        return (AutoException.update(removed_at=utcnow(), removed_by=actor.id)
                .where((AutoException.id == exception_id) & AutoException.removed_at.is_null()).execute())


def exception_for(citizen_id: int, type_id: int) -> AutoException | None:
    """The exception in force that keeps this citizen's request of this type from automation, if any."""
    return (AutoException.select()
            .where(AutoException.removed_at.is_null()
                   & ((AutoException.citizen == citizen_id) | (AutoException.request_type == type_id)))
            .order_by(AutoException.id).first())


# --- ceilings ----------------------------------------------------------------------------------------

def _amount(value):
    if value in (None, ""):
        return None
    try:
        amount = decimal.Decimal(str(value))
    except decimal.InvalidOperation:
        raise ControlRefused(_l("A ceiling is an amount of money, or empty for none.")) from None
    if not amount.is_finite() or amount < 0 or amount >= 10**11:
        raise ControlRefused(_l("A ceiling is an amount of money, or empty for none."))
    return amount


def set_ceiling(actor, request_type, per_day=None, per_month=None) -> AutoCeiling:
    _check(actor)
    day, month = _amount(per_day), _amount(per_month)
    with transaction():
        ceiling = AutoCeiling.get_or_none(AutoCeiling.request_type == request_type.id)
        if ceiling is None:
            return AutoCeiling.create(request_type=request_type.id, per_day=day, per_month=month, set_by=actor.id,
                                      set_at=utcnow())
        AutoCeiling.update(per_day=day, per_month=month, set_by=actor.id, set_at=utcnow()).where(
            AutoCeiling.id == ceiling.id).execute()
        return AutoCeiling.get_by_id(ceiling.id)


def ceiling_for(type_id: int) -> AutoCeiling | None:
    return AutoCeiling.get_or_none(AutoCeiling.request_type == type_id)


def periods(now: dt.datetime | None = None) -> dict[str, tuple]:
    """The office's day and month holding `now`: {"day": (key, start, end), "month": (...)}, naive UTC bounds."""
    today = local_today(now)
    first = today.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return {"day": (today.isoformat(), *day_bounds(today)),
            "month": (first.strftime("%Y-%m"), day_bounds(first)[0], day_bounds(following)[0])}


def committed(type_id: int, start: dt.datetime, end: dt.datetime) -> decimal.Decimal:
    """Money committed by automatic decisions of the type in [start, end)."""
    total = (AutoDecision.select(fn.SUM(AutoDecision.amount))
             .where((AutoDecision.request_type == type_id) & (AutoDecision.outcome == "eligible")
                    & (AutoDecision.decided_at >= start) & (AutoDecision.decided_at < end)).scalar())
    return decimal.Decimal(str(total or 0))


def over_ceiling(type_id: int, amount, now: dt.datetime | None = None) -> tuple[str, str] | None:
    """("day" or "month", the period's key) when committing `amount` now would take the type past a ceiling;
    reaching a ceiling exactly is within it. None: within every ceiling (or none set)."""
    ceiling = ceiling_for(type_id)
    if ceiling is None:
        return None
    amount = decimal.Decimal(str(amount or 0))
    for name, limit in (("day", ceiling.per_day), ("month", ceiling.per_month)):
        if limit is None:
            continue
        key, start, end = periods(now)[name]
        if committed(type_id, start, end) + amount > limit:
            return name, key
    return None


def mark_alerted(type_id: int, period: str, key: str) -> bool:
    """Record that supervisors were told the ceiling of `period` ("day"/"month") `key` was reached; True the first
    time (tell them), False when they already were (a conditional update: once, whoever races)."""
    column = AutoCeiling.alerted_day if period == "day" else AutoCeiling.alerted_month
    return AutoCeiling.update({column: key}).where(
        (AutoCeiling.request_type == type_id) & (column != key)).execute() == 1


# --- the supervisors' page -----------------------------------------------------------------------------------------

@dataclasses.dataclass
class TypeControls:
    request_type: RequestType
    rule: AutoRule | None
    paused: bool
    ceiling: AutoCeiling | None
    committed_day: decimal.Decimal
    committed_month: decimal.Decimal


def overview(now: dt.datetime | None = None) -> list[TypeControls]:
    """Every active request type with its rule in force, pause, ceilings and the money committed this office day and
    month (a few types: a handful of small queries each)."""
    bounds = periods(now)
    rows = []
    for request_type in RequestType.select().where(RequestType.active).order_by(RequestType.id):
        rule = (AutoRule.select().where((AutoRule.request_type == request_type.id) & AutoRule.active).first())
        rows.append(TypeControls(request_type, rule, is_paused(request_type.id), ceiling_for(request_type.id),
                                 committed(request_type.id, *bounds["day"][1:]),
                                 committed(request_type.id, *bounds["month"][1:])))
    return rows


def exceptions_page(after=None, size: int = 50):
    """The exceptions in force, newest first, by key."""
    query = (AutoException.select(AutoException, Citizen, RequestType, Staff)
             .join_from(AutoException, Citizen, JOIN.LEFT_OUTER)
             .join_from(AutoException, RequestType, JOIN.LEFT_OUTER)
             .join_from(AutoException, Staff, on=(AutoException.added_by == Staff.id))
             .where(AutoException.removed_at.is_null()))
    return paging.page(query, AutoException.id, after, size, descending=True)


def citizen_by_national_id(national_id: str) -> Citizen | None:
    national_id = (national_id or "").strip()
    return Citizen.get_or_none(Citizen.national_id == national_id) if national_id else None
