"""Automatic renewals (issue 17, seed 001): the scheduled job renews the periodic benefits that are due, overdue
first, then those due within RENEWAL_DAYS_AHEAD days (ORDER BY next_due, id, in keyset batches: the table is never
loaded whole), and the statements' account of it.

Each benefit due is claimed by a conditional update of its `period` (and `next_due`, moved past the window) in the
transaction that submits its renewal request through the workflow (history, the citizen's SMS, the pending automatic
decision) and writes its Renewal row (unique benefit and period): a period is renewed once, whatever runs twice or is
killed midway. The request is then decided by the engine in the same run, like any other: a renewal that fails the
rule stays with a person with the reason recorded. A run first decides what a killed run left pending. Money still
goes through the payout approval: automation never approves a payout."""
import concurrent.futures
import dataclasses
import datetime as dt
import logging

from flask_babel import get_locale

from intranet import paging, reference, workflow
from intranet.automation import controls, engine, explain, rules
from intranet.automation.benefits import add_months
from intranet.automation.registries import RegistryAnswer
from intranet.automation.sources import registry
from intranet.db import insert_row, transaction, update_where
from intranet.models import Citizen, Request, RequestType, utcnow
from intranet.models.automation import AutoDecision
from intranet.models.renewals import Benefit, Renewal
from intranet.stats.figures import local_today

log = logging.getLogger(__name__)

DAYS_AHEAD = 30  # seed 001: what is overdue, then what falls due within 30 days
BATCH = 500
CHANNEL = "electronic"  # nobody walked in; the submit history row says it is a scheduled renewal


def horizon(today: dt.date) -> dt.date:
    return today + dt.timedelta(days=DAYS_AHEAD)


def due_batch(today: dt.date, after=None, limit: int = BATCH, until: dt.date | None = None,
              part: int = 0, parts: int = 1) -> list[Benefit]:
    """Active benefits due on or before `until` (default: today + 30 days), by (next_due, id) after the key `after`;
    of `parts` runs side by side, this one takes the benefits whose id leaves `part` divided by `parts`."""
    query = (Benefit.select(Benefit, Citizen).join(Citizen)
             .where((Benefit.active == True) & (Benefit.next_due <= (until or horizon(today)))))  # noqa: E712
    if parts > 1:
        query = query.where(Benefit.id - Benefit.id / parts * parts == part)  # the remainder (peewee's % is GLOB)
    if after is not None:  # the one keyset rule (paging.py), read in whole batches by the job
        query = query.where(paging.beyond((Benefit.next_due, Benefit.id), after))
    return list(query.order_by(Benefit.next_due, Benefit.id).limit(limit))


def following_due(benefit, today: dt.date) -> dt.date:
    """The benefit's next due date once this period is renewed: the first of its due dates past the window (an
    overdue benefit renewed late is not renewed again for the periods it missed)."""
    step, limit = 1, horizon(today)
    while (due := add_months(benefit.next_due, step * benefit.every_months)) <= limit:
        step += 1
    return due


def _request_type(type_id: int) -> RequestType:
    return reference.by_id(RequestType, type_id)


@dataclasses.dataclass
class Asked:
    """A batch's rules and registry answers, asked before any transaction: per request type its rule in force
    (None: none) and whether it is paused; per benefit id what the registry answered (`answer`: a RegistryAnswer,
    or the RegistryUnavailable its lookup raised; None: not asked, the type having no rule or being paused).
    `waiting`: the lookups of remote registries still under way (benefits, future), collected at the first answer."""
    rules: dict
    paused: dict
    answers: dict
    waiting: list = dataclasses.field(default_factory=list)

    def answer(self, benefit_id: int):
        while self.waiting:
            asked, future = self.waiting.pop()
            found = future.result()
            self.answers.update({benefit.id: found[benefit.citizen.national_id] for benefit in asked})
        return self.answers.get(benefit_id)


def ask(benefits, pool: concurrent.futures.Executor | None = None) -> Asked:
    """The registries asked about a batch of benefits, a registry at a time (registry.lookup_many: one query for a
    local registry, parallel lookups over HTTP), outside any transaction: a slow registry holds no lock. With a
    `pool`, a remote registry is asked in it, and the run renews the batch before while it answers."""
    types = {benefit.request_type_id for benefit in benefits}
    in_force = {type_id: rules.current_rule(type_id) for type_id in types}
    paused = {type_id: controls.is_paused(type_id) for type_id in types}
    by_registry: dict[str, list] = {}
    for benefit in benefits:
        rule = in_force[benefit.request_type_id]
        if rule is not None and not paused[benefit.request_type_id]:
            by_registry.setdefault(rule.registry, []).append(benefit)
    asked = Asked(in_force, paused, {})
    for code, wanted in by_registry.items():
        source, ids = registry(code), [benefit.citizen.national_id for benefit in wanted]
        if pool is not None and source.remote:  # no database in the pool's thread: only the network
            asked.waiting.append((wanted, pool.submit(source.lookup_many, ids)))
        else:
            found = source.lookup_many(ids)
            asked.answers.update({benefit.id: found[benefit.citizen.national_id] for benefit in wanted})
    return asked


def claim(benefit, today: dt.date, asked: Asked | None = None) -> tuple[int, str] | None:
    """Renew the benefit's next period and decide its request, in one transaction: (the request's id, the
    decision's outcome), or None when another run claimed the period first. The decision has a savepoint of its
    own: should it fail, the renewal stands with its decision pending (the next run, or the sweeper, makes it)."""
    asked = asked or ask([benefit])
    period = benefit.period + 1
    with transaction():
        claimed = update_where(Benefit, {"period": period, "next_due": following_due(benefit, today),
                                          "updated_at": utcnow()},
                               {"id": benefit.id, "period": benefit.period, "active": True})
        if claimed != 1:
            return None
        note = {"renewal": True, "benefit": benefit.id, "period": period, "due_on": benefit.next_due.isoformat()}
        rtype = _request_type(benefit.request_type_id)
        submitted = workflow.submit(None, benefit.citizen, rtype, CHANNEL, benefit.subject or rtype.name_ar,
                                    amount=benefit.amount, submission_token=f"renewal:{benefit.id}:{period}",
                                    note=note, token_checked=True, decision_job=False)
        req = submitted.request
        insert_row(Renewal, {"benefit": benefit.id, "period": period, "due_on": benefit.next_due,
                             "request": req.id, "created_at": utcnow()})
        try:
            with transaction():
                outcome = engine.decide_submitted(req, submitted.decision, asked.rules.get(benefit.request_type_id),
                                                  asked.answer(benefit.id))
        except Exception:  # noqa: BLE001  left pending: the next run (or the sweeper) decides it
            log.exception("automatic decision of renewal request %s failed", req.id)
            outcome = "pending"
    return req.id, outcome


def _decide(request_id: int) -> str:
    try:
        row = engine.decide(request_id)
    except Exception:  # noqa: BLE001  left pending: the next run (or the sweeper) decides it
        log.exception("automatic decision of renewal request %s failed", request_id)
        return "pending"
    return row.outcome if row is not None else "pending"


def finish_pending(limit: int = BATCH) -> int:
    """Decide the renewal requests a killed run left pending (keyset over their decisions); how many."""
    done, after = 0, 0
    while True:
        ids = [row.request_id for row in
               AutoDecision.select(AutoDecision.id, AutoDecision.request)
               .join(Renewal, on=(Renewal.request == AutoDecision.request))
               .where((AutoDecision.outcome == "pending") & (AutoDecision.id > after))
               .order_by(AutoDecision.id).limit(limit)]
        if not ids:
            return done
        for request_id in ids:
            done += _decide(request_id) != "pending"
        after = AutoDecision.get(AutoDecision.request == ids[-1]).id


def run(today: dt.date | None = None, batch: int = BATCH, part: int = 0, parts: int = 1) -> dict:
    """Renew every benefit due (overdue first, then within 30 days), each decided at once; the counts:
    {"renewed", "eligible", "ineligible", "skipped", "pending", "finished"} ("finished": left pending by a killed run,
    decided now). The registry is asked about a batch at a time, before its renewals' transactions; a remote one
    answers about the next batch while this one is renewed. `part` of `parts`: one of that many runs side by side
    (RENEWAL_PARTS job consumers on PostgreSQL), each over its own share of the benefits; a benefit claimed by two
    runs all the same is renewed once (the claim)."""
    if not 0 <= part < parts:
        raise ValueError(f"part {part} of {parts}")
    today = today or local_today()
    counts = {"renewed": 0, "eligible": 0, "ineligible": 0, "skipped": 0, "pending": 0,
              "finished": finish_pending(batch) if part == 0 else 0}
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        benefits = due_batch(today, None, batch, part=part, parts=parts)
        asked = ask(benefits, pool)
        while benefits:
            upcoming = due_batch(today, (benefits[-1].next_due, benefits[-1].id), batch, part=part, parts=parts)
            coming = ask(upcoming, pool) if upcoming else None  # its registry answers while this batch is renewed
            for benefit in benefits:
                done = claim(benefit, today, asked)
                if done is None:
                    continue
                counts["renewed"] += 1
                counts[done[1]] += 1
            benefits, asked = upcoming, coming
    return counts


# --- the statements' account (seed 001) ----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Refusal:
    """Why automation would not or did not decide: the reason's code and the facts that failed ((fact, value)
    pairs); in words in the language it is printed in (a statement is built once and printed in each language)."""
    reason: str
    failed: tuple = ()

    def __str__(self) -> str:
        text = str(explain.REASON_LABELS.get(self.reason, self.reason))
        if not self.failed:
            return text
        comma = "، " if str(get_locale() or "ar").startswith("ar") else ", "
        return text + " (" + comma.join(f"{explain.fact_label(fact)}: {explain.value_words(value)}"
                                        for fact, value in self.failed) + ")"


def refusal(reason: str, checks=()) -> Refusal:
    return Refusal(reason, tuple((check["fact"], check.get("value")) for check in checks or ()
                                 if "passed" in check and not check["passed"]))


@dataclasses.dataclass
class Forecast:
    """A benefit falling due: whether automation would renew it (the rule in force against the registry's facts,
    nothing acted on) and, when not, why."""
    benefit: Benefit
    citizen: Citizen
    request_type_id: int
    due_on: dt.date
    renews: bool
    reason: Refusal | None  # None when it renews


@dataclasses.dataclass
class Done:
    """A renewal made, or another automatic decision, with its outcome and, when refused, the reason."""
    request: Request
    citizen: Citizen
    request_type_id: int
    renewal: bool
    decided: bool  # decided automatically; False: left to a person
    reason: Refusal | None  # None when decided
    at: dt.datetime


def _would(benefit, asked: Asked) -> tuple[bool, Refusal | None]:
    rule = asked.rules.get(benefit.request_type_id)
    reason = ("no_rule" if rule is None else "paused" if asked.paused.get(benefit.request_type_id)
              else "excepted" if controls.exception_for(benefit.citizen_id, benefit.request_type_id) is not None
              else "")
    if reason:
        return False, refusal(reason, ())
    answer = asked.answer(benefit.id)
    if not isinstance(answer, RegistryAnswer):
        return False, refusal("registry_unavailable", ())
    result = engine.evaluate(rule, answer, benefit.amount)
    return result.eligible, None if result.eligible else refusal(result.reason, result.checks)


def forecast(day: dt.date) -> list[Forecast]:
    """The benefits automation will renew from `day` until 30 days on (overdue first), each evaluated against the
    rule in force and the registry's facts now, without acting."""
    items, after = [], None
    while batch := due_batch(day, after, BATCH, until=horizon(day) - dt.timedelta(days=1)):
        asked = ask(batch)
        for benefit in batch:
            renews, reason = _would(benefit, asked)
            items.append(Forecast(benefit, benefit.citizen, benefit.request_type_id, benefit.next_due, renews, reason))
        after = (batch[-1].next_due, batch[-1].id)
    return items


def done_between(start: dt.datetime, end: dt.datetime) -> list[Done]:
    """What automation decided in [start, end): each automatic decision made, renewals marked, with the reason of
    each refusal; oldest first."""
    rows = list(AutoDecision.select(AutoDecision, Request, Citizen).join(Request).join(Citizen)
                .where((AutoDecision.decided_at >= start) & (AutoDecision.decided_at < end)
                       & (AutoDecision.outcome != "pending"))
                .order_by(AutoDecision.decided_at, AutoDecision.id))
    renewed = set()
    for start_at in range(0, len(rows), BATCH):
        ids = [row.request_id for row in rows[start_at:start_at + BATCH]]
        renewed.update(r.request_id for r in Renewal.select(Renewal.request).where(Renewal.request.in_(ids)))
    items = []
    for row in rows:
        decided = row.outcome == "eligible"
        items.append(Done(row.request, row.request.citizen, row.request_type_id, row.request_id in renewed,
                          decided, None if decided else refusal(row.reason, row.check_list), row.decided_at))
    return items
