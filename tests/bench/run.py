"""Load benchmark: seed N requests, serve them with gunicorn, and measure two pages with wrk.

    .venv/bin/python tests/bench/run.py [--sizes 10000,100000,1000000] [--backends sqlite,postgresql]

For each backend and size: a fresh database (a SQLite file, or a throwaway PostgreSQL cluster), the schema,
the definitions, `intranet.seed.seed(N)` (timed), the demo directory (slapd), gunicorn (2 gthread workers x 4
threads), a sign-in as the Health clerk `health1`, then wrk against

  queue    GET /queues/health?type=health_care          (the first 25 rows of the department queue, filtered)
  request  GET /requests/<tracking number>               (rotating over ~500 requests of the Health department)

Each page must answer 200 to the signed-in clerk before it is loaded (a redirect to /login fails the run), and
every response under load must be a 200 as well. Requests per second, p50 and p95 (from wrk's own latency
histogram, through a Lua done()) go to a Markdown table on stdout and in instance/bench-results.md.
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

from tests.bench.pg import PostgresCluster, free_port  # noqa: E402

VENV_BIN = Path(sys.executable).parent
WRK = shutil.which("wrk") or "/usr/bin/wrk"
CLERK, PASSWORD, DEPARTMENT, REQUEST_TYPE = "health1", "demo", "health", "health_care"
SAMPLE = 500  # tracking numbers the request-page load rotates over
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

def prepare_database(url: str, size: int) -> dict:
    """Schema, definitions and `size` seeded requests; returns seed counts, the sample of tracking numbers and
    the database size."""
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
    return {"counts": counts, "numbers": numbers, "megabytes": megabytes}


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
    its children, and the children it reaped) and wrk. Near 0: the figures are the stack's own."""

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
        self.children = os.times().children_user + os.times().children_system
        return self

    def __exit__(self, *exc):
        elapsed = time.monotonic() - self.started
        wrk_cpu = os.times().children_user + os.times().children_system - self.children
        ours = self._ours(_process_cpu()) - self.ours + wrk_cpu
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


# --- one backend x size -----------------------------------------------------------------------------------------------

def bench_one(backend: str, size: int, directory, opts) -> list[dict]:
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
        prepared = prepare_database(url, size)
        counts = prepared["counts"]
        log(f"{backend} {size:,}: seeded {counts['requests']:,} requests, {counts['citizens']:,} citizens, "
            f"{counts['history']:,} history rows in {counts['seconds']} s ({prepared['megabytes']:.0f} MB)")

        served_url = url.replace("postgresql://", "postgresql+pool://", 1) if opts.pg_pool else url
        env = dict(os.environ, INTRANET_DATABASE_URL=served_url, INTRANET_INSTANCE_DIR=str(workdir),
                   INTRANET_HUEY_URL=f"sqlite:///{workdir / 'huey.db'}", INTRANET_SECRET_KEY="bench-secret-key",
                   INTRANET_LDAP_URL=directory.ldap_uri.rstrip("/"), INTRANET_ATTACHMENT_DIR=str(workdir / "files"))
        server = Gunicorn(env, workdir, opts.workers, opts.threads)
        stack.callback(server.stop)
        server.wait_ready()

        session = Session(server.base)
        queue_path = f"/queues/{DEPARTMENT}?type={REQUEST_TYPE}"
        numbers = prepared["numbers"]
        try:
            session.login(CLERK, PASSWORD)
            session.must_be_ok(queue_path)
            for number in numbers[:: max(1, len(numbers) // 25)]:  # a sample; wrk checks every answer below
                session.must_be_ok(f"/requests/{number}", expect_text=number)
        except BenchFailed as failed:
            raise BenchFailed(f"{failed.code.removeprefix(chr(10) + 'BENCH FAILED: ')}\n"
                              f"--- gunicorn log (last lines) ---\n{server.log_tail()}") from None
        cookie = session.cookie_header()

        fixed = workdir / "fixed.lua"
        fixed.write_text(LUA_FIXED)
        rotate = workdir / "rotate.lua"
        rotate.write_text(LUA_ROTATE.replace("__PATHS__", ", ".join(f'"/requests/{n}"' for n in numbers)))
        pages = [("queue", queue_path, fixed), ("request", f"/requests/{numbers[0]}", rotate)]
        rows = []
        for page, path, script in pages:
            if opts.warmup:
                run_wrk(server.base + path, cookie, script, opts.warmup, opts.wrk_threads, opts.connections,
                        opts.keep_alive)
            log(f"{backend} {size:,}: wrk {page} page for {opts.duration} s")
            with CpuWatch(server.proc.pid, postmaster) as watch:
                result = run_wrk(server.base + path, cookie, script, opts.duration, opts.wrk_threads,
                                 opts.connections, opts.keep_alive)
            log(f"  {result['rps']:.1f} req/s, p50 {result['p50_us'] / 1000:.1f} ms, "
                f"p95 {result['p95_us'] / 1000:.1f} ms")
            rows.append({"backend": backend, "size": size, "seed_s": counts["seconds"],
                         "megabytes": prepared["megabytes"], "page": page, "path": path,
                         "sample": len(numbers) if page == "request" else 1, "other_cpu": watch.other_share, **result})
        return rows


# --- report ------------------------------------------------------------------------------------------------------------

def table(rows) -> str:
    lines = ["| backend | requests | seeding (s) | DB size (MB) | page | requests/s | p50 (ms) | p95 (ms) "
             "| p99 (ms) | other CPU |",
             "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        label = f"queue (`/queues/{DEPARTMENT}?type={REQUEST_TYPE}`)" if r["page"] == "queue" else \
            f"request (`/requests/<n>`, {r['sample']} numbers)"
        lines.append(f"| {r['backend']} | {r['size']:,} | {r['seed_s']:.1f} | {r['megabytes']:.0f} | {label} | "
                     f"{r['rps']:.1f} | {r['p50_us'] / 1000:.1f} | {r['p95_us'] / 1000:.1f} | "
                     f"{r['p99_us'] / 1000:.1f} | {r['other_cpu']:.0f} % |")
    return "\n".join(lines)


def report(rows, opts, started, finished: bool) -> str:
    header = [
        "# Diwan load benchmark", "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M %Z')}; machine: {os.cpu_count()} cores, "
        f"{platform.platform()}, Python {platform.python_version()}",
        f"- server: gunicorn gthread, {opts.workers} workers x {opts.threads} threads; signed in as `{CLERK}`",
        f"- load: wrk -t{opts.wrk_threads} -c{opts.connections}, {opts.duration} s per page after a "
        f"{opts.warmup} s warm-up; all responses 200; "
        + ("connections kept alive" if opts.keep_alive else "a new connection per request (`Connection: close`)"),
        "- other CPU: the share of the machine's CPU used during the measurement by processes other than "
        "gunicorn, PostgreSQL and wrk (a shared machine); above a few percent, the figures are low",
        "- PostgreSQL: a fresh local cluster with default settings"
        + (", served through peewee's connection pool (postgresql+pool://)" if opts.pg_pool else
           ", one connection per HTTP request as the app opens them")
        + "; SQLite: WAL, as the app configures it",
        f"- total time: {time.monotonic() - started:.0f} s" + ("" if finished else " (incomplete run)"), "",
    ]
    return "\n".join(header) + "\n" + table(rows) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated request counts")
    parser.add_argument("--backends", default="sqlite,postgresql", help="sqlite and/or postgresql")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per page")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up load per page (0: none)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--keep-alive", action="store_true",
                        help="reuse wrk's connections (default: a new connection per request, see run_wrk)")
    parser.add_argument("--pg-pool", action="store_true",
                        help="serve PostgreSQL through peewee's connection pool (postgresql+pool://)")
    parser.add_argument("--output", default=str(ROOT / "instance" / "bench-results.md"))
    opts = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in opts.sizes.split(",") if s.strip()]
    backends = [b.strip() for b in opts.backends.split(",") if b.strip()]
    if not Path(WRK).exists():
        raise BenchFailed("wrk is not installed (apt-get install wrk)")

    from intranet.auth import demo_directory

    started = time.monotonic()
    output = Path(opts.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    ldap_dir = tempfile.mkdtemp(prefix="diwan-bench-ldap-")
    directory = None
    try:
        directory = demo_directory.start(run_dir=ldap_dir)
        for backend in backends:
            for size in sizes:
                rows.extend(bench_one(backend, size, directory, opts))
                output.write_text(report(rows, opts, started, finished=False))
    finally:
        if directory is not None:
            directory.stop()
        shutil.rmtree(ldap_dir, ignore_errors=True)
        if rows:
            text = report(rows, opts, started, finished=len(rows) == 2 * len(sizes) * len(backends))
            output.write_text(text)
            print("\n" + text, flush=True)
            log(f"written to {output}")


if __name__ == "__main__":
    main()
