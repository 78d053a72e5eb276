"""What the supervisor's dashboard shows, for a period and optionally one department: the period's steps per
department and request type, walk-in against electronic, the answers of the period against the target (share in
time, median and 90th percentile of the days taken: seed 004's "all answered within 45 days"), the open items now
(time left, age, who holds them, what will breach the target this week), and the series its charts draw. Every figure comes from `figures` (counted days, today live) and
`open_work` (the open work counted as it changes), so the page costs the same at a million requests as at ten thousand.
"""
import datetime as dt
from dataclasses import dataclass, field

from intranet.i18n import lazy_gettext as _l

from intranet import reference
from intranet.models.requests import OPEN_SLA_STATES
from intranet.models import Department, Governorate, RequestType, Staff
from intranet.models.stats import EVENTS
from intranet.staff import absence
from intranet.stats import figures, open_work
from intranet.stats.forms import WEEK_STARTS

PERIODS = {"today": _l("Today"), "week": _l("This week"), "month": _l("This month"), "range": _l("Chosen range")}
TREND_DAYS = 14  # a period shorter than this draws its trend over the last fortnight
MAX_RANGE_DAYS = 3 * 366


class PeriodInvalid(ValueError):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


@dataclass
class Period:
    key: str
    start: dt.date
    end: dt.date

    @property
    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=n) for n in range((self.end - self.start).days + 1)]


def _date(text, name):
    try:
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise PeriodInvalid(_l("Write the %(name)s date as YYYY-MM-DD.", name=name)) from None


def period_from(args, today: dt.date) -> Period:
    """The period the URL asks for (today by default); a range must be real, in order, not in the future and at
    most three years long."""
    key = args.get("period") if args.get("period") in PERIODS else "today"
    if key == "today":
        return Period(key, today, today)
    if key == "week":
        return Period(key, today - dt.timedelta(days=(today.weekday() - WEEK_STARTS) % 7), today)
    if key == "month":
        return Period(key, today.replace(day=1), today)
    start, end = _date(args.get("from"), _l("first")), _date(args.get("to"), _l("last"))
    if end < start:
        raise PeriodInvalid(_l("The last day comes before the first."))
    if end > today:
        raise PeriodInvalid(_l("The range cannot end after today."))
    if (end - start).days > MAX_RANGE_DAYS:
        raise PeriodInvalid(_l("Choose a range of at most three years."))
    return Period(key, start, end)


@dataclass
class Row:
    """One department and request type: the period's steps and the open items now by time left."""
    department: Department
    request_type: RequestType
    events: dict = field(default_factory=lambda: dict.fromkeys(EVENTS, 0))
    open: dict = field(default_factory=lambda: dict.fromkeys(OPEN_SLA_STATES, 0))
    answers: figures.AnswerTimes = field(default_factory=figures.AnswerTimes)  # answered in the period

    @property
    def open_total(self) -> int:
        return sum(self.open.values())

    @property
    def will_breach(self) -> int:
        """Open now, clock running, due within the week: at risk (the one rule's AT_RISK_DAYS)."""
        return self.open["at_risk"]


_by_id = reference.by_id


def build(period: Period, department=None, now=None) -> dict:
    live: dict = {}  # each uncounted day's history counted once for all the groupings below
    counts = figures.counts(period.start, period.end, by=("department", "request_type"), department=department,
                            live=live)
    open_now = open_work.open_now(department=department, now=now)
    rows = {}
    for (dept_id, type_id), events in counts.items():
        rows[(dept_id, type_id)] = Row(_by_id(Department, dept_id), _by_id(RequestType, type_id), dict(events))
    for (dept_id, type_id), states in open_now["by_type"].items():
        row = rows.setdefault((dept_id, type_id), Row(_by_id(Department, dept_id), _by_id(RequestType, type_id)))
        row.open = dict(states)
    answered = figures.answer_times(period.start, period.end, department=department)
    for (dept_id, type_id), times in answered.items():
        row = rows.setdefault((dept_id, type_id), Row(_by_id(Department, dept_id), _by_id(RequestType, type_id)))
        row.answers = times
    ordered = sorted(rows.values(), key=lambda r: (r.department.id, r.request_type.id))
    totals = Row(None, None)
    for row in ordered:
        for event in EVENTS:
            totals.events[event] += row.events[event]
        for state in OPEN_SLA_STATES:
            totals.open[state] += row.open[state]
        totals.answers.merge(row.answers)

    channels = figures.counts(period.start, period.end, by=("channel",), department=department, live=live)
    trend_start = min(period.start, period.end - dt.timedelta(days=TREND_DAYS - 1))
    trend_days = Period("trend", trend_start, period.end).days
    by_day = figures.counts(trend_start, period.end, by=("day",), department=department, live=live)
    governorates = figures.counts(period.start, period.end, by=("governorate",), department=department, live=live)
    snapshots = figures.snapshots(trend_start, period.end, department=department)
    clerks = []
    away = absence.absent_until(staff_id for staff_id, _dept in open_now["clerks"])
    for (staff_id, dept_id), (held, overdue, at_risk) in open_now["clerks"].items():
        staff = _by_id(Staff, staff_id)
        if staff is not None:  # `absent_until`: their absence's last day when away today (issue 18: rebalance)
            clerks.append({"staff": staff, "department": _by_id(Department, dept_id), "held": held,
                           "overdue": overdue, "at_risk": at_risk, "absent_until": away.get(staff_id)})
    clerks.sort(key=lambda c: (-c["overdue"], -c["held"], c["staff"].full_name))
    names = {g.id: g for g in Governorate.select()}
    return {
        "rows": ordered, "totals": totals,
        "channels": {key[0]: value["received"] for key, value in channels.items()},
        "trend": {"days": trend_days,
                  "received": [by_day.get((day,), {}).get("received", 0) for day in trend_days],
                  "completed": [by_day.get((day,), {}).get("completed", 0) for day in trend_days]},
        "sla_days": [day for day in trend_days if day in snapshots],
        "sla": snapshots,
        "ages": open_now["ages"],
        "governorates": sorted(((names.get(key[0]), value["received"]) for key, value in governorates.items()
                                if key[0] in names), key=lambda pair: -pair[1]),
        "clerks": clerks,
        "answer_days": totals.answers.buckets(),
    }
