"""Automatic-decision rules as data (issue 17): per request type, the registry whose facts are checked, the
conditions on those facts ({fact, op, value}), an optional limit on the request's amount, and the decision that
follows (accept the first stage, or complete the request). A change is a new version: `save_rule` inserts a row
and moves `active` to it in one transaction; the old row stays, and every decision names the row it used."""
import dataclasses
import decimal
import json
import re

from intranet.i18n import lazy_gettext as _l
from peewee import IntegrityError, fn

from intranet.auth import permissions
from intranet.db import transaction
from intranet.models import RequestType, utcnow
from intranet.models.automation import DECISIONS, AutoRule

OPS = ("eq", "ne", "in", "lte", "gte", "is_true")
OP_LABELS = {"eq": _l("is"), "ne": _l("is not"), "in": _l("is one of"), "lte": _l("at most"), "gte": _l("at least"),
             "is_true": _l("yes")}
DECISION_LABELS = {"accept_stage": _l("accept the first stage"), "complete": _l("complete the request")}
MAX_CONDITIONS = 20
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class RuleRefused(ValueError):
    """A rule that cannot be saved; the message says what to change."""


def current_rule(request_type) -> AutoRule | None:
    """The type's rule in force (`request_type`: a RequestType or its id), None when it has none."""
    type_id = getattr(request_type, "id", request_type)
    return (AutoRule.select().where((AutoRule.request_type == type_id) & AutoRule.active)
            .order_by(AutoRule.version.desc()).first())


def versions(request_type) -> list[AutoRule]:
    """Every version of the type's rule, newest first."""
    type_id = getattr(request_type, "id", request_type)
    return list(AutoRule.select().where(AutoRule.request_type == type_id).order_by(AutoRule.version.desc()))


def _scalar(value) -> bool:
    return isinstance(value, (bool, int, float, str)) and not (isinstance(value, str) and len(value) > 200)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_conditions(conditions) -> list[dict]:
    """The conditions as stored ([{fact, op, value}]), or RuleRefused naming the first wrong one."""
    if not isinstance(conditions, list) or not conditions:
        raise RuleRefused(_l("A rule needs at least one condition."))
    if len(conditions) > MAX_CONDITIONS:
        raise RuleRefused(_l("At most %(max)d conditions.", max=MAX_CONDITIONS))
    checked = []
    for number, condition in enumerate(conditions, 1):
        if not isinstance(condition, dict):
            raise RuleRefused(_l("Condition %(n)d cannot be read.", n=number))
        fact, op, value = str(condition.get("fact") or "").strip(), condition.get("op"), condition.get("value")
        if not _NAME.match(fact):
            raise RuleRefused(_l("Condition %(n)d: name the fact in lower-case Latin letters, digits and _.", n=number))
        if op not in OPS:
            raise RuleRefused(_l("Condition %(n)d: unknown comparison.", n=number))
        if op == "is_true":
            value = None
        elif op == "in":
            if not isinstance(value, list) or not value or not all(_scalar(item) for item in value):
                raise RuleRefused(_l("Condition %(n)d: give one value or more to choose from.", n=number))
        elif op in ("lte", "gte"):
            if not _number(value):
                raise RuleRefused(_l("Condition %(n)d: give a number.", n=number))
        elif not _scalar(value):
            raise RuleRefused(_l("Condition %(n)d: give a value.", n=number))
        checked.append({"fact": fact, "op": op, "value": value})
    return checked


def _amount_limit(value):
    if value in (None, ""):
        return None
    try:
        limit = decimal.Decimal(str(value))
    except decimal.InvalidOperation:
        raise RuleRefused(_l("The amount limit is not a number.")) from None
    if not limit.is_finite() or limit < 0 or limit >= 10**11:
        raise RuleRefused(_l("The amount limit is not a number."))
    return limit


@dataclasses.dataclass(frozen=True)
class Draft:
    """A rule as checked but not saved: what save_rule stores, and what the editor's dry run evaluates
    (engine.evaluate reads `condition_list` and `amount_limit`, as on a saved AutoRule)."""
    registry: str
    condition_list: list
    decision: str
    amount_limit: decimal.Decimal | None


def draft(registry: str, conditions, decision: str, amount_limit=None) -> Draft:
    """The rule checked (RuleRefused naming the first thing to change), one check for saving and for trying."""
    registry = (registry or "").strip()
    if not _NAME.match(registry):
        raise RuleRefused(_l("Name the registry the facts come from."))
    if decision not in DECISIONS:
        raise RuleRefused(_l("Choose what follows when the request is eligible."))
    return Draft(registry, check_conditions(conditions), decision, _amount_limit(amount_limit))


def save_rule(actor, request_type, registry: str, conditions, decision: str, amount_limit=None,
              note: str = "") -> AutoRule:
    """A new version of the type's rule, in force at once (the previous version kept, no longer active)."""
    if not permissions.can_edit_automation_rules(actor):
        raise RuleRefused(_l("Only administrators write automatic-decision rules."))
    if not isinstance(request_type, RequestType):
        raise RuleRefused(_l("Choose the request type."))
    checked_rule = draft(registry, conditions, decision, amount_limit)
    registry, checked, limit = checked_rule.registry, checked_rule.condition_list, checked_rule.amount_limit
    try:
        with transaction():
            last = AutoRule.select(fn.MAX(AutoRule.version)).where(AutoRule.request_type == request_type.id).scalar()
            AutoRule.update(active=False).where((AutoRule.request_type == request_type.id) & AutoRule.active).execute()
            return AutoRule.create(request_type=request_type.id, version=(last or 0) + 1, active=True,
                                   registry=registry, conditions=json.dumps(checked, ensure_ascii=False),
                                   amount_limit=limit, decision=decision, created_by=actor.id, created_at=utcnow(),
                                   note=(note or "").strip()[:2000])
    except IntegrityError:  # another version saved at the same moment took the number
        raise RuleRefused(_l("The rule was changed meanwhile: reload it and save again.")) from None
