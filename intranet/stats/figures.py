"""The figures supervisors and management read: counted from history, never from current state alone.

A local day is counted once it is over (`count_day`: one GROUP BY over that day's history, by the index on
`history.created_at`), and its rows replace whatever was counted for it before, so counting again gives the same
figures. Today is counted live. A range sums the counted days and counts the others live, so a figure never
waits for the job. The open items at the end of a day come from the requests' own dates (received, closed, due):
open if received before the day ended and not closed by then; overdue if its answer was due before then.
"""
import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

from peewee import JOIN, SQL, Case, fn

from intranet.config import setting
from intranet.db import is_sqlite, transaction
from intranet.models import HistoryEntry, Request, Stage, utcnow
from intranet.models.stats import EVENTS, SLA_STATES, CountedDay, DailyCount, OpenSnapshot
from intranet.queues.filters import AT_RISK_DAYS

KEYS = ("department", "request_type", "channel", "governorate")
SNAPSHOT_DAYS = 90  # how far back the first count writes end-of-day snapshots (the SLA chart's longest range)
AGE_BUCKETS = ((0, 7), (8, 14), (15, 30), (31, 45), (46, None))  # days since received
# GROUP BY the selected columns by position: PostgreSQL does not see two CASE expressions with parameters as one
ORDINALS = tuple(SQL(str(n)) for n in range(1, 7))


def zone() -> ZoneInfo:
    return ZoneInfo(setting("TIMEZONE", "Asia/Qatar"))


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
        ((HistoryEntry.action == "accept") & (HistoryEntry.to_status == "completed"), "completed"),
        (HistoryEntry.action == "accept", "accepted"),
        (HistoryEntry.action == "return", "returned"),
        (HistoryEntry.action == "reject", "rejected"),
        (HistoryEntry.action == "resubmit", "resubmitted"),
    ])


def count_day(day: dt.date) -> list[tuple]:
    """(department, request_type, channel, governorate, event, count) for one local day, from its history. The
    department is the stage's where the step happened (the first stage's for a submission)."""
    start, end = day_bounds(day)
    event = _event()
    stage = fn.COALESCE(HistoryEntry.from_stage, HistoryEntry.to_stage)
    query = (HistoryEntry
             .select(Stage.department, Request.request_type, Request.channel, Request.governorate, event,
                     fn.COUNT(HistoryEntry.id))
             .join(Request, on=(HistoryEntry.request == Request.id))
             .join(Stage, on=(Stage.id == stage), join_type=JOIN.INNER)
             .where((HistoryEntry.created_at >= start) & (HistoryEntry.created_at < end)
                    & HistoryEntry.action.in_(("submit", "accept", "return", "reject", "resubmit")))
             .group_by(*ORDINALS[:5]))
    return [tuple(row) for row in query.tuples()]


def open_at(moment: dt.datetime) -> list[tuple]:
    """(department, request_type, state, count) of the requests open at `moment` (naive UTC): received before
    it and not closed by then; their state by the answer date then (a request's due date as it stands). Two
    queries, each with its index: those still open (the partial indexes over open work) and those closed since
    (`request_closed_since`)."""
    soon = moment + dt.timedelta(days=AT_RISK_DAYS)
    state = Case(None, [(Request.due_at < moment, "overdue"), (Request.due_at <= soon, "at_risk")], "on_track")
    found: dict[tuple, int] = defaultdict(int)
    for still in (Request.closed_at.is_null(), Request.closed_at >= moment):
        query = (Request.select(Request.department, Request.request_type, state, fn.COUNT(Request.id))
                 .where(still & (Request.received_at < moment)).group_by(*ORDINALS[:3]))
        for department, request_type, sla, count in query.tuples():
            found[(department, request_type, sla)] += count
    return [(*key, count) for key, count in found.items()]


def close_day(day: dt.date, snapshot: bool = True) -> int:
    """Count a day that is over (again: the rows replace the day's), with its end-of-day snapshot."""
    rows = count_day(day)
    with transaction():
        DailyCount.delete().where(DailyCount.day == day).execute()
        DailyCount.insert_many([{"day": day, "department": d, "request_type": t, "channel": c, "governorate": g,
                                 "event": e, "count": n} for d, t, c, g, e, n in rows]).execute() if rows else None
        if snapshot:
            OpenSnapshot.delete().where(OpenSnapshot.day == day).execute()
            opened = open_at(day_bounds(day)[1])
            if opened:
                OpenSnapshot.insert_many([{"day": day, "department": d, "request_type": t, "state": s, "count": n}
                                          for d, t, s, n in opened]).execute()
        CountedDay.insert(day=day, counted_at=utcnow()).on_conflict(
            conflict_target=[CountedDay.day], update={CountedDay.counted_at: utcnow()}).execute()
    return len(rows)


def close_missing(today: dt.date | None = None) -> list[dt.date]:
    """Count every day before today not counted yet, from the first day in history (snapshots for the last
    SNAPSHOT_DAYS only); returns the days counted."""
    today = today or local_today()
    first = HistoryEntry.select(fn.MIN(HistoryEntry.created_at)).scalar()
    if first is None:
        return []
    day = local_today(first)
    counted = {row.day for row in CountedDay.select(CountedDay.day).where(CountedDay.day >= day)}
    done = []
    while day < today:
        if day not in counted:
            close_day(day, snapshot=(today - day).days <= SNAPSHOT_DAYS)
            done.append(day)
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
    counted = {row.day for row in CountedDay.select(CountedDay.day).where(
        (CountedDay.day >= start) & (CountedDay.day <= end))}
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
        if day not in counted:
            if day not in live:
                live[day] = count_day(day)
            for d, t, c, g, event, count in live[day]:
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
    found: dict[dt.date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SLA_STATES, 0))
    for day, state, count in query.tuples():
        found[day][state] = int(count)
    return dict(found)


# --- open work now ---------------------------------------------------------------------------------------

def open_now(department=None, now: dt.datetime | None = None) -> dict:
    """The open items now (the partial indexes over open work): per (department, type) their SLA states, per
    age bucket, and per (clerk, department) their workload and overdue count."""
    now = now or utcnow()
    soon = now + dt.timedelta(days=AT_RISK_DAYS)
    paused = Request.paused_at.is_null(False)
    state = Case(None, [(paused, "on_track"), (Request.due_at < now, "overdue"), (Request.due_at <= soon, "at_risk")],
                 "on_track")
    def base(index):
        """Open work, read from `index` on SQLite: a partial index over open work that holds every column the query
        needs (the planner would pick a narrower one and read the table for each of tens of thousands of rows)."""
        query = Request.select().where(Request.closed_at.is_null())
        if is_sqlite():
            query = query.from_(SQL(f'"request" AS "t1" INDEXED BY "{index}"'))
        return query.where(Request.department == department) if department is not None else query
    by_type: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SLA_STATES, 0))
    for dept, type_id, sla, count in (base("request_open_by_due")
                                      .select(Request.department, Request.request_type, state, fn.COUNT(Request.id))
                                      .group_by(*ORDINALS[:3]).tuples()):
        by_type[(dept, type_id)][sla] += count
    bucket = Case(None, [(Request.received_at > now - dt.timedelta(days=high + 1), index)
                         for index, (_, high) in enumerate(AGE_BUCKETS) if high is not None], len(AGE_BUCKETS) - 1)
    counted = dict(base("request_open_by_received").select(bucket, fn.COUNT(Request.id))
                   .group_by(*ORDINALS[:1]).tuples())
    buckets = {limits: counted.get(index, 0) for index, limits in enumerate(AGE_BUCKETS)}
    overdue = fn.SUM(Case(None, [((Request.due_at < now) & Request.paused_at.is_null(), 1)], 0))
    clerks = {(assignee, dept): (count, int(late or 0)) for assignee, dept, count, late in (
        base("request_open_by_due").select(Request.assignee, Request.department, fn.COUNT(Request.id), overdue)
        .where(Request.assignee.is_null(False)).group_by(Request.assignee, Request.department).tuples())}
    return {"by_type": dict(by_type), "ages": buckets, "clerks": clerks}

