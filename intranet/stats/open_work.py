"""The open work now, counted as it changes (issue 21: the dashboard at ten million requests).

Reading the 700,000 open requests' index entries on every view cost 320 ms at 10M. Instead `open_work` holds how many
requests are open per department, type, stage, holder, local due day, local day received and paused or not; each
workflow step that changes one of these changes the count in its own transaction (`moved`, called by
`workflow._apply` and the few steps that write a request otherwise), so the table is as committed as the requests.

The dashboard reads it (`open_now`) with the SLA state of each due day relative to today: a day before today is
overdue, a day after it and before the day `AT_RISK` ahead is at risk, later on track, and a paused request paused
(the one rule, `Request.sla_case`, at the current moment). Only the two boundary days (today, and the day the
at-risk window ends) depend on the hour: the requests due on them are counted from the request table, by the index
over open work by department and due date (a day's due work, not all of it). The ages are whole local days since
the day received (0-7 days: received today or in the seven days before).

`recount` rebuilds the table from the requests (the migration, after a bulk load, `diwan stats recount-open-work`);
`differences` compares without writing (the tests' random walk, the CLI's check)."""
import datetime as dt
from collections import defaultdict

import peewee
from peewee import Case, Value, fn

from intranet.db import before_commit, database, is_sqlite, transaction
from intranet.models import Department, Request, utcnow
from intranet.models.requests import AT_RISK, OPEN_SLA_STATES
from intranet.models.stats import OpenWork
from intranet.stats.figures import AGE_BUCKETS, ORDINALS, day_bounds, local_today

COLUMNS = ("department_id", "request_type_id", "stage_id", "assignee_id", "due_day", "received_day", "paused")
# the request columns a key is made of, and the field names workflow changes them by
KEY_FIELDS = ("department", "request_type", "stage", "assignee", "due_at", "received_at", "paused_at", "closed_at")


def key_of(values: dict) -> tuple | None:
    """The row of `open_work` a request counts in ({field name: value}, ids or rows), None when it is closed."""
    if values["closed_at"] is not None:
        return None
    ids = [getattr(values[name], "id", values[name]) for name in ("department", "request_type", "stage", "assignee")]
    return (*ids[:3], ids[3] or 0, local_today(values["due_at"]), local_today(values["received_at"]),
            values["paused_at"] is not None)


def fields_of(req) -> dict:
    """A Request row's key fields, by name (ids, not rows: nothing is fetched)."""
    return {"department": req.department_id, "request_type": req.request_type_id, "stage": req.stage_id,
            "assignee": req.assignee_id, "due_at": req.due_at, "received_at": req.received_at,
            "paused_at": req.paused_at, "closed_at": req.closed_at}


def moved(before: dict | None, changes: dict | None = None):
    """In the caller's transaction: a request whose key fields were `before` (None: it is new) now has them with
    `changes` applied (None: as `before`; for a new request `changes` are all of them)."""
    moved_many([(before, changes)])


def moved_many(pairs):
    """`moved` for several requests at once (a reassignment, a hand-over). The counts are netted over the whole
    transaction and written at its end (`db.before_commit`: a renewal submitted and completed in one transaction
    changes no count), in one fixed order, so two steps at once never wait on each other's rows the other way round,
    and hold them for the commit only."""
    steps: dict[tuple, int] = defaultdict(int)
    for before, changes in pairs:
        after = {**(before or {}), **{name: value for name, value in (changes or {}).items() if name in KEY_FIELDS}}
        old, new = key_of(before) if before is not None else None, key_of(after)
        if old != new:
            if old is not None:
                steps[old] -= 1
            if new is not None:
                steps[new] += 1
    if any(steps.values()):
        before_commit("open_work", steps, _write)


def _write(all_steps: list[dict]):
    netted: dict[tuple, int] = defaultdict(int)
    for steps in all_steps:
        for key, step in steps.items():
            netted[key] += step
    for key in sorted(key for key, step in netted.items() if step):
        _add(key, netted[key])


_UPSERT: dict = {}


def _add(key: tuple, step: int, db=None):
    db = db or database
    sql = _UPSERT.get(db.param)
    if sql is None:
        names = ", ".join(f'"{name}"' for name in COLUMNS)
        sql = _UPSERT[db.param] = (
            f'INSERT INTO "open_work" ({names}, "count") VALUES ({", ".join([db.param] * (len(COLUMNS) + 1))}) '
            f'ON CONFLICT ({names}) DO UPDATE SET "count" = "open_work"."count" + excluded."count"')
    days = (key[4].isoformat(), key[5].isoformat()) if _sqlite(db) else key[4:6]
    db.execute_sql(sql, (*key[:4], *days, key[6], step))


def _sqlite(db) -> bool:
    return isinstance(getattr(db, "obj", db), peewee.SqliteDatabase)


# --- recount -----------------------------------------------------------------------------------------------

def counted(db=None) -> dict[tuple, int]:
    """{key: open requests} from the request table (one pass over the open work)."""
    db = db or database
    found: dict[tuple, int] = defaultdict(int)
    cursor = db.execute_sql(
        'SELECT "department_id", "request_type_id", "stage_id", "assignee_id", "due_at", "received_at", "paused_at" '
        'FROM "request" WHERE "closed_at" IS NULL')
    field = Request.due_at
    for dept, type_id, stage, assignee, due, received, paused in cursor:
        found[key_of({"department": dept, "request_type": type_id, "stage": stage, "assignee": assignee,
                      "due_at": field.python_value(due), "received_at": field.python_value(received),
                      "paused_at": paused, "closed_at": None})] += 1
    return dict(found)


def kept(db=None) -> dict[tuple, int]:
    """{key: count} as the table holds it (rows at 0 left out)."""
    db = db or database
    cursor = db.execute_sql(f'SELECT {", ".join(COLUMNS)}, "count" FROM "open_work" WHERE "count" <> 0')
    date = OpenWork.due_day
    return {(d, t, s, a, date.python_value(due), date.python_value(received), bool(paused)): count
            for d, t, s, a, due, received, paused, count in cursor}


def differences(db=None) -> dict[tuple, tuple[int, int]]:
    """{key: (kept, counted)} where the table and the requests disagree; empty when they agree."""
    have, want = kept(db), counted(db)
    return {key: (have.get(key, 0), want.get(key, 0)) for key in set(have) | set(want)
            if have.get(key, 0) != want.get(key, 0)}


def recount(db=None) -> int:
    """The table rebuilt from the requests, in one transaction; returns how many keys were wrong. On PostgreSQL the
    table is locked first: a step that has changed a count waits to commit before the requests are read, one that
    has not changes the new rows after (its request change is not seen by the count)."""
    db = db or database
    with db.atomic():
        if not _sqlite(db):
            db.execute_sql('LOCK TABLE "open_work" IN EXCLUSIVE MODE')
        wrong = differences(db)
        db.execute_sql('DELETE FROM "open_work"')
        for key, count in sorted(counted(db).items()):
            _add(key, count, db)
    return len(wrong)


def tidy() -> int:
    """Rows at 0 removed (keys no request holds any more: a due day gone by, a clerk's last item closed)."""
    with transaction():
        return OpenWork.delete().where(OpenWork.count == 0).execute()


# --- the dashboard's figures -------------------------------------------------------------------------------

def open_now(department=None, now: dt.datetime | None = None) -> dict:
    """The open items now: per (department, type) their SLA states, per age bucket, and per (clerk, department)
    their workload, overdue and at-risk counts; from `open_work` and the requests due on the two boundary days."""
    now = now or utcnow()
    by_type: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(OPEN_SLA_STATES, 0))
    held: dict[tuple, list] = defaultdict(lambda: [0, 0, 0])
    ages = dict.fromkeys(AGE_BUCKETS, 0)
    if is_sqlite():
        rows = list(query(department, now).tuples())
    else:
        with database.atomic():  # a few thousand rows: starting parallel workers for the union cost 10 times the work
            database.execute_sql("SET LOCAL max_parallel_workers_per_gather = 0")
            rows = list(query(department, now).tuples())
    for dept, type_id, assignee, sla, bucket, count in rows:
        count = int(count)
        if bucket != -1:
            ages[AGE_BUCKETS[bucket]] += count
        if sla == SPLIT:
            continue  # counted from the requests instead
        by_type[(dept, type_id)][sla] += count
        if assignee:
            load = held[(assignee, dept)]
            load[0] += count
            load[1] += count if sla == "overdue" else 0
            load[2] += count if sla == "at_risk" else 0
    by_type = {key: states for key, states in by_type.items() if any(states.values())}
    clerks = {key: tuple(load) for key, load in held.items() if load[0]}
    return {"by_type": by_type, "ages": ages, "clerks": clerks}


SPLIT = "split"  # a boundary day's requests: counted from the request table


def query(department, now: dt.datetime):
    """One statement (one snapshot of the table and the requests): (department, type, holder or 0, state, age
    bucket, count) from `open_work`, the boundary days' rows with the state SPLIT, and the requests due on the
    boundary days with their states, the age bucket -1 (their ages are in the `open_work` rows)."""
    today, risk_day = local_today(now), local_today(now + AT_RISK)
    split = SPLIT
    state = Case(None, [(OpenWork.paused == True, "paused"), (OpenWork.due_day < today, "overdue"),  # noqa: E712
                        (OpenWork.due_day == today, split), (OpenWork.due_day < risk_day, "at_risk"),
                        (OpenWork.due_day == risk_day, split)], "on_track")
    age = Case(None, [(OpenWork.received_day >= today - dt.timedelta(days=high), index)
                      for index, (_, high) in enumerate(AGE_BUCKETS) if high is not None], len(AGE_BUCKETS) - 1)
    kept_rows = (OpenWork.select(OpenWork.department, OpenWork.request_type, OpenWork.assignee, state, age,
                                 fn.SUM(OpenWork.count))
                 .where(OpenWork.count != 0).group_by(*ORDINALS[:5]))
    if department is not None:
        kept_rows = kept_rows.where(OpenWork.department == department)
    found = kept_rows
    for day in sorted({today, risk_day}):  # the boundary days, counted from the requests due on them
        start, end = day_bounds(day)
        live = (Request.select(Request.department, Request.request_type, fn.COALESCE(Request.assignee, 0),
                               Request.sla_case(now), Value(-1), fn.COUNT(Request.id))
                .where(Request.open_work() & Request.paused_at.is_null()
                       & (Request.due_at >= start) & (Request.due_at < end))
                .group_by(*ORDINALS[:4]))
        if department is not None:
            live = live.where(Request.department == department)
        else:  # the index leads with the department: each department's day is a range of it
            live = live.where(Request.department.in_(Department.select(Department.id)))
        found = found.union_all(live)
    return found
