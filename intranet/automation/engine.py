"""The automatic decision of one request (issue 17): `decide(request_id)` runs once per request (its AutoDecision
row goes from "pending" to a final outcome by a conditional update; a second run finds it decided).

A request goes to a person, with the reason stored, when its type has no rule in force, automation is paused for
the type, the citizen or the type is on the exceptions list, the registry cannot answer (RegistryUnavailable never
approves), the registry does not know the citizen or a condition fails (ineligible: the failed facts recorded), or
this request's amount would take the type past its ceiling for the office day or month (supervisors are told once
per type and period). Otherwise the request is accepted or completed through `workflow.decide_automatically`, in
the transaction that records the decision; a share (AUTOMATION_SAMPLE_PERCENT) is flagged for a person to confirm or
reverse (review.py). The evidence kept: the rule row (its version), each fact checked with its value and result,
the registry's answer as received and when, the amount.

`evaluate(rule, answer, amount)` is pure (no database): the rule editor's dry run uses it too."""
import dataclasses
import datetime as dt
import decimal
import json
import logging
import random

from flask_babel import force_locale
from intranet.i18n import lazy_gettext as _l

from intranet import workflow
from intranet.automation import controls, explain, rules
from intranet.automation.registries import RegistryAnswer, RegistryUnavailable
from intranet.automation.sources import registry
from intranet.config import setting
from intranet.db import insert_row, is_sqlite, transaction, update_where
from intranet.models import Citizen, Request, Staff, utcnow
from intranet.models.automation import AutoCeiling, AutoDecision
from intranet.notify import events, wording

log = logging.getLogger(__name__)

REASONS = explain.REASON_LABELS  # why a request went to a person
_rng = random.Random()


@dataclasses.dataclass(frozen=True)
class Evaluation:
    eligible: bool
    reason: str  # "" when eligible, else a key of REASONS
    checks: list  # [{"fact", "op", "expected", "value", "passed"}]


def _decimal(value):
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = decimal.Decimal(str(value).strip())
    except (decimal.InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _same(value, expected) -> bool:
    if isinstance(expected, bool) or isinstance(value, bool):
        return value is expected
    left, right = _decimal(value), _decimal(expected)
    if left is not None and right is not None:
        return left == right
    return str(value).strip().casefold() == str(expected).strip().casefold() if value is not None else False


def _passes(op: str, value, expected) -> bool:
    if op == "is_true":
        return value is True
    if op == "eq":
        return _same(value, expected)
    if op == "ne":
        return value is not None and not _same(value, expected)
    if op == "in":
        return any(_same(value, item) for item in expected)
    left, right = _decimal(value), _decimal(expected)
    if left is None or right is None:
        return False
    return left <= right if op == "lte" else left >= right


def evaluate(rule, answer: RegistryAnswer, amount) -> Evaluation:
    """The rule's conditions against the registry's answer, and the rule's amount limit against `amount`."""
    if not answer.found:
        return Evaluation(False, "not_found", [{"fact": "found", "op": "is_true", "expected": None, "value": False,
                                                "passed": False}])
    checks = []
    for condition in rule.condition_list:
        value = answer.facts.get(condition["fact"])
        checks.append({"fact": condition["fact"], "op": condition["op"], "expected": condition.get("value"),
                       "value": value, "passed": _passes(condition["op"], value, condition.get("value"))})
    reason = "" if all(check["passed"] for check in checks) else "facts"
    if rule.amount_limit is not None:
        limit = decimal.Decimal(str(rule.amount_limit))
        number = _decimal(amount)
        passed = number is not None and number <= limit
        checks.append({"fact": "amount", "op": "lte", "expected": str(limit),
                       "value": str(number) if number is not None else None, "passed": passed})
        reason = reason or ("" if passed else "amount")
    return Evaluation(not reason, reason, checks)


def sampled(rng=None) -> bool:
    """Whether an automatic decision goes to a person for review: AUTOMATION_SAMPLE_PERCENT of them, at random."""
    return (rng or _rng).random() * 100 < float(setting("AUTOMATION_SAMPLE_PERCENT"))


def _pending_row(req) -> AutoDecision:
    insert_row(AutoDecision, {"request": req.id, "request_type": req.request_type_id, "outcome": "pending",
                              "amount": req.amount, "created_at": utcnow()}, ignore_conflict=True)
    return AutoDecision.get(AutoDecision.request == req.id)


def _close(row_id, outcome, reason, rule=None, checks=(), answer=None, sample=False) -> int:
    """The pending row's final outcome; 0 when it was decided meanwhile (another run)."""
    values = {"outcome": outcome, "reason": reason, "rule": rule.id if rule is not None else None,
              "checks": json.dumps(list(checks), ensure_ascii=False, default=str), "sampled": sample,
              "decided_at": utcnow()}
    if answer is not None:
        values.update(registry=answer.registry, registry_raw=answer.raw, fetched_at=answer.fetched_at)
    return update_where(AutoDecision, values, {"id": row_id, "outcome": "pending"})


def _skip_reason(req, rule_id, now: controls.Standing | None = None) -> str:
    """Why the request goes to a person before any fact is weighed ("" : nothing stops it), the controls read now
    (`now`: read already in this transaction)."""
    now = now or controls.standing(req.request_type_id, req.citizen_id)
    if rule_id is None or now.rule_id is None:
        return "no_rule"
    if not workflow.automation_may_decide(req):
        return "not_at_first_stage"
    if now.paused:
        return "paused"
    if now.excepted:
        return "excepted"
    return ""


def decide(request_id: int, rng=None) -> AutoDecision | None:
    """Decide the request automatically, once; the AutoDecision row (None: no such request)."""
    req = Request.select(Request, Citizen).join(Citizen).where(Request.id == request_id).get_or_none()
    if req is None:
        return None
    row = AutoDecision.get_or_none(AutoDecision.request == req.id) or _pending_row(req)
    if row.outcome != "pending":
        return row
    rule = rules.current_rule(req.request_type_id)
    skip = _skip_reason(req, rule.id if rule is not None else None)
    if skip:
        _close(row.id, "skipped", skip, rule)
        return AutoDecision.get_by_id(row.id)
    try:  # outside any transaction: a slow registry holds no lock
        answer = registry(rule.registry).lookup(req.citizen.national_id)
    except RegistryUnavailable as error:
        log.warning("registry %s unavailable for request %s: %s", rule.registry, req.id, error)
        _close(row.id, "skipped", "registry_unavailable", rule, [{"fact": "registry", "error": str(error)[:500]}])
        return AutoDecision.get_by_id(row.id)
    result = evaluate(rule, answer, req.amount)
    if not result.eligible:
        _close(row.id, "ineligible", result.reason, rule, result.checks, answer)
        return AutoDecision.get_by_id(row.id)
    _act(req, row, rule, answer, result, sampled(rng))
    return AutoDecision.get_by_id(row.id)


def _act(req, row, rule, answer, result, sample):
    """Inside one transaction: the controls read again (a pause takes effect at once), the ceiling checked under
    the type's lock, the decision recorded and the request acted on with its history row."""
    with transaction():
        now = controls.standing(req.request_type_id, req.citizen_id)
        if now.rule_id is not None and now.rule_id != rule.id:
            return  # the rule changed while the registry answered: left pending, the sweeper decides it under the new
        fresh = Request.get_by_id(req.id)
        _settle(fresh, row.id, rule, answer, result, sample, _skip_reason(fresh, rule.id, now), now)


def _settle(req, row_id, rule, answer, result, sample, skip, now: controls.Standing) -> str:
    """Inside the decision's transaction, the controls read (`now`; `skip`: why not, "" when nothing stops it):
    the ceiling weighed under the type's lock, then an eligible request decided, or skipped with the reason (a
    ceiling reached tells the supervisors once); the outcome."""
    alert = over = None
    if not skip and now.has_ceiling:
        if not is_sqlite():  # one decision of a type at a time weighs the money committed (SQLite: one writer anyway)
            list(AutoCeiling.select(AutoCeiling.id).where(AutoCeiling.request_type == req.request_type_id)
                 .for_update())
        over = controls.over_ceiling(req.request_type_id, req.amount)
    if over is not None:
        skip = f"ceiling_{over[0]}"
        if controls.mark_alerted(req.request_type_id, *over):
            alert = over
    outcome = "skipped" if skip else "eligible"
    if skip:
        _close(row_id, "skipped", skip, rule, result.checks, answer)
    elif _close(row_id, "eligible", "", rule, result.checks, answer, sample) == 1:
        details = {"decision": row_id, "rule": rule.id, "rule_version": rule.version}
        if workflow.decide_automatically(req.id, rule.decision, details, current=req) is None:  # moved meanwhile
            AutoDecision.update(outcome="skipped", reason="not_at_first_stage", sampled=False).where(
                AutoDecision.id == row_id).execute()
            outcome = "skipped"
    if alert is not None:
        _tell_supervisors(req.request_type, *alert)
    return outcome


def decide_submitted(req, decision_id, rule, looked_up, rng=None) -> str:
    """Inside the transaction that has just submitted `req` with its pending decision `decision_id` (the renewal
    job): the decision made at once, with `rule` (the type's rule in force when the registry was asked, or None)
    and what the registry answered before the transaction (`looked_up`: a RegistryAnswer, the RegistryUnavailable
    its lookup raised, or None: not asked); the outcome ("pending": the rule changed meanwhile, or the registry was
    not asked and nothing stops the decision now: the next run or the sweeper decides it)."""
    row_id = decision_id or _pending_row(req).id
    now = controls.standing(req.request_type_id, req.citizen_id)
    if rule is not None and now.rule_id is not None and now.rule_id != rule.id:
        return "pending"
    skip = _skip_reason(req, rule.id if rule is not None else None, now)
    if skip:
        _close(row_id, "skipped", skip, rule)
        return "skipped"
    if looked_up is None:
        return "pending"
    if isinstance(looked_up, RegistryUnavailable):
        _close(row_id, "skipped", "registry_unavailable", rule, [{"fact": "registry", "error": str(looked_up)[:500]}])
        return "skipped"
    result = evaluate(rule, looked_up, req.amount)
    if not result.eligible:
        _close(row_id, "ineligible", result.reason, rule, result.checks, looked_up)
        return "ineligible"
    return _settle(req, row_id, rule, looked_up, result, sampled(rng), "", now)


CEILING_EVENT = "automation_ceiling"
MAIL_LANGUAGE = "ar"


def _tell_supervisors(request_type, period: str, key: str):
    """An e-mail to every active supervisor: automation stopped for the type, its ceiling of the day or month
    reached (once per type and period: controls.mark_alerted)."""
    ceiling = controls.ceiling_for(request_type.id)
    limit = ceiling.per_day if period == "day" else ceiling.per_month
    with force_locale(MAIL_LANGUAGE):
        text = str(_l("%(type)s: the ceiling of %(period)s (%(amount)s) is reached; its requests go to people.",
                      type=request_type.name_ar, period=key, amount=wording.amount_text(limit, MAIL_LANGUAGE)))
    for staff in (Staff.select().where((Staff.role == "supervisor") & (Staff.active == True)  # noqa: E712
                                       & Staff.email.is_null(False) & (Staff.email != "")).order_by(Staff.id)):
        events.queue_staff_email(staff, CEILING_EVENT, MAIL_LANGUAGE,
                                 {"staff_name": staff.full_name, "date": key, "items": text, "department": ""},
                                 f"{CEILING_EVENT}:{request_type.id}:{key}:{staff.id}")


def pending_ids(limit: int = 500, older_than: float = 0) -> list[int]:
    """Requests whose decision was never made (their job lost), oldest first: the sweeper's list; `older_than`
    (seconds) leaves the ones just submitted to their own job."""
    query = AutoDecision.select(AutoDecision.request).where(AutoDecision.outcome == "pending")
    if older_than:
        query = query.where(AutoDecision.created_at < utcnow() - dt.timedelta(seconds=older_than))
    return [row.request_id for row in query.order_by(AutoDecision.id).limit(limit)]


def sweep(limit: int = 500, older_than: float = 0) -> int:
    """Decide what was left pending; how many were decided by this run."""
    done = 0
    for request_id in pending_ids(limit, older_than):
        try:
            row = decide(request_id)
        except Exception:  # noqa: BLE001  one request's failure must not stop the others; it stays pending
            log.exception("automatic decision of request %s failed", request_id)
            continue
        done += row is not None and row.outcome != "pending"
    return done
