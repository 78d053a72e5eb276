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

Every page must answer 200 to the signed-in clerk before it is loaded (a redirect to /login fails the run), and
every response under load must be a 200 as well (take next: a 303 to the request taken, or back to the queue when
nothing is left). Requests per second, p50, p95 and p99 (from wrk's own latency histogram, through a Lua done())
go to Markdown tables on stdout and in instance/bench-results.md, with the throughput ratio of the queue page
between the smallest and the largest size, and after take next the database's own account: claims written
during the run per request (a request claimed twice is a double assignment) and each claimed request's assignee
against its claimer. A double assignment makes the run exit non-zero (after the report is written).
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

from tests.bench import takenext  # noqa: E402
from tests.bench.pg import PostgresCluster, free_port  # noqa: E402

VENV_BIN = Path(sys.executable).parent
WRK = shutil.which("wrk") or "/usr/bin/wrk"
CLERK, PASSWORD, DEPARTMENT = "health1", "demo", "health"
QUEUE_PATH = f"/queues/{DEPARTMENT}?type=health_care&sla=on_track"  # see intranet/queues/filters.py
SAMPLE = 500  # tracking numbers the request-page load rotates over
SECRET_KEY = "bench-secret-key"
# name search: first names and family names as clerks type them, in the spellings the seed mixes (hamza or not,
# taa marbuta or haa, diacritics, the article or not, a first name with a family name)
NAMES = ("احمد", "أحمد", "مُحَمَّد", "الكواري", "كواري", "فاطمه", "ابراهيم", "عبدالله المري", "نوره",
         "عيسي", "آل ثاني", "الانصاري", "مريم السويدي", "خالد النعيمي", "اسامة", "ليلى")
MEASUREMENTS = ("queue", "search", "request", "take")
TARGETS = {"queue_p95_ms": 50, "ratio": 1.5, "search_p95_ms": 100, "take_p95_ms": 100}
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

def prepare_database(url: str, size: int, clerks: int) -> dict:
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
    def __init__(self, env: dict, workdir: Path, workers: int, threads: int):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "gunicorn.log"
        cmd = [str(VENV_BIN / "gunicorn"), "--no-control-socket", "-k", "gthread", "-w", str(workers),
               "--threads", str(threads), "-b", f"127.0.0.1:{self.port}", "wsgi:app"]
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log_file, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchFailed(f"gunicorn exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                urllib.request.urlopen(self.base + "/login", timeout=2).read()
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise BenchFailed(f"gunicorn did not answer /login within {timeout} s:\n{self.log_tail()}")

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

    def _ours(self, processes) -> float:
        total = 0.0
        for pid, (ppid, pgid, own, reaped) in processes.items():
            if pgid == self.pgid or pid == self.postmaster:
                total += own + reaped
            elif self.postmaster is not None and ppid == self.postmaster:
                total += own
        return total

    def __enter__(self):
        self.started = time.monotonic()
        self.busy = _machine_busy()
        self.ours = self._ours(_process_cpu())
        times = os.times()
        self.load = times.user + times.system + times.children_user + times.children_system
        return self

    def __exit__(self, *exc):
        elapsed = time.monotonic() - self.started
        times = os.times()
        load_cpu = times.user + times.system + times.children_user + times.children_system - self.load
        ours = self._ours(_process_cpu()) - self.ours + load_cpu
        other = max(0.0, _machine_busy() - self.busy - ours)
        self.other_share = 100 * other / (elapsed * (os.cpu_count() or 1))


# --- wrk ------------------------------------------------------------------------------------------------------------

def run_wrk(url: str, cookie: str, script: Path, seconds: int, threads: int, connections: int,
            keep_alive: bool = False) -> dict:
    """wrk against one URL; without keep_alive every request comes on a new connection ("Connection: close"):
    gunicorn's gthread workers each accept what they can, so a handful of kept-alive wrk connections often all
    land on one worker, which then serves alone (one core, the GIL) while the other idles: measured at
    98-205 requests/s on the same server from one 4-s run to the next, against 260-280 with fresh connections."""
    cmd = [WRK, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
           "-H", f"Cookie: {cookie}", *([] if keep_alive else ["-H", "Connection: close"]), "-s", str(script), url]
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


