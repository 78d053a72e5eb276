"""Issue 21, the dashboard at scale: EXPLAIN ANALYZE of the statements one view of the dashboard runs for today and
the open work, as they were (today's history counted live, the open work read from the request table) and as they
are (today counted by the hourly job up to its last full hour and the rest live, the open work from `open_work`),
on a seeded PostgreSQL database; then the whole `dashboard.build` of the month, timed.

    .venv/bin/python -m tests.bench.dashboard_statements 1000000 [--url postgresql://...] [--page]

Without --url a throwaway cluster is started (tests/bench/pg.py) and seeded; each statement runs REPEAT times and
its median execution time is reported (warm cache: the page's case). --page then serves the app as `run.py` does
(gunicorn 2 workers x 4 threads, the demo directory) and loads `/dashboard/?period=month` with wrk at -c2 and -c8
as the supervisor, 20 s each after a 5 s warm-up: `run.py --only dashboard` without seeding again."""
import argparse
import datetime as dt
import json
import re
import shutil
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

from peewee import Case, fn

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

REPEAT = 5


def old_open_now_queries(now):
    """The statements of the dashboard's open work before issue 21 (figures.open_now at aa00252): the open
    requests by department, type, state and holder, and by age, from the partial indexes over open work."""
    from intranet.models import Request
    from intranet.stats.figures import AGE_BUCKETS, ORDINALS

    state = Request.sla_case(now)
    by_state = (Request.select(Request.department, Request.request_type, state, Request.assignee,
                               fn.COUNT(Request.id)).where(Request.closed_at.is_null()).group_by(*ORDINALS[:4]))
    bucket = Case(None, [(Request.received_at > now - dt.timedelta(days=high + 1), index)
                         for index, (_, high) in enumerate(AGE_BUCKETS) if high is not None], len(AGE_BUCKETS) - 1)
    by_age = (Request.select(bucket, fn.COUNT(Request.id)).where(Request.closed_at.is_null())
              .group_by(*ORDINALS[:1]))
    return by_state, by_age


def explain(query) -> float:
    """Median execution time (ms) of the statement over REPEAT runs."""
    from intranet.db import database

    sql, params = query.sql()
    times = []
    for _ in range(REPEAT):
        with database.atomic():  # as open_work.open_now runs it (the old statements ran without)
            if "open_work" in sql:
                database.execute_sql("SET LOCAL max_parallel_workers_per_gather = 0")
            rows = database.execute_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall()
        text = "\n".join(row[0] for row in rows)
        times.append(float(re.search(r"Execution Time: ([\d.]+) ms", text).group(1)))
    return statistics.median(times)


def plan(query) -> str:
    from intranet.db import database

    sql, params = query.sql()
    with database.atomic():
        if "open_work" in sql:
            database.execute_sql("SET LOCAL max_parallel_workers_per_gather = 0")
        return "\n".join(row[0] for row in database.execute_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params))


def measure(show_plans: bool) -> dict:
    from intranet.models import Request, utcnow
    from intranet.models.stats import CountedDay
    from intranet.stats import dashboard, figures, open_work

    now = utcnow()
    today = figures.local_today(now)
    start, end = figures.day_bounds(today)
    found = {"today": today.isoformat(), "now": now.isoformat(timespec="seconds"),
             "open_requests": Request.select().where(Request.closed_at.is_null()).count(),
             "open_work_rows": open_work.OpenWork.select().count()}
    before, after = {}, {}
    before["today's history, live"] = figures.count_query(start, end)
    before["today's answers, live"] = figures.answer_query(start, end)
    before["open work by state and holder"], before["open work by age"] = old_open_now_queries(now)

    started = time.monotonic()
    until = figures.count_so_far(now)
    found["hourly job, today so far (s)"] = round(time.monotonic() - started, 2)
    assert CountedDay.get(CountedDay.day == today).counted_to == until
    after["today's history since the job"] = figures.count_query(until, end)
    after["today's answers since the job"] = figures.answer_query(until, end)
    after["open work (open_work + boundary days)"] = open_work.query(None, now)
    for name, group in (("before", before), ("after", after)):
        found[name] = {label: explain(query) for label, query in group.items()}
        found[name]["total"] = round(sum(found[name].values()), 1)
        if show_plans:
            for label, query in group.items():
                print(f"--- {name}: {label}\n{plan(query)}\n", file=sys.stderr)
    period = dashboard.Period("month", today.replace(day=1), today)
    builds = defaultdict(list)
    for _ in range(REPEAT):
        started = time.monotonic()
        dashboard.build(period)
        builds["month"].append((time.monotonic() - started) * 1000)
    found["dashboard.build(month) ms, median"] = round(statistics.median(builds["month"]), 1)
    assert open_work.differences() == {}
    return found


def page(url: str) -> dict:
    """The dashboard page under wrk (run.py's pieces: its gunicorn settings, wrk script and supervisor)."""
    import os
    import tempfile

    from intranet.auth import demo_directory
    from tests.bench import run

    workdir = Path(tempfile.mkdtemp(prefix="diwan-dash-page-"))
    ldap_dir = tempfile.mkdtemp(prefix="diwan-dash-ldap-")
    directory = demo_directory.start(run_dir=ldap_dir)
    server, found = None, {}
    try:
        env = dict(os.environ, PYTHONPATH=str(ROOT), INTRANET_DATABASE_URL=url, INTRANET_INSTANCE_DIR=str(workdir),
                   INTRANET_HUEY_URL=f"sqlite:///{workdir / 'huey.db'}", INTRANET_SECRET_KEY=run.SECRET_KEY,
                   INTRANET_LDAP_URL=directory.ldap_uri.rstrip("/"), INTRANET_ATTACHMENT_DIR=str(workdir / "files"),
                   INTRANET_MFA_ROLES="")
        server = run.Gunicorn(env, workdir, 2, 4)
        server.wait_ready()
        boss = run.Session(server.base)
        boss.login(run.SUPERVISOR, run.PASSWORD)
        boss.must_be_ok(run.DASHBOARD_PATH, 'id="by-type"')
        script = workdir / "fixed.lua"
        script.write_text(run.LUA_FIXED)
        run.run_wrk(server.base + run.DASHBOARD_PATH, boss.cookie_header(), script, 5, 2, 2)
        for connections in (2, 8):
            result = run.run_wrk(server.base + run.DASHBOARD_PATH, boss.cookie_header(), script, 20, 2, connections)
            found[f"-c{connections}"] = {"p50_ms": round(result["p50_us"] / 1000, 1),
                                         "p95_ms": round(result["p95_us"] / 1000, 1),
                                         "rps": round(result["rps"], 1), "requests": result["requests"]}
    finally:
        if server is not None:
            server.stop()
        directory.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(ldap_dir, ignore_errors=True)
    return {"page " + run.DASHBOARD_PATH: found}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", type=int)
    parser.add_argument("--url", help="an already seeded database (else a throwaway cluster is seeded)")
    parser.add_argument("--plans", action="store_true", help="print each statement's plan on stderr")
    parser.add_argument("--keep", action="store_true", help="leave the throwaway cluster running (its url printed)")
    parser.add_argument("--page", action="store_true", help="then the page under wrk at -c2 and -c8")
    opts = parser.parse_args()
    from intranet import db, definitions
    from intranet.seed import seed
    from tests.bench import scale
    from tests.bench.pg import PostgresCluster

    cluster = None
    url = opts.url
    try:
        if url is None:
            cluster = PostgresCluster().start()
            url = cluster.url
        database = db.init_database(url)
        with database.connection_context():
            if opts.url is None:
                db.upgrade()
                definitions.load(ROOT / "intranet" / "request_types.toml")
                started = time.monotonic()
                counts = seed(opts.size)
                print(f"seeded {counts['requests']:,} requests in {time.monotonic() - started:.0f} s",
                      file=sys.stderr)
                scale.count_days(scale.COUNTED_DAYS)
        import tempfile

        from intranet import create_app

        instance = Path(tempfile.mkdtemp(prefix="diwan-dash-"))
        app = create_app({"DATABASE_URL": url, "INSTANCE_DIR": instance, "LOG_FORMAT": "none"})
        with app.app_context(), db.database.connection_context():
            found = measure(opts.plans)
        if opts.page:
            found.update(page(url))
        shutil.rmtree(instance, ignore_errors=True)
        print(json.dumps(found, indent=2, default=str))
    finally:
        if cluster is not None and not opts.keep:
            cluster.stop()
        elif cluster is not None:
            print(f"kept: {url} (data in {cluster.base})", file=sys.stderr)


if __name__ == "__main__":
    main()
