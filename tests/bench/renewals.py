"""Issue 17's figure: the scheduled renewal job over N periodic benefits due (100,000 by default; 5,000 with
--quick), their facts served by an HTTP registry on loopback (intranet/automation/registries_http.HttpRegistry
against a small server in this process answering from a dict: nine in ten alive, one in ten not, so that a tenth of
the renewals go to a person with the reason), on SQLite and PostgreSQL.

The job (`renewals.run`, what jobs/renewals.py runs) runs in its own process (on PostgreSQL as RENEWAL_PARTS = 2
tasks, each in a process: what two consumer workers do); it is SIGKILLed once about a third of the benefits are
renewed, then started again and left to finish. The figures: renewals and decisions per second and
the total time of both runs. Then the database's account: every benefit renewed once (period 1, one Renewal row, one
request with the benefit's token), every renewal request decided once (one decision, none left pending, at most one
automatic step in its history), the refusals exactly the benefits whose citizen the registry says is not alive.

    .venv/bin/python tests/bench/run.py --only renewals --backends sqlite --quick
    .venv/bin/python -m tests.bench.renewals sqlite:////tmp/x.db 2000      # alone, on a fresh database
"""
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.loopback import LoopbackServer  # noqa: E402

TARGET_SECONDS = 300  # 100,000 renewals in under 5 minutes
SIZE, QUICK_SIZE = 100_000, 5_000
TYPE = "pension_verification"
CONDITIONS = [{"fact": "registered", "op": "is_true"}, {"fact": "alive", "op": "is_true"}]
ID_BASE = 70_000_000_000  # the bench's citizens' national IDs: 11 digits, apart from the seed's

WORKER = r"""
import json, sys
from intranet import create_app
from intranet.automation import renewals
from intranet.db import database
app = create_app()
with app.app_context(), database.connection_context():
    print(json.dumps(renewals.run(part=int(sys.argv[1]), parts=int(sys.argv[2]))), flush=True)
"""
PARTS = {"sqlite": 1, "postgresql": 2}  # RENEWAL_PARTS: SQLite has one writer; PostgreSQL, a part per core


def _log(message):
    print(message, file=sys.stderr, flush=True)


def alive(national_id: str) -> bool:
    return int(national_id) % 10 != 0


class Registry(BaseHTTPRequestHandler):
    """GET <path>/<national id>: {"found": true, "facts": {...}} for the bench's citizens, 404 for anyone else."""

    def do_GET(self):
        national_id = self.path.rstrip("/").rsplit("/", 1)[-1]
        if not national_id.isdigit() or not ID_BASE <= int(national_id) < ID_BASE + 10_000_000:
            body, status = b'{"found": false}', 404
        else:
            body = json.dumps({"found": True, "facts": {"registered": True, "alive": alive(national_id)}}).encode()
            status = 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def seed(count: int) -> None:
    """`count` citizens, each with a monthly pension verification benefit: a fifth overdue (up to 60 days), the rest
    due within the next 30 days; a rule in force for the type (the civil registry's facts, complete)."""
    from intranet.automation import rules
    from intranet.db import transaction
    from intranet.models import Citizen, Governorate, RequestType, Staff
    from intranet.models.renewals import Benefit
    from intranet.stats.figures import local_today
    from intranet import workflow

    rtype = RequestType.get(RequestType.code == TYPE)
    admin = Staff.get_or_none(Staff.username == "bench-admin") or Staff.create(
        username="bench-admin", full_name="Bench admin", role="admin")
    governorate = Governorate.select().first()
    today, now = local_today(), dt.datetime.utcnow()
    origin_citizen = Citizen.create(full_name="مستفيد أول", national_id=str(ID_BASE - 1), phone="+97455000000",
                                    governorate=governorate, preferred_language="ar", name_search="مستفيد اول")
    origin = workflow.submit(None, origin_citizen, rtype, "electronic", "تحقق شهري").request  # no rule yet
    chunk = 1000
    for start in range(0, count, chunk):
        with transaction():
            ids = [str(ID_BASE + i) for i in range(start, min(count, start + chunk))]
            Citizen.insert_many([{"full_name": f"مستفيد {n}", "national_id": n, "phone": "+97455123456",
                                  "governorate": governorate.id, "preferred_language": "ar",
                                  "name_search": f"مستفيد {n}", "created_at": now} for n in ids]).execute()
            citizens = {c.national_id: c.id for c in Citizen.select(Citizen.id, Citizen.national_id)
                        .where(Citizen.national_id.in_(ids))}
            Benefit.insert_many([{
                "citizen": citizens[n], "request_type": rtype.id, "every_months": 1, "period": 0,
                "next_due": today + dt.timedelta(days=(int(n) % 90) - 60 if int(n) % 5 == 0 else int(n) % 30),
                "subject": "تحقق شهري", "origin": origin.id, "active": True, "created_at": now, "updated_at": now,
            } for n in ids]).execute()
    rules.save_rule(admin, rtype, "civil", CONDITIONS, "complete")


def renewed_count() -> int:
    from intranet.models.renewals import Renewal
    return Renewal.select().count()


def account(count: int) -> dict:
    """The database's account after the runs; `problems` lists what is wrong."""
    from peewee import fn

    from intranet.models import Citizen, HistoryEntry, Request
    from intranet.models.automation import AutoDecision
    from intranet.models.renewals import Benefit, Renewal

    problems = []
    periods = dict(Benefit.select(Benefit.period, fn.COUNT(Benefit.id)).group_by(Benefit.period).tuples())
    if periods != {1: count}:
        problems.append(f"benefits by period renewed: {periods} (expected all {count} at 1)")
    renewals_made = Renewal.select().count()
    tokens = Request.select().where(Request.submission_token.startswith("renewal:")).count()
    if renewals_made != count or tokens != count:
        problems.append(f"{renewals_made} renewal rows, {tokens} renewal requests for {count} benefits")
    outcomes = dict(AutoDecision.select(AutoDecision.outcome, fn.COUNT(AutoDecision.id))
                    .join(Renewal, on=(Renewal.request == AutoDecision.request)).group_by(AutoDecision.outcome)
                    .tuples())
    if sum(outcomes.values()) != count or outcomes.get("pending"):
        problems.append(f"renewal decisions by outcome: {outcomes}")
    twice = (HistoryEntry.select(HistoryEntry.request).join(Renewal, on=(Renewal.request == HistoryEntry.request))
             .where(HistoryEntry.action == "accept").group_by(HistoryEntry.request)
             .having(fn.COUNT(HistoryEntry.id) > 1).count())
    if twice:
        problems.append(f"{twice} renewal requests decided twice")
    refused = {row.national_id for row in Citizen.select(Citizen.national_id)
               .join(Request, on=(Request.citizen == Citizen.id))
               .join(AutoDecision, on=(AutoDecision.request == Request.id))
               .join(Renewal, on=(Renewal.request == Request.id)).where(AutoDecision.outcome == "ineligible")}
    expected = {str(ID_BASE + i) for i in range(count) if not alive(str(ID_BASE + i))}
    if refused != expected:
        problems.append(f"{len(refused)} refusals, expected {len(expected)} (the citizens not alive)")
    return {"outcomes": outcomes, "twice": twice, "problems": problems}


def _sessions(app_name: str) -> int:
    from intranet import db

    return db.database.execute_sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                                   (app_name,)).fetchone()[0]


def _sessions_ended(app_name: str, timeout: float = 60.0) -> None:
    """Wait until PostgreSQL has ended the sessions of the killed processes (named by libpq's PGAPPNAME). A COMMIT
    the server has received is carried out even when its client dies, so a count read before the server is done
    can miss the last renewal. SQLite has no server: a commit there is done or not when the process dies."""
    from intranet import db

    if db.is_sqlite():
        return
    deadline = time.monotonic() + timeout
    while _sessions(app_name):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the killed processes' sessions ({app_name}) still open after {timeout:.0f} s")
        time.sleep(0.05)


def _workers(env, parts: int) -> list[subprocess.Popen]:
    """The job's RENEWAL_PARTS tasks, each in a process of its own (as the consumer's workers run them)."""
    return [subprocess.Popen([sys.executable, "-c", WORKER, str(part), str(parts)], env=env, cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for part in range(parts)]


def bench(backend: str, url: str, workdir: Path, env: dict, count: int, kill_at: float = 1 / 3) -> dict:
    """Seed `count` benefits into the database at `url`, run the job in a process, kill it, run it again; the
    figures and the database's account."""
    from intranet import create_app, db

    server = LoopbackServer(Registry, "/registry/v1/people", queue_size=64).start()
    env = dict(env, INTRANET_DATABASE_URL=url, INTRANET_REGISTRIES=f"civil={server.url}",
               INTRANET_HUEY_URL="memory://", INTRANET_INSTANCE_DIR=str(workdir),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])))
    saved = {key: os.environ.get(key) for key in ("INTRANET_DATABASE_URL", "INTRANET_INSTANCE_DIR")}
    os.environ.update(INTRANET_DATABASE_URL=url, INTRANET_INSTANCE_DIR=str(workdir))
    try:
        app = create_app({"DATABASE_URL": url, "INSTANCE_DIR": workdir})
        with app.app_context(), db.database.connection_context():
            _log(f"{backend}: seeding {count:,} benefits due")
            started = time.perf_counter()
            seed(count)
            seed_s = time.perf_counter() - started
        started = time.perf_counter()
        parts = PARTS.get(backend, 1)
        app_name = f"diwan-renewals-killed-{os.getpid()}"
        first = _workers(dict(env, PGAPPNAME=app_name), parts)
        with app.app_context(), db.database.connection_context():
            while any(p.poll() is None for p in first) and renewed_count() < count * kill_at:
                time.sleep(0.2)
            if not db.is_sqlite() and any(p.poll() is None for p in first) and not _sessions(app_name):
                raise RuntimeError(f"no session named {app_name}: the wait after the kill would watch nothing")
            for process in first:
                process.send_signal(signal.SIGKILL)
                process.wait()
            _sessions_ended(app_name)
            killed_at = renewed_count()  # after the kill: a renewal may commit between a count and the signal
        first_s = time.perf_counter() - started
        _log(f"  {parts} part(s) killed after {first_s:.1f} s with {killed_at:,} renewed")
        started = time.perf_counter()
        counts = {}
        for process in _workers(env, parts):
            out, err = process.communicate(timeout=3600)
            if process.returncode != 0:
                raise RuntimeError(f"the restarted run failed: {err[-2000:]}")
            for key, value in json.loads(out.strip().splitlines()[-1]).items():
                counts[key] = counts.get(key, 0) + value
        second_s = time.perf_counter() - started
        with app.app_context(), db.database.connection_context():
            checked = account(count)
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    total = first_s + second_s
    result = {"backend": backend, "size": count, "parts": parts, "seed_s": seed_s, "killed_at": killed_at, "first_s": first_s,
              "second_s": second_s, "total_s": total, "per_s": count / total, "restart": counts, **checked}
    if count >= SIZE and total >= TARGET_SECONDS:
        result["problems"].append(f"{count:,} renewals took {total:.0f} s (target {TARGET_SECONDS} s)")
    _log(f"  {count:,} renewed and decided in {total:.1f} s ({result['per_s']:.0f}/s); restart: {counts}; "
         f"{'PROBLEMS: ' + '; '.join(result['problems']) if result['problems'] else 'nothing renewed or decided twice'}")
    return result


def tables(results) -> list[str]:
    measured = [r["renewals"] for r in results if r.get("renewals") and r["renewals"].get("size")]
    if not measured:
        return []
    out = ["", "## Automatic renewals: the scheduled job, killed at a third and started again (registry on loopback)",
           "", "| backend | benefits due | parts | renewed + decided per s | total (s) | killed after (s, renewed) | "
           "restart (s) | eligible / to a person | decided twice |", "|---|---:|---:|---:|---:|---|---:|---|---:|"]
    for r in measured:
        out.append(f"| {r['backend']} | {r['size']:,} | {r.get('parts', 1)} | **{r['per_s']:.0f}** | {r['total_s']:.1f} | "
                   f"{r['first_s']:.1f}, {r['killed_at']:,} | {r['second_s']:.1f} | "
                   f"{r['outcomes'].get('eligible', 0):,} / {r['outcomes'].get('ineligible', 0):,} | {r['twice']} |")
    out += ["", f"Target: {SIZE:,} renewals in under {TARGET_SECONDS // 60} minutes. Checked after the restart: "
                "each benefit renewed once (period 1, one renewal row and one request each), each renewal request "
                "decided once (none pending, no second automatic step), refusals exactly the citizens the registry "
                "says are not alive."]
    return out


def main(argv):
    """`python -m tests.bench.renewals <database url> [count]`: on a fresh, migrated database."""
    import tempfile

    from intranet import db, definitions

    url, count = argv[0], int(argv[1]) if len(argv) > 1 else QUICK_SIZE
    database = db.init_database(url)
    with database.connection_context():
        db.upgrade()
        definitions.load(ROOT / "intranet" / "request_types.toml")
    database.close()
    result = bench(url.split(":", 1)[0], url, Path(tempfile.mkdtemp(prefix="diwan-renewals-")), dict(os.environ),
                   count)
    print("\n".join(tables([{"renewals": result}])))
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
