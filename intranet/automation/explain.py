"""Automatic decisions in plain words (issue 17): what the request page says of a request's decision, in the
reader's language: the rule's version and type, each fact checked with its value (and whether it held), the amount
against the rule's limit, when the registry answered, why a request went to a person, and the review's state."""
import dataclasses
import datetime as dt

from intranet.i18n import lazy_gettext as _l

from intranet.db import select
from intranet.models.automation import AutoDecision

REASON_LABELS = {
    "no_rule": _l("no automatic-decision rule for this type"),
    "paused": _l("automation is paused for this type"),
    "excepted": _l("on the exceptions list"),
    "registry_unavailable": _l("the registry did not answer"),
    "not_found": _l("the registry does not know the citizen"),
    "facts": _l("a condition on the registry's facts is not met"),
    "amount": _l("the amount is above the rule's limit"),
    "ceiling_day": _l("the day's spending ceiling would be exceeded"),
    "ceiling_month": _l("the month's spending ceiling would be exceeded"),
    "not_at_first_stage": _l("the request is no longer open at its first stage"),
}
OUTCOME_LABELS = {"pending": _l("waiting for its automatic decision"), "eligible": _l("decided automatically"),
                  "ineligible": _l("not eligible for an automatic decision: left to a person"),
                  "skipped": _l("not decided automatically: left to a person")}
REVIEW_LABELS = {"confirmed": _l("confirmed"), "reversed": _l("reversed")}
# the facts registries commonly give; another fact is shown by its name
FACT_LABELS = {"found": _l("known to the registry"), "registered": _l("registered"), "alive": _l("alive"),
               "pension_status": _l("pension status"), "age": _l("age"), "open_grievance": _l("open grievance"),
               "insured": _l("insured"), "married": _l("married"), "dependants": _l("dependants")}
REGISTRY_LABELS = {"civil": _l("the civil registry"), "retirement": _l("the national retirement authority")}
OP_WORDS = {"lte": _l("at most %(value)s"), "gte": _l("at least %(value)s"), "ne": _l("not %(value)s"),
            "eq": _l("expected %(value)s"), "in": _l("one of %(value)s")}


@dataclasses.dataclass
class Fact:
    label: str
    value: str
    condition: str  # what the rule asks, in words ("" for a plain yes)
    passed: bool


@dataclasses.dataclass
class Explanation:
    decision: AutoDecision
    outcome: str
    reason: str
    rule_version: int | None
    registry: str
    facts: list
    amount: object  # Decimal or None
    limit: object
    within: bool  # the amount within the rule's limit
    fetched_at: dt.datetime | None
    awaits_review: bool


def value_words(value) -> str:
    if value is True:
        return str(_l("yes"))
    if value is False:
        return str(_l("no"))
    if value is None:
        return str(_l("not given"))
    if isinstance(value, list):
        return ", ".join(value_words(item) for item in value)
    return str(value)


def registry_label(code: str) -> str:
    return str(REGISTRY_LABELS.get(code) or code)


def fact_label(fact: str) -> str:
    """A fact's name in the reader's language (a fact without a label: its name, spaced)."""
    return str(FACT_LABELS.get(fact) or fact.replace("_", " "))


def asks(op, expected) -> str:
    """What a condition asks of its fact, in words ("" for a plain yes)."""
    return "" if op == "is_true" or op not in OP_WORDS else str(OP_WORDS[op] % {"value": value_words(expected)})


def rule_words(rule) -> list[tuple[str, str]]:
    """A rule's conditions in words, [(fact, what it asks)], as the request page says them (the rule editor)."""
    return [(fact_label(c["fact"]), asks(c["op"], c.get("value")) or str(_l("yes"))) for c in rule.condition_list]


def explain(req) -> Explanation | None:
    """The request's automatic decision in words, or None when automation never looked at it (known without a query
    for a request read by queues/services.find_request: `auto_decided`)."""
    if not getattr(req, "auto_decided", True):
        return None
    decision = next(iter(select("auto_decision_of", lambda request_id: (  # every request page: SQL made once
        AutoDecision.select().where(AutoDecision.request == request_id).limit(1)), req.id)), None)
    if decision is None:
        return None
    facts, limit, within = [], None, False
    for check in decision.check_list:
        if "passed" not in check:
            continue
        if check["fact"] == "amount":
            limit, within = check.get("expected"), bool(check["passed"])
            continue
        facts.append(Fact(fact_label(check["fact"]), value_words(check.get("value")),
                          asks(check.get("op"), check.get("expected")), bool(check["passed"])))
    rule = decision.rule if decision.rule_id else None
    return Explanation(decision, decision.outcome, str(REASON_LABELS.get(decision.reason, "")),
                       rule.version if rule else None, registry_label(decision.registry), facts,
                       decision.amount, limit, within, decision.fetched_at,
                       decision.outcome == "eligible" and decision.sampled and not decision.review_outcome)
