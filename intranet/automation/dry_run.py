"""The rule editor's dry run (issue 17): what an edited, unsaved rule (rules.Draft) would have decided over the last
30 days of its type's requests, against what actually happened to them. It changes nothing and calls no external
registry: 500 lookups over HTTP from one page would load a registry that answers citizens' requests.

For each request received in the window (the most recent LIMIT, said so on the page) the facts are, in order:
the registry answer stored with its automatic decision (the evidence, when it came from the draft's registry);
else, when the draft's registry is local, its table (one query for the whole page); else the request is
"not checked". A request whose citizen or type is on the exceptions list is skipped, as automation would skip it.
The rest is engine.evaluate, the very function that decides. What happened: decided automatically (or reversed on
review), else the first decision a person made (accepted, returned, rejected), else still waiting. The money the
draft would have committed is added up per office day and month of receipt, against the type's ceilings."""
import dataclasses
import datetime as dt
import decimal
import json
from collections import Counter

from intranet.i18n import lazy_gettext as _l
from peewee import fn

from intranet.automation import controls, engine, sources
from intranet.automation.registries import RegistryAnswer
from intranet.models import Citizen, HistoryEntry, Request, utcnow
from intranet.models.automation import AutoDecision, AutoException, RegistryRecord
from intranet.stats.figures import zone

WINDOW_DAYS = 30
LIMIT = 500
WOULD = ("eligible", "ineligible", "skipped")
ACTUAL = ("automatic", "reversed", "accepted", "returned", "rejected", "waiting")
WOULD_LABELS = {"eligible": _l("would be decided automatically"), "ineligible": _l("would go to a person: not eligible"),
                "skipped": _l("would go to a person: skipped")}
ACTUAL_LABELS = {"automatic": _l("decided automatically"), "reversed": _l("decided automatically, then reversed"),
                 "accepted": _l("accepted by a person"), "returned": _l("returned by a person"),
                 "rejected": _l("rejected by a person"), "waiting": _l("not decided yet")}
SKIP_LABELS = {"not_checked": _l("not checked: no stored answer and the registry is not local"),
               "excepted": _l("on the exceptions list")}
_PERSON_ACTIONS = {"accept": "accepted", "answer": "accepted", "return": "returned", "reject": "rejected"}


@dataclasses.dataclass
class DryRun:
    since: dt.datetime  # naive UTC
    examined: int
    limited: bool  # more requests were received in the window than the LIMIT examined
    counts: dict  # {would: n}
    compared: dict  # {would: {actual: n}}
    failing: list  # [(fact, n)], the facts that failed most first
    skipped: dict  # {"not_checked" | "excepted": n}
    committed: decimal.Decimal  # what the eligible ones would have committed
    days: dict  # {office day: amount}
    months: dict  # {"YYYY-MM": amount}
    per_day: decimal.Decimal | None  # the type's ceilings
    per_month: decimal.Decimal | None
    days_over: list  # the office days the daily ceiling would have been passed
    months_over: list


def _snapshot(decision, code: str) -> RegistryAnswer | None:
    """The registry answer kept with an automatic decision, when it came from `code` and can be read."""
    if decision is None or decision.registry != code or not decision.registry_raw:
        return None
    try:
        raw = json.loads(decision.registry_raw)
    except ValueError:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("found"), bool):
        return None
    facts = raw.get("facts") if isinstance(raw.get("facts"), dict) else {}
    return RegistryAnswer(code, raw["found"], facts if raw["found"] else {}, decision.registry_raw, decision.fetched_at)


def _local_answers(code: str, national_ids: set) -> dict:
    """The local registry's answers for these people, in one query; a person without a row is not found."""
    found = {}
    ids = sorted(national_ids)
    for start in range(0, len(ids), 200):
        for record in RegistryRecord.select().where((RegistryRecord.registry == code)
                                                    & RegistryRecord.national_id.in_(ids[start:start + 200])):
            found[record.national_id] = RegistryAnswer(code, True, record.fact_values, record.facts, record.loaded_at)
    return {nid: found.get(nid) or RegistryAnswer(code, False, {}, '{"found": false}', None) for nid in ids}


def _what_happened(requests: list, decisions: dict) -> dict:
    """{request id: one of ACTUAL}."""
    firsts = {}
    ids = [req.id for req in requests]
    for start in range(0, len(ids), 200):
        chunk = ids[start:start + 200]
        first_ids = (HistoryEntry.select(fn.MIN(HistoryEntry.id))
                     .where(HistoryEntry.request.in_(chunk) & HistoryEntry.action.in_(list(_PERSON_ACTIONS)))
                     .group_by(HistoryEntry.request))
        for entry in HistoryEntry.select(HistoryEntry.request, HistoryEntry.action).where(
                HistoryEntry.id.in_(first_ids)):
            firsts[entry.request_id] = _PERSON_ACTIONS[entry.action]
    happened = {}
    for req in requests:
        decision = decisions.get(req.id)
        if decision is not None and decision.outcome == "eligible":
            happened[req.id] = "reversed" if decision.review_outcome == "reversed" else "automatic"
        else:
            happened[req.id] = firsts.get(req.id, "waiting")
    return happened


def _excepted(type_id: int, citizen_ids: set) -> set:
    """The citizens (all of them: the type itself is excepted) automation would leave to a person."""
    query = AutoException.select(AutoException.citizen, AutoException.request_type).where(
        AutoException.removed_at.is_null()
        & ((AutoException.request_type == type_id) | AutoException.citizen.in_(sorted(citizen_ids) or [0])))
    excepted = set()
    for row in query:
        if row.request_type_id == type_id:
            return set(citizen_ids)
        excepted.add(row.citizen_id)
    return excepted


def run(draft, request_type, now: dt.datetime | None = None, limit: int = LIMIT) -> DryRun:
    """The dry run of `draft` (rules.Draft, or a saved AutoRule) over `request_type`'s last WINDOW_DAYS."""
    type_id = getattr(request_type, "id", request_type)
    since = (now or utcnow()) - dt.timedelta(days=WINDOW_DAYS)
    rows = list(Request.select(Request, Citizen.id, Citizen.national_id)
                .join(Citizen, on=(Request.citizen == Citizen.id))
                .where((Request.request_type == type_id) & (Request.received_at >= since))
                .order_by(Request.received_at.desc(), Request.id.desc()).limit(limit + 1))
    limited, requests = len(rows) > limit, rows[:limit]
    ids = [req.id for req in requests]
    decisions = {}
    for start in range(0, len(ids), 200):
        for decision in AutoDecision.select().where(AutoDecision.request.in_(ids[start:start + 200])):
            decisions[decision.request_id] = decision
    local = not sources.configured().get(draft.registry, "local").startswith(("http://", "https://"))
    answers = {req.id: _snapshot(decisions.get(req.id), draft.registry) for req in requests}
    if local:
        wanted = {req.citizen.national_id for req in requests if answers[req.id] is None}
        looked_up = _local_answers(draft.registry, wanted)
        answers.update({req.id: looked_up[req.citizen.national_id] for req in requests if answers[req.id] is None})
    excepted = _excepted(type_id, {req.citizen_id for req in requests})
    happened = _what_happened(requests, decisions)

    counts, skipped, failing = Counter(), Counter(), Counter()
    compared = {would: Counter() for would in WOULD}
    days, months = Counter(), Counter()
    for req in requests:
        answer = answers[req.id]
        if req.citizen_id in excepted:
            would = "skipped"
            skipped["excepted"] += 1
        elif answer is None:
            would = "skipped"
            skipped["not_checked"] += 1
        else:
            result = engine.evaluate(draft, answer, req.amount)
            would = "eligible" if result.eligible else "ineligible"
            failing.update(check["fact"] for check in result.checks if not check["passed"])
            if result.eligible and req.amount is not None:
                local_day = req.received_at.replace(tzinfo=dt.UTC).astimezone(zone()).date()
                days[local_day] += decimal.Decimal(str(req.amount))
                months[local_day.strftime("%Y-%m")] += decimal.Decimal(str(req.amount))
        counts[would] += 1
        compared[would][happened[req.id]] += 1

    ceiling = controls.ceiling_for(type_id)
    per_day = ceiling.per_day if ceiling is not None else None
    per_month = ceiling.per_month if ceiling is not None else None
    return DryRun(
        since=since, examined=len(requests), limited=limited, counts={would: counts[would] for would in WOULD},
        compared={would: {actual: compared[would][actual] for actual in ACTUAL} for would in WOULD},
        failing=sorted(failing.items(), key=lambda item: (-item[1], item[0])), skipped=dict(skipped),
        committed=sum(days.values(), decimal.Decimal(0)), days=dict(sorted(days.items())),
        months=dict(sorted(months.items())), per_day=per_day, per_month=per_month,
        days_over=[day for day, amount in sorted(days.items()) if per_day is not None and amount > per_day],
        months_over=[month for month, amount in sorted(months.items()) if per_month is not None and amount > per_month])
