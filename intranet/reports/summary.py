"""The daily summary of a day D: a cover for the institution and one page per department, every figure as it
stood at the end of D (counts from history, open items as they were then), so that producing it again later
gives the same past_state. With them the target (seed 004: "answered within 45 days"): the answers of D's month up to
D's end per department and request type (share in time, median and 90th percentile of the days taken) and the open
items that will breach it in the week after D (at risk, by the one time rule)."""
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from intranet.models.requests import OPEN_SLA_STATES
from intranet.models import Stage
from intranet.reports import past_state
from intranet.stats import figures as stats

EVENTS = ("received", "completed", "returned", "rejected")  # what the page counts, in its columns' order
CHANNELS = ("walk_in", "electronic")
KEY = ("department", "request_type", "channel")  # how the day's counts are grouped
OLDEST_LINES = 10
OVERDUE_LINES = 10  # the page stays one sheet: the rest is counted ("and N more")


def _zeros():
    return {channel: dict.fromkeys(EVENTS, 0) for channel in CHANNELS}


@dataclass
class DepartmentPage:
    department: object
    by_type: dict = field(default_factory=dict)  # request type id -> {channel: {event: n}}
    totals: dict = field(default_factory=_zeros)  # {channel: {event: n}}
    sla: dict = field(default_factory=lambda: dict.fromkeys(OPEN_SLA_STATES, 0))
    answers: dict = field(default_factory=dict)  # request type id -> stats.AnswerTimes (the month to D's end)
    will_breach: dict = field(default_factory=dict)  # request type id -> open items at risk at D's end
    oldest: list = field(default_factory=list)
    overdue: list = field(default_factory=list)
    overdue_more: int = 0

    @property
    def open_total(self) -> int:
        return sum(self.sla.values())

    def event_total(self, event: str) -> int:
        return sum(self.totals[channel][event] for channel in CHANNELS)

    @property
    def answer_types(self) -> list:
        """The request types with an answer or an open item at risk, in the page's order."""
        return [t for t in self.by_type if t in self.answers or self.will_breach.get(t)]

    @property
    def answers_total(self):
        return _merged(self.answers.values())

    def answers_of(self, type_id):
        return self.answers.get(type_id) or stats.AnswerTimes()


def _merged(times):
    total = stats.AnswerTimes()
    for one in times:
        total.merge(one)
    return total


@dataclass
class DailySummary:
    day: dt.date
    pages: list
    totals: dict
    sla: dict
    visitors: dict

    @property
    def answers_total(self):
        return _merged(page.answers_total for page in self.pages)

    @property
    def month_start(self) -> dt.date:
        return self.day.replace(day=1)

    def event_total(self, event: str) -> int:
        return sum(self.totals[channel][event] for channel in CHANNELS)


def build(day: dt.date) -> DailySummary:
    """The summary of `day` as it stood at its end."""
    start, end = stats.day_bounds(day)
    pages = {dept.id: DepartmentPage(dept) for dept in past_state.departments()}
    for type_id, dept_id in Stage.select(Stage.request_type, Stage.department).order_by(Stage.request_type).tuples():
        pages[dept_id].by_type.setdefault(type_id, _zeros())
    totals = _zeros()
    for (dept_id, type_id, channel), events in stats.counts(day, day, by=KEY).items():
        page = pages.get(dept_id)
        if page is None or channel not in CHANNELS:
            continue
        row = page.by_type.setdefault(type_id, _zeros())
        for event in EVENTS:
            row[channel][event] += events.get(event, 0)
            page.totals[channel][event] += events.get(event, 0)
            totals[channel][event] += events.get(event, 0)
    for (dept_id, type_id), times in stats.answer_times(day.replace(day=1), day).items():
        if dept_id in pages:
            pages[dept_id].answers[type_id] = times
            pages[dept_id].by_type.setdefault(type_id, _zeros())
    sla = dict.fromkeys(OPEN_SLA_STATES, 0)
    _open_items(pages, past_state.open_at(end), sla)
    return DailySummary(day, list(pages.values()), totals, sla, past_state.visitors(start, end))


def _open_items(pages: dict, items: list, sla: dict):
    by_department = defaultdict(list)
    for item in items:
        by_department[item.department_id].append(item)
        sla[item.state] += 1
    for dept_id, held in by_department.items():
        page = pages.get(dept_id)
        if page is None:
            continue
        for item in held:
            page.sla[item.state] += 1
            if item.state == "at_risk":
                page.will_breach[item.request_type_id] = page.will_breach.get(item.request_type_id, 0) + 1
        page.oldest = sorted(held, key=lambda item: (item.received_at, item.id))[:OLDEST_LINES]
        late = sorted((item for item in held if item.state == "overdue"), key=lambda item: (item.due_at, item.id))
        page.overdue, page.overdue_more = late[:OVERDUE_LINES], max(0, len(late) - OVERDUE_LINES)
