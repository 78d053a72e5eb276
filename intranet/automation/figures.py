"""The supervisors' page of automatic decisions (issue 17): the list with its filters (type, outcome, the sample
awaiting review, reversals, a range of office days), read by key; and the figures of the range: the share of the
requests received that were decided automatically, the median time to a decision (seconds for automation, days
for people: from receipt to the first accept by a person), and the money committed against each type's ceilings
today and this month (controls.overview)."""
import dataclasses
import datetime as dt
import statistics

from intranet.i18n import lazy_gettext as _l
from peewee import JOIN, fn

from intranet import paging, params
from intranet.automation import controls, pending
from intranet.models import Citizen, HistoryEntry, Request, RequestType, Staff
from intranet.models.automation import OUTCOMES, AutoDecision, AutoRule
from intranet.stats.figures import day_bounds, local_today

REVIEWS = ("awaiting", "sampled", "reversed", "confirmed")
REVIEW_FILTER_LABELS = {"awaiting": _l("Awaiting review"), "sampled": _l("Sampled"), "reversed": _l("Reversed"),
                        "confirmed": _l("Confirmed")}
PAGE_SIZE = 50
DEFAULT_DAYS = 30
MAX_DAYS = 366
_PERSON_DECIDES = ("accept", "answer")


@dataclasses.dataclass
class DecisionFilters:
    type_id: int | None = None
    outcome: str | None = None
    review: str | None = None  # one of REVIEWS
    start: dt.date | None = None  # office days, both included
    end: dt.date | None = None

    def args(self) -> dict:
        """The filters as URL arguments (None left out by the pager)."""
        return {"type": self.type_id, "outcome": self.outcome, "review": self.review,
                "from": self.start.isoformat(), "to": self.end.isoformat()}


def filters_from(args, today: dt.date | None = None) -> DecisionFilters:
    """The filters in the URL, each checked; anything unreadable is no filter, and the range is at most MAX_DAYS
    (default: the last DEFAULT_DAYS days to today)."""
    today = today or local_today()
    lowest, highest = dt.date(1900, 1, 1), today + dt.timedelta(days=MAX_DAYS)  # dates any clock can hold

    def within(day):
        return None if day is None else min(max(day, lowest), highest)

    end = within(params.arg_date("to", source=args)) or today
    start = within(params.arg_date("from", source=args)) or end - dt.timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        start, end = end, start
    start = max(start, end - dt.timedelta(days=MAX_DAYS - 1))
    return DecisionFilters(params.arg_id("type", source=args), params.arg_choice("outcome", OUTCOMES, source=args),
                           params.arg_choice("review", REVIEWS, source=args), start, end)


def _bounds(filters: DecisionFilters) -> tuple[dt.datetime, dt.datetime]:
    return day_bounds(filters.start)[0], day_bounds(filters.end)[1]


def decisions(filters: DecisionFilters, after=None, size: int = PAGE_SIZE):
    """One page of the automatic decisions matching `filters`, newest first, and the next page's key."""
    start, end = _bounds(filters)
    query = (AutoDecision.select(AutoDecision, Request, RequestType, Citizen, AutoRule)
             .join_from(AutoDecision, Request).join_from(Request, Citizen)
             .join_from(AutoDecision, RequestType, on=(AutoDecision.request_type == RequestType.id))
             .join_from(AutoDecision, AutoRule, join_type=JOIN.LEFT_OUTER, on=(AutoDecision.rule == AutoRule.id))
             .where((AutoDecision.created_at >= start) & (AutoDecision.created_at < end)))
    if filters.type_id:
        query = query.where(AutoDecision.request_type == filters.type_id)
    if filters.outcome:
        query = query.where(AutoDecision.outcome == filters.outcome)
    if filters.review == "awaiting":
        query = query.where((AutoDecision.outcome == "eligible") & AutoDecision.sampled
                            & AutoDecision.review_outcome.is_null())
    elif filters.review == "sampled":
        query = query.where(AutoDecision.sampled)
    elif filters.review in ("reversed", "confirmed"):
        query = query.where(AutoDecision.review_outcome == filters.review)
    return paging.page(query, AutoDecision.id, after, size, descending=True)


def request_types() -> list:
    """The active request types, for the filter."""
    return list(RequestType.select().where(RequestType.active).order_by(RequestType.id))


def awaiting_review() -> int:
    """How many sampled decisions wait for a person, whenever they were made."""
    return (AutoDecision.select().where((AutoDecision.outcome == "eligible") & AutoDecision.sampled
                                        & AutoDecision.review_outcome.is_null()).count())


@dataclasses.dataclass
class Figures:
    received: int
    automatic: int  # of those received, decided automatically
    share: float | None  # percent
    reversed: int
    median_seconds: float | None  # receipt to the automatic decision
    median_days: float | None  # receipt to the first accept by a person
    people_decided: int
    money: list  # controls.TypeControls, per active type


def _median(values):
    return statistics.median(values) if values else None


def figures(filters: DecisionFilters, now: dt.datetime | None = None) -> Figures:
    """The figures of the requests received in the filters' range (of the filtered type, if any)."""
    start, end = _bounds(filters)
    received = Request.select().where((Request.received_at >= start) & (Request.received_at < end))
    if filters.type_id:
        received = received.where(Request.request_type == filters.type_id)
    total = received.count()
    automatic = (AutoDecision.select(AutoDecision.decided_at, Request.received_at, AutoDecision.review_outcome)
                 .join(Request).where((AutoDecision.outcome == "eligible") & (Request.received_at >= start)
                                      & (Request.received_at < end)))
    if filters.type_id:
        automatic = automatic.where(AutoDecision.request_type == filters.type_id)
    pairs = list(automatic.tuples())
    seconds = [(decided - at).total_seconds() for decided, at, _review in pairs if decided is not None]
    system = Staff.get_or_none(Staff.username == pending.SYSTEM_USERNAME)
    first = (HistoryEntry.select(Request.received_at, fn.MIN(HistoryEntry.created_at))
             .join(Request, on=(HistoryEntry.request == Request.id))
             .where(HistoryEntry.action.in_(_PERSON_DECIDES) & (Request.received_at >= start)
                    & (Request.received_at < end))
             .group_by(Request.id, Request.received_at))
    if system is not None:
        first = first.where(HistoryEntry.actor != system.id)
    if filters.type_id:
        first = first.where(Request.request_type == filters.type_id)
    days = [(decided - at).total_seconds() / 86400 for at, decided in first.tuples() if decided is not None]
    return Figures(total, len(pairs), round(100 * len(pairs) / total, 1) if total else None,
                   sum(1 for *_rest, review in pairs if review == "reversed"), _median(seconds), _median(days),
                   len(days), controls.overview(now))
