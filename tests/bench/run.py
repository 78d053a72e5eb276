"""Load benchmark: seed N requests, serve them with gunicorn, and measure the queue figures of issue 3.

    make bench                                   # everything: sqlite and postgresql x 10k, 100k, 1M (~15 min)
    .venv/bin/python tests/bench/run.py --quick  # 10k only, shorter runs (~1 min)
    .venv/bin/python tests/bench/run.py --sizes 10000,100000 --backends sqlite --only queue,take

For each backend and size: a fresh database (a SQLite file, or a throwaway PostgreSQL cluster), the schema,
the definitions, `intranet.seed.seed(N)` (timed), 50 synthetic Health clerks, the demo directory (slapd),
gunicorn (2 gthread workers x 4 threads), a sign-in as the Health clerk `health1`, then (--only picks some):

  queue    GET /queues/health?type=health_care&sla=on_track   25 rows of one department, two filters applied;
                                                              wrk -c8 and -c2 (two clerks at once: p95 is
                                                              then close to the service time)
  search   GET /queues/health?q=<name>                        rotating over Arabic names in several spellings
                                                              (hamza, taa marbuta, diacritics, article); -c8, -c2
  request  GET /requests/<tracking number>                    rotating over ~500 Health requests; -c8
  take     POST /queues/health/take-next                      50 distinct signed-in clerks at once, each
                                                              looping for --take-seconds (60 s at 1M, 15 s below)
  api      POST /api/v1/requests                              issue 5: distinct valid JSON submissions (a new
                                                              portal reference and a new citizen each) with a
                                                              portal client's bearer token; wrk -c8 (see
                                                              tests/bench/api.py); then the database's account;
                                                              at the smallest and the largest size only
  lookup   GET /search?q=, GET /citizens/<id>              issue 16: the header search by tracking number
                                                              and by name, the citizen page of a citizen with 50
                                                              requests (tests/bench/lookup.py); -c8, -c2
  notify   SMS delivery and enqueue cost                      issue 6: N queued SMS sent by a real consumer
                                                              (huey_consumer -k thread -w 2; SQLite: SqliteHuey,
                                                              PostgreSQL: Redis) to a local HTTP gateway, each
                                                              reference checked once; then workflow.accept with
                                                              and without the notification (tests/bench/notify.py);
                                                              at the smallest size only
  bookings POST /api/v1/bookings                             issue 19: 20 concurrent portal clients booking new
                                                              citizens into the next week's slots for --duration (at
                                                              least 60 s); then the database's account: no slot
                                                              over capacity, no seat twice (tests/bench/bookings.py);
                                                              at the smallest size only
  pagecost GET /bare, the queue page, the request page     issue 21: a bare Flask page (the app's session
                                                              handling, a 25-row template, no database) on its
                                                              own gunicorn with the same settings, and the queue
                                                              and request pages, loaded in turn for
                                                              --pagecost-rounds rounds; pages/s, the ratio to the
                                                              bare page, CPU per page (tests/bench/pagecost.py)
  renewals renewals.run (the scheduled renewal job)          issue 17: --renewal-count benefits due (100,000;
                                                              5,000 with --quick), the registry on loopback; the
                                                              job in its own process, SIGKILLed at a third and
                                                              started again; nothing renewed or decided twice
                                                              (tests/bench/renewals.py); at the smallest size only
  multihost two gunicorn hosts and two consumers              issue 21: their own instance folders, one database,
                                                              one Redis, one volume: a session and the login rate
                                                              limit on both hosts, 50 clerks on take next (host B
                                                              SIGKILLed and restarted), 10,000 SMS (a consumer
                                                              SIGKILLed mid-send, its leases swept), one payout
                                                              export raced for (tests/bench/multihost.py);
                                                              PostgreSQL only, at the smallest size only

Every page must answer 200 to the signed-in clerk before it is loaded (a redirect to /login fails the run), and
every response under load must be a 200 as well (take next: a 303 to the request taken, or back to the queue when
nothing is left). Requests per second, p50, p95 and p99 (from wrk's own latency histogram, through a Lua done())
go to Markdown tables on stdout and in instance/bench-results.md, with the throughput ratio of the queue page
between the smallest and the largest size, and after take next the database's own account: claims written
during the run per request (a request claimed twice is a double assignment) and each claimed request's assignee
against its claimer. A double assignment makes the run exit non-zero (after the report is written); so does, on
the API, any answer other than a new 201 or a database count that does not match wrk's (inbox rows, requests,
duplicates); on notifications, a message lost, sent twice or not sent.
Everything started here is stopped on exit.
"""
import argparse
import contextlib
import http.cookiejar
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.bench import (  # noqa: E402
    api, bookings, lookup, multihost, notify, pagecost, payouts, renewals, scale, takenext,
)
from tests.bench.pg import PostgresCluster, free_port  # noqa: E402

VENV_BIN = Path(sys.executable).parent
WRK = shutil.which("wrk") or "/usr/bin/wrk"
CLERK, PASSWORD, DEPARTMENT = "health1", "demo", "health"
QUEUE_PATH = f"/queues/{DEPARTMENT}?type=health_care&sla=on_track"  # see intranet/queues/filters.py
DASHBOARD_PATH = "/dashboard/?period=month"  # issue 8: all departments, this month so far, four charts
SUPERVISOR = "supervisor1"
SAMPLE = 500  # tracking numbers the request-page load rotates over
SECRET_KEY = "bench-secret-key"
# name search: first names and family names as clerks type them, in the spellings the seed mixes (hamza or not,
# taa marbuta or haa, diacritics, the article or not, a first name with a family name)
NAMES = ("احمد", "أحمد", "مُحَمَّد", "الكواري", "كواري", "فاطمه", "ابراهيم", "عبدالله المري", "نوره",
         "عيسي", "آل ثاني", "الانصاري", "مريم السويدي", "خالد النعيمي", "اسامة", "ليلى")
MEASUREMENTS = ("queue", "search", "request", "take", "api", "notify", "payouts", "dashboard", "lookup", "renewals",
                "bookings", "pagecost", "multihost")
TARGETS = {"queue_p95_ms": 50, "ratio": 1.5, "search_p95_ms": 100, "take_p95_ms": 100, "api_per_s": 300,
           "notify_per_s": notify.TARGET_PER_S, "enqueue_ms": notify.TARGET_ENQUEUE_MS}
ROW = 'id="request-row-'
CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
VALUE = re.compile(r'value="([^"]*)"')

LUA_COMMON = r"""
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
    if first_bad == nil then first_bad = status end
  end
end
function done(summary, latency, requests)
  local bad_total, first = 0, "-"
  for _, t in ipairs(threads) do
    bad_total = bad_total + t:get("bad")
    if t:get("first_bad") ~= nil then first = t:get("first_bad") end
  end
  io.write(string.format("BENCH requests=%d duration_us=%d p50_us=%d p95_us=%d p99_us=%d max_us=%d "
      .. "non200=%d first_non200=%s connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
      latency:percentile(99), latency.max, bad_total, tostring(first), summary.errors.connect,
      summary.errors.read, summary.errors.write, summary.errors.timeout))
end
"""
LUA_FIXED = LUA_COMMON + r"""
function init(args)
  bad = 0
end
"""
LUA_ROTATE = LUA_COMMON + r"""
paths = {__PATHS__}
function init(args)
  bad = 0
  local id = tonumber(wrk.thread:get("id")) or 0
  index = (id * 97) % #paths
end
function request()
  index = index % #paths + 1
  return wrk.format("GET", paths[index])
end
"""


class BenchFailed(SystemExit):
    def __init__(self, message):
        super().__init__(f"\nBENCH FAILED: {message}")


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the database ------------------------------------------------------------------------------------------------

def prepare_database(url: str, size: int, clerks: int, count_days: int | None = None) -> dict:
    """Schema, definitions, `size` seeded requests and `clerks` synthetic Health clerks for take next; returns
    seed counts, the sample of tracking numbers, the clerks' staff ids and the database size."""
    from intranet import db, definitions
    from intranet.models import Department, Request
    from intranet.seed import seed

    database = db.init_database(url)
    with database.connection_context():
        db.upgrade()
        definitions.load(ROOT / "intranet" / "request_types.toml")
        last = [time.monotonic()]

        def progress(done):
            if time.monotonic() - last[0] > 15:
                last[0] = time.monotonic()
                log(f"  ... {done:,} requests")

        counts = seed(size, progress=progress)
        started = time.monotonic()
        # what the hourly job does after a bulk load (from 10M on, the last days only: tests/bench/scale.py)
        counts["counted_days"] = len(scale.count_days(count_days))
        counts["counting_s"] = round(time.monotonic() - started, 2)
        clerk_ids = takenext.create_clerks(clerks, DEPARTMENT) if clerks else []
        health = Department.get(Department.code == DEPARTMENT)
        ids = [row[0] for row in Request.select(Request.id).where(Request.department == health.id).tuples()]
        chosen = random.Random(size).sample(ids, min(SAMPLE, len(ids)))
        numbers = [row[0] for row in Request.select(Request.tracking_number)
                   .where(Request.id.in_(chosen)).tuples()]
        if db.is_sqlite():
            database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            path = Path(url.split("sqlite:///", 1)[1])
            megabytes = path.stat().st_size / 1e6
        else:
            megabytes = database.execute_sql("SELECT pg_database_size(current_database())").fetchone()[0] / 1e6
    database.close()
    if not numbers:
        raise BenchFailed(f"no request of the {DEPARTMENT} department after seeding {size}")
    return {"counts": counts, "numbers": numbers, "megabytes": megabytes, "clerk_ids": clerk_ids}


# --- the web server ------------------------------------------------------------------------------------------------

class Gunicorn:
    def __init__(self, env: dict, workdir: Path, workers: int, threads: int, app: str = "wsgi:app",
                 log_name: str = "gunicorn.log"):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / log_name
        cmd = [str(VENV_BIN / "gunicorn"), "--no-control-socket", "-k", "gthread", "-w", str(workers),
               "--threads", str(threads), "-b", f"127.0.0.1:{self.port}", app]
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log_file, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait_ready(self, timeout=60, path="/login"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchFailed(f"gunicorn exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                urllib.request.urlopen(self.base + path, timeout=2).read()
                return
            except urllib.error.HTTPError as error:
                if error.code == 401:  # answering: the bare page refuses a visitor without a session
                    return
                time.sleep(0.2)
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise BenchFailed(f"gunicorn did not answer {path} within {timeout} s:\n{self.log_tail()}")

    def log_tail(self, lines=40):
        self.log_file.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log_file.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Session:
    """A signed-in browser: cookie jar, CSRF token from the login form, no redirects followed on checks."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)

    def get(self, path):
        try:
            with self.opener.open(self.base + path, timeout=60) as answer:
                return answer.status, answer.headers, answer.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode("utf-8", "replace")

    def login(self, username, password):
        status, _, page = self.get("/login")
        field = CSRF.search(page)
        if status != 200 or not field or not VALUE.search(field.group(0)):
            raise BenchFailed(f"GET /login answered {status} without a csrf_token input")
        token = VALUE.search(field.group(0)).group(1)
        body = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": token}).encode()
        try:
            with self.opener.open(self.base + "/login", data=body, timeout=60) as answer:
                status = answer.status
        except urllib.error.HTTPError as error:
            status = error.code
        if status not in (302, 303) or not self.cookie_header():
            raise BenchFailed(f"signing in as {username} failed (POST /login answered {status})")

    def cookie_header(self) -> str:
        return "; ".join(f"{cookie.name}={cookie.value}" for cookie in self.jar)

    def must_be_ok(self, path, expect_text=None):
        status, headers, body = self.get(path)
        if status != 200:
            where = headers.get("Location", "") if headers else ""
            raise BenchFailed(f"GET {path} answered {status} {where} to the signed-in clerk, not 200")
        if expect_text and expect_text not in body:
            raise BenchFailed(f"GET {path} answered 200 but without {expect_text!r}")
        return body


# --- whose CPU: ours (gunicorn, PostgreSQL, wrk) or someone else's on a shared machine -------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _machine_busy() -> float:
    """CPU seconds the whole machine spent busy since boot."""
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, stat.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def _process_cpu() -> dict[int, tuple[int, int, int, float]]:
    """pid -> (parent pid, process group, own CPU seconds, CPU seconds of reaped children)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(entry)] = (int(fields[1]), int(fields[2]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS,
                             (int(fields[13]) + int(fields[14])) / CLOCK_TICKS)
    return found


class CpuWatch:
    """The share of the machine's CPU that processes other than the benchmarked stack used during a run:
    machine busy time minus the time of gunicorn (its process group), the PostgreSQL cluster (the postmaster,
    its children, and the children it reaped), wrk and this process (the take-next clients run in it). Near 0:
    the figures are the stack's own."""

    def __init__(self, gunicorn_pgid: int, postmaster_pid: int | None):
        self.pgid, self.postmaster = gunicorn_pgid, postmaster_pid

    def _split(self, processes) -> tuple[float, float]:
        """CPU seconds of (gunicorn, PostgreSQL) so far."""
        server = database = 0.0
        for pid, (ppid, pgid, own, reaped) in processes.items():
            if pgid == self.pgid:
                server += own + reaped
            elif pid == self.postmaster:
                database += own + reaped
            elif self.postmaster is not None and ppid == self.postmaster:
                database += own
        return server, database

    def _ours(self, processes) -> float:
        return sum(self._split(processes))

    def __enter__(self):
        self.started = time.monotonic()
        self.busy = _machine_busy()
        self.split = self._split(_process_cpu())
        self.ours = sum(self.split)
        times = os.times()
        self.load = times.user + times.system + times.children_user + times.children_system
        return self

    def __exit__(self, *exc):
        elapsed = time.monotonic() - self.started
        times = os.times()
        load_cpu = times.user + times.system + times.children_user + times.children_system - self.load
        server, database = self._split(_process_cpu())
        self.server_cpu, self.database_cpu = server - self.split[0], database - self.split[1]
        ours = server + database - self.ours + load_cpu
        other = max(0.0, _machine_busy() - self.busy - ours)
        self.other_share = 100 * other / (elapsed * (os.cpu_count() or 1))


# --- wrk ------------------------------------------------------------------------------------------------------------

def run_wrk(url: str, cookie: str, script: Path, seconds: int, threads: int, connections: int,
            keep_alive: bool = False, headers=()) -> dict:
    """wrk against one URL; without keep_alive every request comes on a new connection ("Connection: close"):
    gunicorn's gthread workers each accept what they can, so a handful of kept-alive wrk connections often all
    land on one worker, which then serves alone (one core, the GIL) while the other idles: measured at
    98-205 requests/s on the same server from one 4-s run to the next, against 260-280 with fresh connections."""
    cmd = [WRK, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
           "-H", f"Cookie: {cookie}", *([] if keep_alive else ["-H", "Connection: close"]),
           *[part for header in headers for part in ("-H", header)], "-s", str(script), url]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH ")), None)
    if done.returncode != 0 or line is None:
        raise BenchFailed(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    values = dict(item.split("=", 1) for item in line.split()[1:])
    result = {key: (int(value) if value.lstrip("-").isdigit() else value) for key, value in values.items()}
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    errors = sum(result[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    if result["non200"] or errors:
        raise BenchFailed(f"{url}: {result['non200']} responses other than 200 (first: {result['first_non200']}), "
                          f"{errors} socket errors under load:\n{done.stdout}")
    return result


# --- one backend x size -----------------------------------------------------------------------------------------------

def take_seconds(size: int, opts) -> int:
    if opts.take_seconds is not None:
        return opts.take_seconds
    return 60 if size >= 1_000_000 else 15


def rows_on(page: str) -> int:
    return page.count(ROW)


def check_pages(session: Session, numbers, opts) -> dict:
    """Each measured page answers 200 to the signed-in clerk, with rows; returns what the report shows."""
    seen = {}
    if "queue" in opts.only:
        seen["queue_rows"] = rows_on(session.must_be_ok(QUEUE_PATH))
        if seen["queue_rows"] < 25:
            log(f"  note: the queue page shows {seen['queue_rows']} rows, not 25")
    if "search" in opts.only:
        found = {name: rows_on(session.must_be_ok(search_path(name))) for name in NAMES}
        seen["search_rows"] = found
        log("  search, rows on the first page: " + ", ".join(f"{name} {rows}" for name, rows in found.items()))
    if "request" in opts.only:
        for number in numbers[:: max(1, len(numbers) // 25)]:  # a sample; wrk checks every answer below
            session.must_be_ok(f"/requests/{number}", expect_text=number)
    return seen


def search_path(name: str) -> str:
    return f"/queues/{DEPARTMENT}?" + urllib.parse.urlencode({"q": name})


def lua_rotating(paths) -> str:
    return LUA_ROTATE.replace("__PATHS__", ", ".join(f'"{path}"' for path in paths))


def wrk_plan(numbers, workdir: Path, opts) -> list[tuple]:
    """(measurement, label, first path, script, connections) for every wrk run asked for."""
    fixed = workdir / "fixed.lua"
    fixed.write_text(LUA_FIXED)
    search = workdir / "search.lua"
    search.write_text(lua_rotating(search_path(name) for name in NAMES))
    rotate = workdir / "rotate.lua"
    rotate.write_text(lua_rotating(f"/requests/{n}" for n in numbers))
    levels = [opts.connections] + ([opts.low_connections] if opts.low_connections else [])
    plan = []
    if "queue" in opts.only:
        plan += [("queue", f"queue (`{QUEUE_PATH}`)", QUEUE_PATH, fixed, c) for c in levels]
    if "search" in opts.only:
        plan += [("search", f"name search (`?q=`, {len(NAMES)} names)", search_path(NAMES[0]), search, c)
                 for c in levels]
    if "request" in opts.only:
        plan += [("request", f"request (`/requests/<n>`, {len(numbers)} numbers)", f"/requests/{numbers[0]}",
                  rotate, c) for c in levels]
    return plan


def bench_take(url: str, server: "Gunicorn", clerk_ids, seconds: int, postmaster, opts) -> dict:
    """50 clerks on take next, then the database's account of the claims."""
    from intranet import db

    database = db.init_database(url)
    with database.connection_context():
        tokens = takenext.open_sessions(clerk_ids)
    clerks = [takenext.open_queue(server.base, DEPARTMENT, staff_id, SECRET_KEY, tokens[staff_id])
              for staff_id in clerk_ids]
    with database.connection_context():
        reopened = takenext.top_up(DEPARTMENT, seconds * opts.take_backlog) if opts.take_backlog else 0
        before = takenext.snapshot(DEPARTMENT)
    database.close()
    log(f"  take next: {len(clerks)} clerks for {seconds} s, {before['waiting']:,} requests waiting "
        f"({reopened:,} of them reopened)")
    with CpuWatch(server.proc.pid, postmaster) as watch:
        outcome = takenext.run_load(server.base, DEPARTMENT, clerks, seconds, opts.keep_alive, opts.take_pause)
    database = db.init_database(url)
    with database.connection_context():
        checked = takenext.verify(before, clerk_ids, outcome)
    database.close()
    ms = lambda values, share: takenext.percentile(values, share) * 1000  # noqa: E731
    everything = outcome.latencies + outcome.empty_latencies
    result = {"clerks": len(clerks), "seconds": outcome.seconds, "waiting": before["waiting"], "reopened": reopened,
              "takes": len(outcome.takes), "takes_per_s": len(outcome.takes) / outcome.seconds,
              "empty": len(outcome.empty_latencies), "errors": outcome.errors, "first_error": outcome.first_error,
              "p50_ms": ms(outcome.latencies, 50), "p95_ms": ms(outcome.latencies, 95),
              "p99_ms": ms(outcome.latencies, 99), "all_p95_ms": ms(everything, 95),
              "other_cpu": watch.other_share, **checked}
    log(f"  {result['takes']:,} takes ({result['takes_per_s']:.1f}/s), p50 {result['p50_ms']:.1f} ms, "
        f"p95 {result['p95_ms']:.1f} ms, {result['empty']:,} 'nothing left', {result['errors']} errors; "
        f"double assignments {checked['double_assignments']}, assignee is not the claimer "
        f"{checked['wrong_assignee']}, claims {checked['claims']:,}")
    return result


def run_wrk_api(base: str, script: Path, seconds: int, threads: int, connections: int, keep_alive: bool) -> dict:
    """wrk POSTing submissions (tests/bench/api.py's script); the counts come back, judged by the caller."""
    cmd = [WRK, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
           *([] if keep_alive else ["-H", "Connection: close"]), "-s", str(script), base + api.PATH]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    result = api.parse_wrk(done.stdout)
    if done.returncode != 0 or result is None:
        raise BenchFailed(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return result


def bench_api(url: str, server: "Gunicorn", workdir: Path, postmaster, opts) -> dict:
    """Distinct submissions POSTed for opts.duration seconds (after a warm-up with bodies of its own), then the
    database's account of the measured run; `problems` lists whatever makes the run fail."""
    token = api.create_client(url)
    taken = api.taken_national_ids(url)
    connections = opts.connections
    threads = min(opts.wrk_threads, connections)
    if opts.warmup:
        bodies = workdir / "api-warmup.jsonl"
        api.write_bodies(bodies, "BENCH-W", api.bodies_needed(opts.warmup), taken, seed=1)
        script = workdir / "api-warmup.lua"
        script.write_text(api.lua(bodies, token, threads))
        warm = run_wrk_api(server.base, script, opts.warmup, threads, connections, opts.keep_alive)
        if problems := api.load_problems(warm):
            raise BenchFailed(f"API warm-up: {'; '.join(problems)}\n--- gunicorn log (last lines) ---\n"
                              f"{server.log_tail()}")
    bodies = workdir / "api.jsonl"
    mix = api.write_bodies(bodies, "BENCH-M", api.bodies_needed(opts.duration), taken, seed=2)
    script = workdir / "api.lua"
    script.write_text(api.lua(bodies, token, threads))
    time.sleep(1)  # the warm-up's last POSTs finish before the snapshot
    before = api.snapshot(url)
    log(f"  wrk POST {api.PATH} -c{connections} for {opts.duration} s ({mix['count']:,} distinct bodies, "
        f"{mix['bytes'] / mix['count']:.0f} bytes on average)")
    with CpuWatch(server.proc.pid, postmaster) as watch:
        result = run_wrk_api(server.base, script, opts.duration, threads, connections, opts.keep_alive)
    time.sleep(1)  # POSTs in flight when wrk stopped finish before the count
    checked = api.verify(url, before, result)
    problems = api.load_problems(result) + checked.pop("problems")
    served = max(1, checked["requests"])
    log(f"  {result['accepted']:,} accepted ({result['accepted_per_s']:.1f}/s), p50 {result['p50_us'] / 1000:.1f} "
        f"ms, p95 {result['p95_us'] / 1000:.1f} ms, p99 {result['p99_us'] / 1000:.1f} ms; database: "
        f"{checked['inbox_rows']:,} inbox rows, {checked['requests']:,} requests, {checked['unanswered']} "
        f"in flight at the end; CPU per submission: gunicorn {1000 * watch.server_cpu / served:.1f} ms"
        + (f", PostgreSQL {1000 * watch.database_cpu / served:.1f} ms" if postmaster else "")
        + (f"; PROBLEMS: {'; '.join(problems)}" if problems else ""))
    if problems:
        log(f"--- gunicorn log (last lines) ---\n{server.log_tail(60)}")
    return {"connections": connections, "mix": mix, "other_cpu": watch.other_share, "problems": problems,
            "server_ms": 1000 * watch.server_cpu / served, "database_ms": 1000 * watch.database_cpu / served,
            "load": os.getloadavg(), **result, **checked}


def bench_pagecost(env: dict, workdir: Path, server: "Gunicorn", session: "Session", cookie: str, numbers,
                   postmaster, opts) -> dict:
    """Issue 21: the bare page (tests/bench/bare_app.py) on its own gunicorn with the same settings, then the
    bare, queue and request pages loaded in turn (tests/bench/pagecost.py)."""
    session.must_be_ok(QUEUE_PATH, ROW)
    session.must_be_ok(f"/requests/{numbers[0]}", expect_text=numbers[0])
    bare = Gunicorn(env, workdir, opts.workers, opts.threads, app="tests.bench.bare_app:app",
                    log_name="gunicorn-bare.log")
    try:
        bare.wait_ready(path=pagecost.bare_app.PATH)
        try:
            pagecost.check(bare.base, cookie)
        except RuntimeError as failed:
            raise BenchFailed(f"{failed}\n--- gunicorn (bare) log ---\n{bare.log_tail()}") from None
        targets = {"bare": (bare.base, pagecost.bare_app.PATH, workdir / "fixed.lua", bare, None),
                   "queue": (server.base, QUEUE_PATH, workdir / "fixed.lua", server, postmaster),
                   "request": (server.base, f"/requests/{numbers[0]}", workdir / "rotate.lua", server, postmaster)}
        log(f"page cost: bare, queue and request pages in turn, {opts.pagecost_rounds} rounds of {opts.duration} s")
        return pagecost.bench(targets, cookie, opts.pagecost_rounds, opts, run_wrk, CpuWatch, log)
    finally:
        bare.stop()


def bench_one(backend: str, size: int, directory, opts, results: list) -> None:
    """Seed, serve and measure one backend at one size; appends its figures to `results` as they come, so that a
    failure later keeps what was measured."""
    workdir = Path(tempfile.mkdtemp(prefix=f"diwan-bench-{backend}-{size}-"))
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        postmaster = None
        if backend == "sqlite":
            url = f"sqlite:///{workdir / 'diwan.db'}"
        elif backend == "postgresql":
            cluster = PostgresCluster()
            stack.callback(cluster.stop)
            cluster.start()
            url = cluster.url
            postmaster = cluster.postmaster_pid()
        else:
            raise BenchFailed(f"unknown backend {backend}")

        log(f"{backend} {size:,}: seeding")
        prepared = prepare_database(url, size, opts.take_clerks if "take" in opts.only else 0,
                                    scale.days_to_count(size, opts.count_days))
        counts = prepared["counts"]
        log(f"{backend} {size:,}: seeded {counts['requests']:,} requests, {counts['citizens']:,} citizens, "
            f"{counts['history']:,} history rows in {counts['seconds']} s ({prepared['megabytes']:.0f} MB)")
        if "lookup" in opts.only:  # issue 16: a citizen with 50 requests for the citizen page
            from intranet import db

            database = db.init_database(url)
            with database.connection_context():
                prepared["citizen_id"] = lookup.give_one_citizen_requests(DEPARTMENT)
            database.close()
        outcome = {"backend": backend, "size": size, "seed_s": counts["seconds"], "counting_s": counts["counting_s"],
                   "counted_days": counts["counted_days"],
                   "megabytes": prepared["megabytes"], "pages": [], "take": None, "api": None, "notify": None,
                   "payouts": None}
        results.append(outcome)

        # the app pools PostgreSQL connections itself (intranet/db.py), the URL is served as is
        # PYTHONPATH: gunicorn serves this tree's `intranet` (the venv's editable install may point elsewhere)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
                   INTRANET_DATABASE_URL=url, INTRANET_INSTANCE_DIR=str(workdir),
                   INTRANET_HUEY_URL=f"sqlite:///{workdir / 'huey.db'}", INTRANET_SECRET_KEY=SECRET_KEY,
                   INTRANET_LDAP_URL=directory.ldap_uri.rstrip("/"), INTRANET_ATTACHMENT_DIR=str(workdir / "files"),
                   INTRANET_MFA_ROLES="")  # the pages are measured, not the second factor (tests/test_mfa.py)
        server = Gunicorn(env, workdir, opts.workers, opts.threads)
        stack.callback(server.stop)
        server.wait_ready()

        session = Session(server.base)
        numbers = prepared["numbers"]
        try:
            session.login(CLERK, PASSWORD)
            outcome.update(check_pages(session, numbers, opts))
            if "lookup" in opts.only:
                lookup.check(session, numbers, prepared["citizen_id"])
        except BenchFailed as failed:
            raise BenchFailed(f"{failed.code.removeprefix(chr(10) + 'BENCH FAILED: ')}\n"
                              f"--- gunicorn log (last lines) ---\n{server.log_tail()}") from None
        cookie = session.cookie_header()

        warmed = set()
        for measurement, label, path, script, connections in wrk_plan(numbers, workdir, opts):
            if opts.warmup and measurement not in warmed:
                run_wrk(server.base + path, cookie, script, opts.warmup, opts.wrk_threads, opts.connections,
                        opts.keep_alive)
                warmed.add(measurement)
            log(f"{backend} {size:,}: wrk {measurement} -c{connections} for {opts.duration} s")
            with CpuWatch(server.proc.pid, postmaster) as watch:
                result = run_wrk(server.base + path, cookie, script, opts.duration,
                                 min(opts.wrk_threads, connections), connections, opts.keep_alive)
            log(f"  {result['rps']:.1f} req/s, p50 {result['p50_us'] / 1000:.1f} ms, "
                f"p95 {result['p95_us'] / 1000:.1f} ms")
            outcome["pages"].append({"measurement": measurement, "label": label, "connections": connections,
                                     "other_cpu": watch.other_share, **result})

        if "pagecost" in opts.only:  # issue 21: the queue and request pages against a bare page, side by side
            outcome["pagecost"] = bench_pagecost(env, workdir, server, session, cookie, numbers, postmaster, opts)
            if opts.pagecost_instructions:  # the same three pages, their instructions counted (callgrind)
                log(f"page cost: instructions, {pagecost.INSTRUCTION_PAGES} pages each under callgrind")
                outcome["pagecost_instructions"] = pagecost.instructions(
                    env, workdir, {"bare": ("tests.bench.bare_app:app", [pagecost.bare_app.PATH]),
                                   "queue": ("wsgi:app", [QUEUE_PATH]),
                                   "request": ("wsgi:app", [f"/requests/{n}" for n in numbers[:20]])},
                    cookie, str(VENV_BIN / "python"), ROOT, log)

        if "lookup" in opts.only:  # issue 16: the header search and the citizen page, as the Health clerk
            for measurement, label, paths, headers in lookup.plan(numbers, NAMES, prepared["citizen_id"]):
                script = workdir / f"lookup-{measurement}.lua"
                script.write_text(lua_rotating(paths))
                for connections in [opts.connections] + ([opts.low_connections] if opts.low_connections else []):
                    if opts.warmup and connections == opts.connections:
                        run_wrk(server.base + paths[0], cookie, script, opts.warmup, opts.wrk_threads,
                                connections, opts.keep_alive, headers)
                    log(f"{backend} {size:,}: wrk lookup {measurement} -c{connections} for {opts.duration} s")
                    with CpuWatch(server.proc.pid, postmaster) as watch:
                        result = run_wrk(server.base + paths[0], cookie, script, opts.duration,
                                         min(opts.wrk_threads, connections), connections, opts.keep_alive, headers)
                    log(f"  {result['rps']:.1f} req/s, p95 {result['p95_us'] / 1000:.1f} ms")
                    outcome["pages"].append({"measurement": f"lookup-{measurement}", "label": label,
                                             "connections": connections, "other_cpu": watch.other_share, **result})

        if "dashboard" in opts.only:
            boss = Session(server.base)
            boss.login(SUPERVISOR, PASSWORD)
            boss.must_be_ok(DASHBOARD_PATH, 'id="by-type"')
            script = workdir / "fixed.lua"
            if opts.warmup:
                run_wrk(server.base + DASHBOARD_PATH, boss.cookie_header(), script, opts.warmup, opts.wrk_threads,
                        opts.connections, opts.keep_alive)
            for connections in [opts.connections] + ([opts.low_connections] if opts.low_connections else []):
                log(f"{backend} {size:,}: wrk dashboard -c{connections} for {opts.duration} s")
                with CpuWatch(server.proc.pid, postmaster) as watch:
                    result = run_wrk(server.base + DASHBOARD_PATH, boss.cookie_header(), script, opts.duration,
                                     min(opts.wrk_threads, connections), connections, opts.keep_alive)
                log(f"  {result['rps']:.1f} req/s, p95 {result['p95_us'] / 1000:.1f} ms")
                outcome["pages"].append({"measurement": "dashboard", "label": f"dashboard (`{DASHBOARD_PATH}`, "
                                         f"as {SUPERVISOR})", "connections": connections,
                                         "other_cpu": watch.other_share, **result})

        if "take" in opts.only:
            log(f"{backend} {size:,}: take next")
            try:
                outcome["take"] = bench_take(url, server, prepared["clerk_ids"], take_seconds(size, opts),
                                             postmaster, opts)
            except takenext.TakeNextFailed as failed:
                raise BenchFailed(f"{failed}\n--- gunicorn log (last lines) ---\n{server.log_tail()}") from None
            if outcome["take"]["errors"]:  # reported, and the run exits non-zero at the end
                log(f"  take next: {outcome['take']['errors']} answers other than a 303 to a request or to the "
                    f"queue (first: {outcome['take']['first_error']})\n--- gunicorn log (last lines) ---\n"
                    f"{server.log_tail(60)}")

        if "notify" in opts.only and size == opts.notify_size:  # before the API's submissions queue theirs
            log(f"{backend} {size:,}: notifications")
            try:
                outcome["notify"] = notify.bench(backend, url, workdir, postmaster, opts, SECRET_KEY)
            except (RuntimeError, subprocess.TimeoutExpired) as failed:
                outcome["notify"] = {"problems": [str(failed)]}
                log(f"  notifications failed: {failed}")

        if "multihost" in opts.only and size == opts.notify_size:  # issue 21: two hosts, two consumers
            try:
                outcome["multihost"] = multihost.bench(backend, url, workdir, directory, opts.quick)
            except (RuntimeError, subprocess.TimeoutExpired) as failed:
                outcome["multihost"] = {"problems": [str(failed)]}
                log(f"  several hosts failed: {failed}")

        if "payouts" in opts.only and size == opts.notify_size:
            try:
                outcome["payouts"] = payouts.bench(backend, url, workdir, env)
            except (RuntimeError, subprocess.TimeoutExpired) as failed:
                outcome["payouts"] = {"problems": [str(failed)]}
                log(f"  payout export failed: {failed}")

        if "renewals" in opts.only and size == opts.notify_size:  # issue 17: the renewal job, killed and restarted
            try:
                outcome["renewals"] = renewals.bench(backend, url, workdir, env, opts.renewal_count)
            except (RuntimeError, subprocess.TimeoutExpired) as failed:
                outcome["renewals"] = {"problems": [str(failed)]}
                log(f"  renewals failed: {failed}")

        if "bookings" in opts.only and size == opts.notify_size:  # issue 19: bookings through the API
            seconds = max(60, opts.duration) if not opts.quick else opts.duration
            log(f"{backend} {size:,}: bookings, {bookings.CLIENTS} clients for {seconds} s")
            outcome["bookings"] = bookings.bench(backend, url, server.base, seconds, workdir, SECRET_KEY)
            log(f"  {outcome['bookings']['per_minute']:,.0f} booking requests a minute, "
                f"p95 {outcome['bookings']['p95_ms']:.1f} ms, {outcome['bookings']['booked']:,} booked, "
                f"{outcome['bookings']['full']:,} slot full; "
                f"{'PROBLEMS: ' + '; '.join(outcome['bookings']['problems']) if outcome['bookings']['problems'] else 'no slot over capacity'}")

        if "api" in opts.only and size in opts.api_sizes:
            log(f"{backend} {size:,}: API submissions")
            outcome["api"] = bench_api(url, server, workdir, postmaster, opts)  # problems: non-zero exit at the end


# --- report ------------------------------------------------------------------------------------------------------------

def _ms(us) -> str:
    return f"{us / 1000:.1f}"


def _page(result, measurement, connections):
    return next((p for p in result["pages"] if p["measurement"] == measurement and p["connections"] == connections),
                None)


def tables(results, opts) -> str:
    out = ["## Databases", "", "| backend | requests | seeding (s) | counting the days (s) | DB size (MB) "
           "| queue page rows |", "|---|---:|---:|---:|---:|---:|"]
    for r in results:
        out.append(f"| {r['backend']} | {r['size']:,} | {r['seed_s']:.1f} | {r['counting_s']:.1f} "
                   f"({r['counted_days']} days) | {r['megabytes']:.0f} | {r.get('queue_rows', '-')} |")
    pages = [(r, p) for r in results for p in r["pages"]]
    if pages:
        out += ["", "## Pages (wrk)", "",
                "| backend | requests | page | wrk -c | requests/s | p50 (ms) | p95 (ms) | p99 (ms) | other CPU |",
                "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
        for r, p in pages:
            out.append(f"| {r['backend']} | {r['size']:,} | {p['label']} | {p['connections']} | {p['rps']:.1f} | "
                       f"{_ms(p['p50_us'])} | {_ms(p['p95_us'])} | {_ms(p['p99_us'])} | {p['other_cpu']:.0f} % |")
    ratios = throughput_ratios(results, opts)
    if ratios:
        out += ["", f"## Queue page throughput, smallest against largest size (wrk -c{opts.connections}; "
                    f"target: at most {TARGETS['ratio']}x lower)", "",
                "| backend | sizes | requests/s small | requests/s large | ratio (small / large) |",
                "|---|---|---:|---:|---:|"]
        for backend, small, large, ratio in ratios:
            out.append(f"| {backend} | {small['size']:,} / {large['size']:,} | {small['rps']:.1f} | "
                       f"{large['rps']:.1f} | {ratio:.2f}x |")
    out += pagecost.table(results, opts)
    out += pagecost.instruction_table(results)
    takes = [r for r in results if r["take"]]
    if takes:
        out += ["", "## Take next (50 distinct clerks POSTing at once, each in a loop)", "",
                "| backend | requests | clerks | seconds | waiting before | takes | takes/s | p50 (ms) | p95 (ms) "
                "| p99 (ms) | 'nothing left' | errors | double assignments | assignee ≠ claimer | other CPU |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in takes:
            t = r["take"]
            out.append(f"| {r['backend']} | {r['size']:,} | {t['clerks']} | {t['seconds']:.0f} | {t['waiting']:,} | "
                       f"{t['takes']:,} | {t['takes_per_s']:.1f} | {t['p50_ms']:.1f} | {t['p95_ms']:.1f} | "
                       f"{t['p99_ms']:.1f} | {t['empty']:,} | {t['errors']} | {t['double_assignments']} | {t['wrong_assignee']} | "
                       f"{t['other_cpu']:.0f} % |")
        out += ["", "Checked in the database after each run, over the history rows written during it: claims "
                "per request (more than one is a double assignment), each claimed request's assignee against the "
                "claimer, claims outside the department or by other staff, and against what the clerks were told "
                "(the tracking number in each 303): "
                + "; ".join(f"{r['backend']} {r['size']:,}: {r['take']['claims']:,} claims, "
                            f"{r['take']['lost']} claims no clerk was told of, {r['take']['errors']} failed POSTs"
                            + (f" (first: {r['take']['first_error']})" if r['take']['first_error'] else "")
                            + f", {r['take']['told_twice']} numbers "
                            f"told to two clerks, {r['take']['told_not_assignee']} told but assigned to someone "
                            f"else, {r['take']['other_department'] + r['take']['other_actor']} out of place"
                            for r in takes) + "."]
    submitted = [r for r in results if r.get("api")]
    if submitted:
        out += ["", "## API submissions (`POST /api/v1/requests`, distinct valid JSON submissions, wrk)", "",
                "| backend | requests | wrk -c | seconds | POSTs sent | accepted (new 201) | accepted/s | p50 (ms) "
                "| p95 (ms) | p99 (ms) | errors | inbox rows | requests created | duplicates | CPU ms per submission "
                "(gunicorn + PostgreSQL) | load (1 min) | other CPU |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|"]
        for r in submitted:
            a = r["api"]
            errors = a["non201"] + a["replayed"] + a["socket_errors"]
            duplicates = (a["requests"] - a["distinct_tokens"]) + a["references_twice"] + a["citizens_twice"]
            out.append(f"| {r['backend']} | {r['size']:,} | {a['connections']} | {a['duration_us'] / 1e6:.0f} | "
                       f"{a['sent']:,} | {a['accepted']:,} | {a['accepted_per_s']:.1f} | {_ms(a['p50_us'])} | "
                       f"{_ms(a['p95_us'])} | {_ms(a['p99_us'])} | {errors} | {a['inbox_rows']:,} | "
                       f"{a['requests']:,} | {duplicates} | {a['server_ms']:.1f}"
                       + (f" + {a['database_ms']:.1f}" if r["backend"] == "postgresql" else "")
                       + f" | {a['load'][0]:.2f} | {a['other_cpu']:.0f} % |")
        mix = submitted[0]["api"]["mix"]
        out += ["", f"Each body a new submission: {mix['health_care']:,} health-care grants "
                    f"({mix['with_document']:,} with a base64 PDF) and {mix['inquiry']:,} inquiries written for the "
                    f"measured run, {mix['bytes'] / mix['count']:.0f} bytes on average; a new portal reference and a "
                    f"new citizen each. Checked in the database after each run: every inbox row written during it "
                    f"accepted with its own request, requests created = inbox rows, none twice (submission token, "
                    f"portal reference, Idempotency-Key, citizen), and between the 201s counted and the POSTs "
                    f"sent (a POST in flight when wrk stops is served but not counted): "
                    + "; ".join(f"{r['backend']} {r['size']:,}: {r['api']['unanswered']} in flight, "
                                f"{r['api']['attachments']} documents stored"
                                + (f", PROBLEMS: {'; '.join(r['api']['problems'])}" if r['api']['problems'] else "")
                                for r in submitted) + "."]
    out += notify_tables(results)
    out += payouts.tables(results)
    out += multihost.tables(results)
    out += renewals.tables(results)
    out += bookings.tables(results)
    searched = [r for r in results if r.get("search_rows")]
    if searched:
        out += ["", "Name search, rows on the first page per name: " + "; ".join(
            f"{r['backend']} {r['size']:,}: " + ", ".join(f"{n} {c}" for n, c in r["search_rows"].items())
            for r in searched) + "."]
    return "\n".join(out)


def notify_tables(results) -> list[str]:
    measured = [r for r in results if r.get("notify") and "per_s" in r["notify"]]
    out = []
    if measured:
        out += ["", "## Notifications: SMS delivery to a local gateway (huey_consumer -k thread -w 2)", "",
                "| backend | requests | queue | messages | at the gateway (s) | messages/s | first after trigger (s) "
                "| all sent after trigger (s) | sent | repeats | lost | consumer CPU (ms a message) | gateway CPU (s) "
                "| DB + queue CPU (s) | load (1 min) | other CPU |",
                "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in measured:
            n = r["notify"]
            out.append(f"| {r['backend']} | {r['size']:,} | {n['queue']} | {n['expected']:,} | {n['span_s']:.1f} | "
                       f"{n['per_s']:.1f} | {n['first_after_s'] or 0:.1f} | "
                       + (f"{n['all_sent_s']:.1f}" if n["all_sent_s"] else "-")
                       + f" | {n['sent']:,} | {n['repeats']} | {n['lost']} | {n['consumer_ms_per_message']:.2f} | "
                       f"{n['gateway_cpu_s']:.1f} | {n['database_cpu_s']:.1f} | {n['load'][0]:.2f} | "
                       f"{n['other_cpu']:.0f} % |")
        first = measured[0]["notify"]
        out += ["", f"Queued SMS written in bulk for seeded requests and their citizens, the default wording "
                    f"(\"{first['sample']}\"), {first['body_chars']:.0f} characters on average; QUIET_HOURS=off; one "
                    f"deliver_soon enqueued, the engine's own helper and continuation do the rest. Checked after "
                    f"each run: every row sent, each reference received once by the gateway: "
                    + "; ".join(f"{r['backend']}: {r['notify']['posts']:,} POSTs, {r['notify']['received']:,} "
                                f"references, {r['notify']['unknown']} unknown, attempts {r['notify']['attempts']}, "
                                f"task runs {r['notify'].get('runs', {})}" for r in measured) + "."]
    enqueued = [r for r in results if r.get("notify") and r["notify"].get("enqueue")]
    if enqueued:
        out += ["", "## Notifications: what enqueueing adds to an action (`workflow.accept`, in-process)", "",
                "| backend | requests | accepts (each side) | on_change p50 (ms) | p95 (ms) | p99 (ms) | max (ms) "
                "| accept p50 with / without (ms) | accept p95 with / without (ms) | rows queued | triggers |",
                "|---|---:|---:|---:|---:|---:|---:|---|---|---:|---:|"]
        for r in enqueued:
            e = r["notify"]["enqueue"]
            out.append(f"| {r['backend']} | {r['size']:,} | {e['actions']} | {e['inner_p50_ms']:.2f} | "
                       f"{e['inner_p95_ms']:.2f} | {e['inner_p99_ms']:.2f} | {e['inner_max_ms']:.1f} | "
                       f"{e['with_p50_ms']:.2f} / {e['without_p50_ms']:.2f} | {e['with_p95_ms']:.2f} / "
                       f"{e['without_p95_ms']:.2f} | {e['rows']} | {e['triggers']} |")
        out += ["", "on_change timed inside the action's transaction (the wording rendered, the row's INSERT, the "
                    "trigger, which schedules deliver_soon at most about once a second per process); accepts by a "
                    "supervisor on open requests (the seed leaves ~2 % open: closed ones reopened at their last "
                    "stage, so their accept completes them: "
                    + ", ".join(f"{r['backend']} {r['notify']['enqueue']['reopened']:,}" for r in enqueued)
                    + "), in pairs with and without the notification (on_change replaced by a no-op) in random "
                    "order, after a warm-up; no consumer running."]
    return out


def throughput_ratios(results, opts):
    found = []
    for backend in dict.fromkeys(r["backend"] for r in results):
        measured = sorted(((r["size"], _page(r, "queue", opts.connections)) for r in results
                           if r["backend"] == backend and _page(r, "queue", opts.connections)),
                          key=lambda pair: pair[0])
        if len(measured) >= 2:
            (small_size, small), (large_size, large) = measured[0], measured[-1]
            found.append((backend, {"size": small_size, **small}, {"size": large_size, **large},
                          small["rps"] / large["rps"]))
    return found


def verdicts(results, opts) -> list[str]:
    """The issue's figures at the largest size measured per backend."""
    lines = []
    ratios = {backend: ratio for backend, _s, _l, ratio in throughput_ratios(results, opts)}
    for backend in dict.fromkeys(r["backend"] for r in results):
        r = max((r for r in results if r["backend"] == backend), key=lambda r: r["size"])
        at = f"{backend} at {r['size']:,}"
        mark = lambda ok: "met" if ok else "**not met**"  # noqa: E731
        low = opts.low_connections or opts.connections
        for measurement, key, what in (("queue", "queue_p95_ms", "queue page p95"),
                                       ("search", "search_p95_ms", "name search p95")):
            page_low, page_high = _page(r, measurement, low), _page(r, measurement, opts.connections)
            if page_low:
                extra = f", {_ms(page_high['p95_us'])} ms at -c{opts.connections}" \
                    if page_high and page_high is not page_low else ""
                lines.append(f"- {at}: {what} {_ms(page_low['p95_us'])} ms at -c{low}{extra} "
                             f"(target < {TARGETS[key]} ms): {mark(page_low['p95_us'] / 1000 < TARGETS[key])}")
        if backend in ratios:
            lines.append(f"- {backend}: queue throughput ratio smallest/largest {ratios[backend]:.2f}x "
                         f"(target ≤ {TARGETS['ratio']}x): {mark(ratios[backend] <= TARGETS['ratio'])}")
        if r.get("api"):
            a = r["api"]
            lines.append(f"- {at}: API submissions {a['accepted_per_s']:.1f} accepted/s, p95 {_ms(a['p95_us'])} ms "
                         f"(target ≥ {TARGETS['api_per_s']}/s): {mark(a['accepted_per_s'] >= TARGETS['api_per_s'])}"
                         + ("" if not a["problems"] else f"; **failed**: {'; '.join(a['problems'])}"))
        lines += lookup.verdicts(r, at, low, _page)
        lines += scale.verdicts(r, at, low, _page)
        lines += pagecost.verdicts(r, at)
        lines += notify_verdicts(results, backend)
        if r["take"]:
            t = r["take"]
            lines.append(f"- {at}: take next, {t['clerks']} clerks for {t['seconds']:.0f} s: {t['takes']:,} takes, "
                         f"double assignments {t['double_assignments']} (target 0): "
                         f"{mark(t['double_assignments'] == 0 and t['wrong_assignee'] == 0)}; p95 {t['p95_ms']:.1f} ms "
                         f"(target < {TARGETS['take_p95_ms']} ms): {mark(t['p95_ms'] < TARGETS['take_p95_ms'])}")
    return lines


def notify_verdicts(results, backend) -> list[str]:
    """Issue 6's figures, at the size they were measured (the smallest)."""
    mark = lambda ok: "met" if ok else "**not met**"  # noqa: E731
    lines = []
    for r in results:
        n = r.get("notify")
        if r["backend"] != backend or not n:
            continue
        at = f"{backend} at {r['size']:,}"
        failed = "" if not n["problems"] else f"; **failed**: {'; '.join(n['problems'])}"
        if "per_s" in n:
            lines.append(f"- {at}: SMS delivery {n['per_s']:.1f} messages/s with 2 consumer workers "
                         f"({n['received']:,} in {n['span_s']:.1f} s, {n['repeats']} repeats, {n['lost']} lost; "
                         f"target ≥ {TARGETS['notify_per_s']}/s): {mark(n['per_s'] >= TARGETS['notify_per_s'])}"
                         + ("" if n.get("enqueue") else failed))
        if n.get("enqueue"):
            e = n["enqueue"]
            lines.append(f"- {at}: enqueueing adds p50 {e['inner_p50_ms']:.2f} ms, p95 {e['inner_p95_ms']:.2f} ms to "
                         f"an accept (with/without p50 difference {e['diff_p50_ms']:+.2f} ms; target < "
                         f"{TARGETS['enqueue_ms']:g} ms): {mark(e['inner_p95_ms'] < TARGETS['enqueue_ms'])}" + failed)
        elif "per_s" not in n:
            lines.append(f"- {at}: notifications **failed**: {'; '.join(n['problems'])}")
    return lines


def take_line(opts) -> str:
    seconds = f"{opts.take_seconds} s" if opts.take_seconds is not None else "60 s at 1M requests, 15 s below"
    pause = (f"with a random pause of 0-{2 * opts.take_pause:g} s after each answer" if opts.take_pause
             else "without pause (a closed loop)")
    backlog = (f"before it, closed Health requests are reopened (open, unassigned) until {opts.take_backlog} per "
               "second of the run wait, as the seed leaves few waiting" if opts.take_backlog else
               "over the seed's queue as is")
    return (f"- take next: {opts.take_clerks} client threads, each a clerk POSTing in a loop {pause}, for {seconds}; "
            f"{backlog}; latency of the POSTs that took a request (the 303 to it, not followed); in a closed loop, "
            f"with {opts.take_clerks} clients and {opts.workers * opts.threads} server threads, each POST waits for "
            f"the others' (Little's law: latency ≈ {opts.take_clerks} / throughput)")


def report(results, opts, started, finished: bool) -> str:
    low = f" and -c{opts.low_connections}" if opts.low_connections else ""
    header = [
        "# Diwan load benchmark", "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M %Z')}; machine: {os.cpu_count()} cores, "
        f"{platform.platform()}, Python {platform.python_version()}",
        f"- server: gunicorn gthread, {opts.workers} workers x {opts.threads} threads; pages signed in as "
        f"`{CLERK}`; take next as {opts.take_clerks} synthetic Health clerks (`bench-health-NN`, session cookies "
        f"signed with the server's key, CSRF token from the queue page)",
        f"- pages: wrk -t{opts.wrk_threads} -c{opts.connections}{low}, {opts.duration} s each after a "
        f"{opts.warmup} s warm-up per page; all responses 200; "
        + ("connections kept alive" if opts.keep_alive else "a new connection per request (`Connection: close`)"),
        take_line(opts),
        f"- API submissions: wrk -t{min(opts.wrk_threads, opts.connections)} -c{opts.connections} POSTing JSON to "
        f"`{api.PATH}` for {opts.duration} s after a {opts.warmup} s warm-up (bodies of its own), as a portal client "
        f"created in the bench database (bearer token, rate limit {api.RATE_PER_MINUTE:,} a minute: never reached); "
        "each body sent once; accepted: a 201 without `Idempotent-Replayed`; anything else fails the run",
        "- API, CPU ms per submission: CPU time of the gunicorn processes (and of the PostgreSQL cluster) during "
        "the measured run over the requests created; unlike requests/s, it hardly depends on what else runs; "
        "load (1 min): the machine's load average at the end of the run (2 cores)",
        f"- notifications (at the smallest size): {opts.notify_count:,} queued SMS delivered by a real consumer to a "
        "local HTTP gateway (its own process, answering 200 at once), 2 workers, from the first to the last message "
        f"at the gateway; enqueue cost over {opts.notify_actions} accepts with and {opts.notify_actions} without "
        "(tests/bench/notify.py); other CPU there excludes the consumer, gateway, PostgreSQL and Redis",
        "- other CPU: the share of the machine's CPU used during the measurement by processes other than "
        "gunicorn, PostgreSQL, wrk and this driver (a shared machine); above a few percent, the figures are low",
        "- PostgreSQL: a fresh local cluster with default settings, connections pooled per gunicorn worker by the "
        "app (intranet/db.py); SQLite: WAL, as the app configures it",
        f"- total time: {time.monotonic() - started:.0f} s" + ("" if finished else " (incomplete run)"), "",
        "## Figures to reach (issues 3, 5 and 16 at the largest size measured, 6 at the smallest)", "",
        *(verdicts(results, opts) or ["- (nothing measured)"]), "",
    ]
    return "\n".join(header) + "\n" + tables(results, opts) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=None, help="comma-separated request counts (default "
                                                       "10000,100000,1000000; 10000 with --quick)")
    parser.add_argument("--backends", default="sqlite,postgresql", help="sqlite and/or postgresql")
    parser.add_argument("--only", default=",".join(MEASUREMENTS),
                        help=f"comma-separated measurements among {', '.join(MEASUREMENTS)}")
    parser.add_argument("--quick", action="store_true",
                        help="a short run: 10k only (unless --sizes), 5 s per page, 1 s warm-up, 10 s take next")
    parser.add_argument("--duration", type=int, default=None, help="seconds of load per page (default 10)")
    parser.add_argument("--warmup", type=int, default=None, help="seconds of warm-up load per page (0: none; "
                                                                 "default 2)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--low-connections", type=int, default=2,
                        help="a second wrk run of the queue and search pages at this concurrency (0: none)")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--take-clerks", type=int, default=50, help="concurrent clerks on take next")
    parser.add_argument("--take-seconds", type=int, default=None,
                        help="seconds of take next (default: 60 at 1M requests and above, 15 below)")
    parser.add_argument("--take-backlog", type=int, default=200,
                        help="before take next, reopen closed Health requests until this many per second of the "
                             "run wait unassigned (0: the seed's queue as is)")
    parser.add_argument("--take-pause", type=float, default=0.0,
                        help="seconds each clerk waits on average between two take-next POSTs (default 0: "
                             "pressing again as soon as the answer comes)")
    parser.add_argument("--notify-count", type=int, default=None,
                        help="queued SMS delivered in the notification run (default 6000; 2000 with --quick)")
    parser.add_argument("--notify-actions", type=int, default=None,
                        help="accepts timed on each side (with/without the notification; default 500, 200 with "
                             "--quick)")
    parser.add_argument("--count-days", type=int, default=None,
                        help="count only the last N days of the seed's history before the pages (0: all; default: "
                             "all below 10M requests, the last 45 from 10M on, see tests/bench/scale.py)")
    parser.add_argument("--renewal-count", type=int, default=None,
                        help="periodic benefits due for the renewal job (default 100000; 5000 with --quick)")
    parser.add_argument("--pagecost-instructions", action="store_true",
                        help="with pagecost: also count each page's instructions under valgrind's callgrind "
                             "(one worker, one thread; tests/bench/pagecost.py instructions)")
    parser.add_argument("--pagecost-rounds", type=int, default=2,
                        help="page cost (issue 21): rounds of the bare, queue and request pages in turn, "
                             "--duration seconds each")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--keep-alive", action="store_true",
                        help="reuse connections (default: a new connection per request, see run_wrk)")
    parser.add_argument("--output", default=str(ROOT / "instance" / "bench-results.md"))
    opts = parser.parse_args(argv)
    if opts.quick:
        opts.sizes = opts.sizes or "10000"
        opts.duration = 5 if opts.duration is None else opts.duration
        opts.warmup = 1 if opts.warmup is None else opts.warmup
        opts.take_seconds = 10 if opts.take_seconds is None else opts.take_seconds
        opts.notify_count = 2000 if opts.notify_count is None else opts.notify_count
        opts.notify_actions = 200 if opts.notify_actions is None else opts.notify_actions
        opts.renewal_count = renewals.QUICK_SIZE if opts.renewal_count is None else opts.renewal_count
    opts.renewal_count = renewals.SIZE if opts.renewal_count is None else opts.renewal_count
    opts.notify_count = 6000 if opts.notify_count is None else opts.notify_count
    opts.notify_actions = 500 if opts.notify_actions is None else opts.notify_actions
    opts.sizes = opts.sizes or "10000,100000,1000000"
    opts.duration = 10 if opts.duration is None else opts.duration
    opts.warmup = 2 if opts.warmup is None else opts.warmup
    sizes = [int(s.replace("_", "")) for s in opts.sizes.split(",") if s.strip()]
    # inserts hardly depend on how many requests are there already: the API at the smallest and largest size only
    opts.api_sizes = {min(sizes), max(sizes)}
    opts.notify_size = min(sizes)  # delivery hardly depends on the seeded size either: once per backend
    backends = [b.strip() for b in opts.backends.split(",") if b.strip()]
    opts.only = [m.strip() for m in opts.only.split(",") if m.strip()]
    unknown = set(opts.only) - set(MEASUREMENTS)
    if unknown:
        parser.error(f"--only: unknown {', '.join(sorted(unknown))} (choose among {', '.join(MEASUREMENTS)})")
    if not Path(WRK).exists():
        raise BenchFailed("wrk is not installed (apt-get install wrk)")

    from intranet.auth import demo_directory

    started = time.monotonic()
    output = Path(opts.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    results = []
    ldap_dir = tempfile.mkdtemp(prefix="diwan-bench-ldap-")
    directory = None
    finished = False
    try:
        directory = demo_directory.start(run_dir=ldap_dir)
        for backend in backends:
            for size in sizes:
                bench_one(backend, size, directory, opts, results)
                output.write_text(report(results, opts, started, finished=False))
        finished = True
    finally:
        if directory is not None:
            directory.stop()
        shutil.rmtree(ldap_dir, ignore_errors=True)
        if results:
            text = report(results, opts, started, finished)
            output.write_text(text)
            print("\n" + text, flush=True)
            log(f"written to {output}")
    failed_notify = [r for r in results if r.get("notify") and r["notify"]["problems"]]
    if failed_notify:
        raise BenchFailed("notifications: " + "; ".join(
            f"{r['backend']} {r['size']:,}: {'; '.join(r['notify']['problems'])}" for r in failed_notify))
    failed_hosts = [r for r in results if r.get("multihost") and r["multihost"]["problems"]]
    if failed_hosts:
        raise BenchFailed("several hosts: " + "; ".join(
            f"{r['backend']}: {'; '.join(r['multihost']['problems'])}" for r in failed_hosts))
    failed_payouts = [r for r in results if r.get("payouts") and r["payouts"]["problems"]]
    if failed_payouts:
        raise BenchFailed("payout export: " + "; ".join(
            f"{r['backend']}: {'; '.join(r['payouts']['problems'])}" for r in failed_payouts))
    failed_renewals = [r for r in results if r.get("renewals") and r["renewals"]["problems"]]
    if failed_renewals:
        raise BenchFailed("renewals: " + "; ".join(
            f"{r['backend']}: {'; '.join(r['renewals']['problems'])}" for r in failed_renewals))
    failed_bookings = [r for r in results if r.get("bookings") and r["bookings"]["problems"]]
    if failed_bookings:
        raise BenchFailed("bookings: " + "; ".join(
            f"{r['backend']}: {'; '.join(r['bookings']['problems'])}" for r in failed_bookings))
    failed_api = [r for r in results if r.get("api") and r["api"]["problems"]]
    if failed_api:
        raise BenchFailed("API submissions: " + "; ".join(
            f"{r['backend']} {r['size']:,}: {'; '.join(r['api']['problems'])}" for r in failed_api))
    wrong = [r for r in results if r["take"] and (r["take"]["double_assignments"] or r["take"]["wrong_assignee"]
                                                   or r["take"]["told_twice"] or r["take"]["errors"])]
    if wrong:
        raise BenchFailed("take next: " + "; ".join(
            f"{r['backend']} {r['size']:,}: {r['take']['double_assignments']} double assignments, "
            f"{r['take']['wrong_assignee']} assignee not the claimer, {r['take']['told_twice']} told twice, "
            f"{r['take']['errors']} failed POSTs (first: {r['take']['first_error'] or '-'})" for r in wrong))


if __name__ == "__main__":
    main()
