"""Automatic renewals (issue 17, seed 001): the scheduled job renews the periodic benefits that are due, overdue
first, then those due within RENEWAL_DAYS_AHEAD days (ORDER BY next_due, id, in keyset batches: the table is never
loaded whole), and the statements' account of it.

Each benefit due is claimed by a conditional update of its `period` (and `next_due`, moved past the window) in the
transaction that submits its renewal request through the workflow (history, the citizen's SMS, the pending automatic
decision) and writes its Renewal row (unique benefit and period): a period is renewed once, whatever runs twice or is
killed midway. The request is then decided by the engine in the same run, like any other: a renewal that fails the
rule stays with a person with the reason recorded. A run first decides what a killed run left pending. Money still
goes through the payout approval: automation never approves a payout."""
import dataclasses
import datetime as dt
import logging

from flask_babel import get_locale

from intranet import paging, reference, workflow
from intranet.automation import controls, engine, explain, rules
from intranet.automation.benefits import add_months
from intranet.automation.registries import RegistryUnavailable
from intranet.automation.sources import registry
from intranet.db import insert_row, transaction
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


def due_batch(today: dt.date, after=None, limit: int = BATCH, until: dt.date | None = None) -> list[Benefit]:
    """Active benefits due on or before `until` (default: today + 30 days), by (next_due, id) after the key `after`."""
    query = (Benefit.select(Benefit, Citizen).join(Citizen)
             .where((Benefit.active == True) & (Benefit.next_due <= (until or horizon(today)))))  # noqa: E712
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
    return reference.cached("RequestType_by_id", type_id, RequestType.get_or_none)


def claim(benefit, today: dt.date) -> int | None:
    """Renew the benefit's next period: its renewal request's id, or None when another run claimed it first."""
    period = benefit.period + 1
    with transaction():
        claimed = (Benefit.update(period=period, next_due=following_due(benefit, today), updated_at=utcnow())
                   .where((Benefit.id == benefit.id) & (Benefit.period == benefit.period)
                          & (Benefit.active == True))  # noqa: E712
                   .execute())
        if claimed != 1:
            return None
        note = {"renewal": True, "benefit": benefit.id, "period": period, "due_on": benefit.next_due.isoformat()}
        req = workflow.submit(None, benefit.citizen, _request_type(benefit.request_type_id), CHANNEL,
                              benefit.subject or _request_type(benefit.request_type_id).name_ar,
                              amount=benefit.amount, submission_token=f"renewal:{benefit.id}:{period}",
                              note=note, token_checked=True, decision_job=False).request
        insert_row(Renewal, {"benefit": benefit.id, "period": period, "due_on": benefit.next_due,
                             "request": req.id, "created_at": utcnow()})
    return req.id


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


def run(today: dt.date | None = None, batch: int = BATCH, stop_after: int | None = None) -> dict:
    """Renew every benefit due (overdue first, then within 30 days), each decided at once; the counts:
    {"renewed", "eligible", "ineligible", "skipped", "pending", "finished"} ("finished": left pending by a killed run,
    decided now). `stop_after` ends the run after so many renewals (the rest wait for the next run)."""
    today = today or local_today()
    counts = {"renewed": 0, "eligible": 0, "ineligible": 0, "skipped": 0, "pending": 0,
              "finished": finish_pending(batch)}
    after = None
    while stop_after is None or counts["renewed"] < stop_after:
        benefits = due_batch(today, after, batch)
        if not benefits:
            break
        for benefit in benefits:
            if stop_after is not None and counts["renewed"] >= stop_after:
                break
            request_id = claim(benefit, today)
            if request_id is None:
                continue
            counts["renewed"] += 1
            counts[_decide(request_id)] += 1
        after = (benefits[-1].next_due, benefits[-1].id)
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


def _would(benefit, citizen) -> tuple[bool, Refusal | None]:
    rule = rules.current_rule(benefit.request_type_id)
    reason = ("no_rule" if rule is None else "paused" if controls.is_paused(benefit.request_type_id)
              else "excepted" if controls.exception_for(citizen.id, benefit.request_type_id) is not None else "")
    if reason:
        return False, refusal(reason, ())
    try:
        answer = registry(rule.registry).lookup(citizen.national_id)
    except RegistryUnavailable:
        return False, refusal("registry_unavailable", ())
    result = engine.evaluate(rule, answer, benefit.amount)
    return result.eligible, None if result.eligible else refusal(result.reason, result.checks)


def forecast(day: dt.date) -> list[Forecast]:
    """The benefits automation will renew from `day` until 30 days on (overdue first), each evaluated against the
    rule in force and the registry's facts now, without acting."""
    items, after = [], None
    while batch := due_batch(day, after, BATCH, until=horizon(day) - dt.timedelta(days=1)):
        for benefit in batch:
            renews, reason = _would(benefit, benefit.citizen)
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
