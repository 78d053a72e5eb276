"""The figures supervisors and management read: counted from history, never from current state alone.

A local day is counted once it is over (`count_day`: one GROUP BY over that day's history, by the index on
`history.created_at`), and its rows replace whatever was counted for it before, so counting again gives the same
figures. Today is counted by the hourly job up to its last full hour (`count_so_far`: the same rows, the day's
`CountedDay.counted_to` saying up to when; replaced each hour, and by the whole day once it is over), and the rest
of it live: a reader adds the history since `counted_to`, an hour's steps instead of a day's, split at the same
moment, so the sum is what counting the whole day gives. A range sums the counted days and counts the others live,
so a figure never waits for the job. The open items at the end of a day come from the requests' own dates (received, closed, due):
open if received before the day ended and not closed by then; where it stood by the one time rule
(`Request.sla_case`: paused, overdue, at risk, on track).
"""
import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

from peewee import JOIN, SQL, Case, fn

from intranet.config import setting
from intranet.db import transaction
from intranet.models.requests import OPEN_SLA_STATES
from intranet.models import HistoryEntry, Request, RequestType, Stage, utcnow
from intranet.models.stats import EVENTS, AnswerCount, CountedDay, DailyCount, OpenSnapshot

KEYS = ("department", "request_type", "channel", "governorate")
SNAPSHOT_DAYS = 90  # how far back the first count writes end-of-day snapshots (the SLA chart's longest range)
AGE_BUCKETS = ((0, 7), (8, 14), (15, 30), (31, 45), (46, None))  # days since received
# GROUP BY the selected columns by position: PostgreSQL does not see two CASE expressions with parameters as one
ORDINALS = tuple(SQL(str(n)) for n in range(1, 7))


def zone() -> ZoneInfo:
    return ZoneInfo(setting("TIMEZONE"))


def local_today(now: dt.datetime | None = None) -> dt.date:
    return (now or utcnow()).replace(tzinfo=dt.timezone.utc).astimezone(zone()).date()


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The local day as naive UTC times [start, end)."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=zone())
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone())
    return (start.astimezone(dt.timezone.utc).replace(tzinfo=None),
            end.astimezone(dt.timezone.utc).replace(tzinfo=None))


# --- what happened on a day ------------------------------------------------------------------------------

def _event():
    return Case(None, [
        (HistoryEntry.action == "submit", "received"),
        # accepted at the last stage, or an inquiry answered (at the desk or by its department)
        (HistoryEntry.completed_it(), "completed"),
        (HistoryEntry.action == "accept", "accepted"),
        (HistoryEntry.action == "return", "returned"),
        (HistoryEntry.action == "reject", "rejected"),
        (HistoryEntry.action == "resubmit", "resubmitted"),
    ])


def count_day(day: dt.date, since: dt.datetime | None = None, until: dt.datetime | None = None) -> list[tuple]:
    """(department, request_type, channel, governorate, event, count) for one local day, from its history (only
    from `since` and before `until`, naive UTC, when given: a part of the day). The
    department is the one that held the request when the step was taken, as its history row recorded it (a
    submission: the department it was routed to; after a transfer: the department it went to), as the queue and the
    open work count it; rows from before migration 0024 count under their stage's department."""
    start, end = day_bounds(day)
    return [tuple(row) for row in count_query(max(start, since or start), min(end, until or end)).tuples()]


def count_query(start: dt.datetime, end: dt.datetime):
    """The GROUP BY of `count_day` over [start, end), naive UTC (a day or a part of one)."""
    event = _event()
    stage = fn.COALESCE(HistoryEntry.from_stage, HistoryEntry.to_stage)
    query = (HistoryEntry
             .select(HistoryEntry.counted_department(Stage.department), Request.request_type, Request.channel,
                     Request.governorate, event,
                     fn.COUNT(HistoryEntry.id))
             .join(Request, on=(HistoryEntry.request == Request.id))
             .join(Stage, on=(Stage.id == stage), join_type=JOIN.INNER)
             .where((HistoryEntry.created_at >= start) & (HistoryEntry.created_at < end)
                    & HistoryEntry.action.in_(("submit", "accept", "answer", "return", "reject", "resubmit")))
             .group_by(*ORDINALS[:5]))
    return query


def open_at(moment: dt.datetime) -> list[tuple]:
    """(department, request_type, state, count) of the requests open at `moment` (naive UTC): received before
    it and not closed by then; their state by the one rule at that moment (a request's due date as it stands). Two
    queries, each with its index: those still open (the partial indexes over open work) and those closed since
    (`request_closed_since`)."""
    state = Request.sla_case(moment)
    found: dict[tuple, int] = defaultdict(int)
    for still in (Request.closed_at.is_null(), Request.closed_at >= moment):
        query = (Request.select(Request.department, Request.request_type, state, fn.COUNT(Request.id))
                 .where(still & (Request.received_at < moment)).group_by(*ORDINALS[:3]))
        for department, request_type, sla, count in query.tuples():
            found[(department, request_type, sla)] += count
    return [(*key, count) for key, count in found.items()]


def close_day(day: dt.date, snapshot: bool = True) -> int:
    """Count a day that is over (again: the rows replace the day's), with its answers and its end-of-day
    snapshot."""
    return _write_day(day, None, snapshot)


def count_so_far(now: dt.datetime | None = None) -> dt.datetime:
    """Today counted up to the last full hour before `now` (naive UTC; the hourly job, after `close_missing`): its
    rows replace those of the hour before, `counted_to` says up to when; returns that moment."""
    now = now or utcnow()
    today = local_today(now)
    until = max(day_bounds(today)[0], now.replace(minute=0, second=0, microsecond=0))
    _write_day(today, until, snapshot=False)
    return until


def _write_day(day: dt.date, until: dt.datetime | None, snapshot: bool) -> int:
    """The day's rows (up to `until`: a part of today), written in place of its rows before. The day's CountedDay
    row is written first: two consumers counting the same day at once take their turns on it."""
    rows = count_day(day, until=until)
    with transaction():
        CountedDay.insert(day=day, counted_at=utcnow(), answers=True, counted_to=until).on_conflict(
            conflict_target=[CountedDay.day], update={CountedDay.counted_at: utcnow(), CountedDay.answers: True,
                                                      CountedDay.counted_to: until}
        ).execute()
        DailyCount.delete().where(DailyCount.day == day).execute()
        DailyCount.insert_many([{"day": day, "department": d, "request_type": t, "channel": c, "governorate": g,
                                 "event": e, "count": n} for d, t, c, g, e, n in rows]).execute() if rows else None
        _write_answers(day, until)
        if snapshot:
            OpenSnapshot.delete().where(OpenSnapshot.day == day).execute()
            opened = open_at(day_bounds(day)[1])
            if opened:
                OpenSnapshot.insert_many([{"day": day, "department": d, "request_type": t, "state": s, "count": n}
                                          for d, t, s, n in opened]).execute()
    return len(rows)


def _write_answers(day: dt.date, until: dt.datetime | None = None):
    AnswerCount.delete().where(AnswerCount.day == day).execute()
    start, end = day_bounds(day)
    rows = _answer_rows(start, min(end, until or end))
    if rows:
        AnswerCount.insert_many([{"day": day, "department": d, "request_type": t, "days": n, "in_time": i,
                                  "count": c} for d, t, n, i, c in rows]).execute()


def close_missing(today: dt.date | None = None) -> list[dt.date]:
    """Count every day before today not counted yet, from the first day in history (snapshots for the last
    SNAPSHOT_DAYS only), and the answers of days counted before they were kept (migration 0014); returns the days
    counted."""
    today = today or local_today()
    first = HistoryEntry.select(fn.MIN(HistoryEntry.created_at)).scalar()
    if first is None:
        return []
    day = local_today(first)
    counted = dict(CountedDay.select(CountedDay.day, CountedDay.answers).where(
        (CountedDay.day >= day) & CountedDay.counted_to.is_null()).tuples())  # a day counted in part: not yet
    done = []
    while day < today:
        if day not in counted:
            close_day(day, snapshot=(today - day).days <= SNAPSHOT_DAYS)
            done.append(day)
        elif not counted[day]:
            with transaction():
                _write_answers(day)
                CountedDay.update(answers=True).where(CountedDay.day == day).execute()
        day += dt.timedelta(days=1)
    return done


# --- sums over a range -----------------------------------------------------------------------------------

def counts(start: dt.date, end: dt.date, by=("department", "request_type"), department=None,
           request_type=None, live: dict | None = None) -> dict[tuple, dict[str, int]]:
    """{key: {event: count}} over the local days [start, end], grouped by `by` (among "day" and KEYS): the
    counted days from their rows, the others (today, or a day the job has not reached) live from history.
    `live` (a dict) keeps each live day's rows for the next call: a page grouping the same days several ways."""
    live = {} if live is None else live
    assert set(by) <= {"day", *KEYS}, by
    today = local_today()
    # {day: None (counted whole) or the moment it is counted up to}
    counted = dict(CountedDay.select(CountedDay.day, CountedDay.counted_to).where(
        (CountedDay.day >= start) & (CountedDay.day <= end)).tuples())
    totals: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(EVENTS, 0))
    columns = [getattr(DailyCount, key) for key in by]
    query = (DailyCount.select(*columns, DailyCount.event, fn.SUM(DailyCount.count))
             .where((DailyCount.day >= start) & (DailyCount.day <= end))
             .group_by(*columns, DailyCount.event))
    if department is not None:
        query = query.where(DailyCount.department == department)
    if request_type is not None:
        query = query.where(DailyCount.request_type == request_type)
    for *key, event, count in query.tuples():
        totals[tuple(key)][event] += int(count)
    day = start
    while day <= min(end, today):
        if day not in counted or counted[day] is not None:
            since = counted.get(day)  # the part of the day after the job's count, or all of it
            if (day, since) not in live:
                live[(day, since)] = count_day(day, since=since)
            for d, t, c, g, event, count in live[(day, since)]:
                values = {"day": day, "department": d, "request_type": t, "channel": c, "governorate": g}
                if (department is None or d == department) and (request_type is None or t == request_type):
                    totals[tuple(values[key] for key in by)][event] += count
        day += dt.timedelta(days=1)
    return dict(totals)


def snapshots(start: dt.date, end: dt.date, department=None) -> dict[dt.date, dict[str, int]]:
    """{day: {state: open items at the end of the day}} for the counted days of the range."""
    query = (OpenSnapshot.select(OpenSnapshot.day, OpenSnapshot.state, fn.SUM(OpenSnapshot.count))
             .where((OpenSnapshot.day >= start) & (OpenSnapshot.day <= end))
             .group_by(OpenSnapshot.day, OpenSnapshot.state))
    if department is not None:
        query = query.where(OpenSnapshot.department == department)
    found: dict[dt.date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(OPEN_SLA_STATES, 0))
    for day, state, count in query.tuples():
        found[day][state] = int(count)
    return dict(found)


# --- open work now: stats/open_work.py (counted as it changes) --------------------------------------------


# --- answered within the target (seed 004: "all 1,519 requests answered within 45 days") -------------------

class AnswerTimes:
    """How long the answers took: {days the clock ran: count} and how many were in time (`Request.answered_in_time`,
    the one rule). Days are whole days begun (44 days and 2 hours is 45), so "within 45 days" reads as a person
    reads it; percentiles are the nearest rank (the smallest day count that at least p % of the answers reach)."""

    def __init__(self):
        self.days: dict[int, int] = defaultdict(int)
        self.in_time = 0

    def add(self, days: int, count: int, in_time: bool):
        self.days[max(0, int(days))] += count
        self.in_time += count if in_time else 0

    def __eq__(self, other):
        return isinstance(other, AnswerTimes) and (dict(self.days), self.in_time) == (dict(other.days), other.in_time)

    def __repr__(self):
        return f"AnswerTimes(days={dict(sorted(self.days.items()))}, in_time={self.in_time})"

    def merge(self, other: "AnswerTimes") -> "AnswerTimes":
        for days, count in other.days.items():
            self.days[days] += count
        self.in_time += other.in_time
        return self

    @property
    def total(self) -> int:
        return sum(self.days.values())

    @property
    def late(self) -> int:
        return self.total - self.in_time

    @property
    def share_in_time(self) -> float | None:
        """0..1, None when nothing was answered."""
        return self.in_time / self.total if self.total else None

    def percentile(self, p: float) -> int | None:
        return percentile(self.days, p)

    @property
    def median(self) -> int | None:
        return self.percentile(50)

    @property
    def p90(self) -> int | None:
        return self.percentile(90)

    def buckets(self, limits=AGE_BUCKETS) -> dict[tuple, int]:
        """The answers per range of days (the age buckets: 0-7, 8-14, 15-30, 31-45, over 45)."""
        found = dict.fromkeys(limits, 0)
        for days, count in self.days.items():
            found[next(b for b in limits if b[1] is None or days <= b[1])] += count
        return found


def percentile(histogram: dict[int, int], p: float) -> int | None:
    """The nearest-rank p-th percentile of the values counted in `histogram` ({value: count}): the smallest value
    whose cumulative count reaches ceil(p/100 * n); None when empty."""
    total = sum(histogram.values())
    if not total:
        return None
    rank = max(1, -(-total * p // 100))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return max(histogram)


def _answer_rows(start: dt.datetime, end: dt.datetime, department=None) -> list[tuple]:
    """(department, request type, clock days taken, in time, count) of the requests answered (completed or
    rejected) in [start, end), naive UTC, in the department that answered them: one grouped query by
    `request_closed_since`, a row per department, type, day count and in time or not (a few hundred)."""
    return [(dept, type_id, max(0, int(n)), bool(in_time), int(count))
            for dept, type_id, n, in_time, count in answer_query(start, end, department).tuples()]


def answer_query(start: dt.datetime, end: dt.datetime, department=None):
    """The GROUP BY of `_answer_rows`."""
    days = RequestType.sla_days + Request.days_late()
    query = (Request.select(Request.department, Request.request_type, days, Request.answered_in_time(),
                            fn.COUNT(Request.id))
             .join(RequestType, on=(Request.request_type == RequestType.id))
             .where((Request.closed_at >= start) & (Request.closed_at < end))
             .group_by(*ORDINALS[:4]))
    if department is not None:
        query = query.where(Request.department == department)
    return query


def answer_times(start: dt.date, end: dt.date, department=None) -> dict[tuple, AnswerTimes]:
    """{(department, request type): AnswerTimes} of the requests answered on the local days [start, end]: the
    counted days from their `AnswerCount` rows, the others (today, a day the job has not reached) live."""
    found: dict[tuple, AnswerTimes] = defaultdict(AnswerTimes)
    # {day: None (counted whole) or the moment it is counted up to}
    counted = dict(CountedDay.select(CountedDay.day, CountedDay.counted_to).where(
        (CountedDay.day >= start) & (CountedDay.day <= end) & (CountedDay.answers == True)).tuples())  # noqa: E712
    query = (AnswerCount.select(AnswerCount.department, AnswerCount.request_type, AnswerCount.days,
                                AnswerCount.in_time, fn.SUM(AnswerCount.count))
             .join(CountedDay, on=(CountedDay.day == AnswerCount.day))
             .where((AnswerCount.day >= start) & (AnswerCount.day <= end) & (CountedDay.answers == True))  # noqa: E712 (peewee builds SQL from ==)
             .group_by(AnswerCount.department, AnswerCount.request_type, AnswerCount.days, AnswerCount.in_time))
    if department is not None:
        query = query.where(AnswerCount.department == department)
    rows = [(d, t, n, bool(i), int(c)) for d, t, n, i, c in query.tuples()]
    day, today = start, local_today()
    while day <= min(end, today):  # the uncounted days, in runs: one query per run of days
        if day in counted:
            if counted[day] is not None:  # counted in part (today): the rest of it
                rows += _answer_rows(counted[day], day_bounds(day)[1], department)
            day += dt.timedelta(days=1)
            continue
        run_end = day
        while run_end + dt.timedelta(days=1) <= min(end, today) and run_end + dt.timedelta(days=1) not in counted:
            run_end += dt.timedelta(days=1)
        rows += _answer_rows(day_bounds(day)[0], day_bounds(run_end)[1], department)
        day = run_end + dt.timedelta(days=1)
    for dept, type_id, days, in_time, count in rows:
        found[(dept, type_id)].add(days, count, in_time)
    return dict(found)
