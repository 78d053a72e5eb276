"""The notification figures of issue 6: delivery throughput to a local gateway, and what enqueueing adds to an action.

tests/bench/run.py drives it (`--only notify`), once per backend at the smallest size of a run, against the
benchmark's seeded database:

- **Delivery.** A local SMS gateway (`gateway`, its own process: a ThreadingHTTPServer that checks the bearer token,
  answers 200 `{"message_id": ...}` at once and records every reference it receives, counting repeats); N queued SMS
  rows written in bulk for seeded requests and their citizens (the default Arabic or English wording of
  "request received" / "moved on", filled in with each request's own values); a real consumer
  (`huey_consumer jobs.huey -k thread -w 2`, the flags `flask demo` uses) with the database, the queue (SQLite: a
  SqliteHuey file; PostgreSQL: a Redis server, by configuration only), the gateway and `QUIET_HOURS=off` in its
  environment; then one `jobs.notify.deliver_soon` enqueued on that queue from another process (`trigger`), as
  the web app's trigger does. The engine does the rest: the first run asks the second worker to help when its first
  batch is full, and continues itself past its limit. Measured: from the first to the last message the gateway
  accepted (the throughput), and from the trigger to the last row marked sent in the database (polled). Then
  checked: every row sent, each reference received exactly once (repeats counted), none lost, none unknown.
  CPU seconds of the consumer, the gateway and the database/queue servers over the run.
- **Enqueue cost.** In a process of its own (`enqueue`: the app, against the same database and queue, no
  consumer running), `workflow.accept` by a supervisor on seeded open requests, alternately with the real
  `events.on_change` (timed on its own: rendering, the row's INSERT and the trigger, inside the action's
  transaction) and with it replaced by a no-op; the added time is on_change's own, and the difference between
  the two halves' accept times (which includes the larger commit) is a cross-check.
"""
import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.loopback import JsonHandler  # noqa: E402

TOKEN = "bench-gateway-token"
TARGET_PER_S = 200
TARGET_ENQUEUE_MS = 2.0
# as `flask demo` starts it (intranet/demo.py): polling delays are huey's defaults
CONSUMER_ARGS = ["-m", "huey.bin.huey_consumer", "jobs.huey", "-k", "thread", "-w", "2"]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SUPERVISOR = "bench-notify-supervisor"


def _log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the gateway (its own process) -------------------------------------------------------------------------------

def serve_gateway(port: int):
    """Answer every POST with 200 {"message_id": ...} at once; GET /stats: what was received."""
    lock = threading.Lock()
    seen: dict[str, int] = {}
    state = {"posts": 0, "bad": 0, "first": None, "last": None, "bytes": 0}

    class Handler(JsonHandler):
        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            now = time.time()
            try:
                reference = str(json.loads(raw)["reference"])
                ok = self.headers.get("Authorization") == f"Bearer {TOKEN}"
            except (ValueError, KeyError, TypeError):
                ok = False
            with lock:
                state["posts"] += 1
                if not ok:
                    state["bad"] += 1
                else:
                    seen[reference] = seen.get(reference, 0) + 1
                    state["bytes"] += len(raw)
                    state["first"] = state["first"] or now
                    state["last"] = now
            if not ok:
                return self.answer(401, {"error": "bad token or body"})
            self.answer(200, {"message_id": f"gw-{reference}", "status": "accepted"})

        def do_GET(self):
            with lock:
                body = {**state, "distinct": len(seen), "repeats": sum(n - 1 for n in seen.values()),
                        "references": list(seen) if self.path == "/references" else None}
            self.answer(200, body)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.request_queue_size = 256
    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=server.shutdown).start())
    print("ready", flush=True)
    server.serve_forever(poll_interval=0.1)


class Gateway:
    def __init__(self, workdir: Path):
        from tests.bench.pg import free_port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1/messages"
        self.proc = subprocess.Popen([sys.executable, __file__, "gateway", "--port", str(self.port)], cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=open(workdir / "gateway.log", "w"), text=True,
                                     start_new_session=True)
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the bench gateway did not start: {(workdir / 'gateway.log').read_text()}")

    def stats(self, references=False) -> dict:
        path = "/references" if references else "/stats"
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as answer:
            return json.loads(answer.read())

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


# --- CPU of the processes involved ------------------------------------------------------------------------------

def _machine_busy() -> float:
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, stat.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def _processes() -> dict[int, tuple[int, float, float]]:
    """pid -> (parent pid, own CPU seconds, CPU seconds of reaped children)."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            found[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS,
                                 (int(fields[13]) + int(fields[14])) / CLOCK_TICKS)
    return found


class Cpu:
    """CPU seconds per named process tree (a root pid, its children's own time and what it reaped) over a
    stretch, and the share of the machine other processes used meanwhile."""

    def __init__(self, roots: dict[str, int | None]):
        self.roots = {name: pid for name, pid in roots.items() if pid}

    def _sample(self):
        processes = _processes()
        out = {}
        for name, root in self.roots.items():
            total = 0.0
            for pid, (ppid, own, reaped) in processes.items():
                if pid == root:
                    total += own + reaped
                elif ppid == root:
                    total += own
            out[name] = total
        times = os.times()
        out["driver"] = times.user + times.system + times.children_user + times.children_system
        return out

    def __enter__(self):
        self.started, self.busy, self.before = time.monotonic(), _machine_busy(), self._sample()
        return self

    def __exit__(self, *exc):
        elapsed = time.monotonic() - self.started
        after = self._sample()
        self.seconds = {name: after[name] - self.before.get(name, 0.0) for name in after}
        other = max(0.0, _machine_busy() - self.busy - sum(self.seconds.values()))
        self.other_share = 100 * other / (elapsed * (os.cpu_count() or 1))


# --- the rows ------------------------------------------------------------------------------------------------------

HELD_UNTIL_DAYS = 1  # written not due yet, so that no sweep sends them before the trigger (see release_rows)


def write_rows(url: str, count: int) -> dict:
    """`count` queued SMS rows for seeded requests and their citizens, in the default wording; due only in a day,
    until `release_rows` (the consumer's sweep, run as it starts and every minute, would otherwise send them)."""
    from babel.dates import format_date

    from intranet import db
    from intranet.models import Citizen, Notification, Request, RequestType, Stage, utcnow
    from intranet.notify import wording

    database = db.init_database(url)
    with database.connection_context():
        found = list(Request.select(Request.id, Request.tracking_number, Request.due_at, Citizen.id, Citizen.phone,
                                    Citizen.preferred_language, RequestType.name_ar, RequestType.name_en,
                                    Stage.name_ar, Stage.name_en)
                     .join(Citizen, on=(Request.citizen == Citizen.id))
                     .switch(Request).join(RequestType, on=(Request.request_type == RequestType.id))
                     .switch(Request).join(Stage, on=(Request.stage == Stage.id))
                     .where(Citizen.phone.is_null(False) & (Citizen.phone != ""))
                     .order_by(Request.id).limit(count).tuples())
        if not found:
            raise RuntimeError("no seeded request with a citizen's phone to notify")
        parsed = {(event, lang): wording.parse(wording.DEFAULTS[(event, "sms", lang)][1])[0]
                  for event in ("request_received", "moved_on") for lang in ("ar", "en")}
        now = utcnow()
        held = now + timedelta(days=HELD_UNTIL_DAYS)
        rows, lengths, arabic = [], 0, 0
        for n in range(count):
            rid, number, due, cid, phone, language, type_ar, type_en, stage_ar, stage_en = found[n % len(found)]
            language = language if language in ("ar", "en") else "ar"
            event = "moved_on" if n % 2 else "request_received"
            context = {"tracking_number": number, "request_type": type_ar if language == "ar" else type_en,
                       "stage": stage_ar if language == "ar" else stage_en,
                       "due_date": format_date(due, "medium", locale=language)}
            body = wording.render(parsed[(event, language)], context)
            lengths += len(body)
            arabic += language == "ar"
            rows.append({"request": rid, "citizen": cid, "event": event, "channel": "sms", "language": language,
                         "recipient": phone, "body": body, "dedupe_key": f"bench-notify:{n}:sms",
                         "next_attempt_at": held, "created_at": now})
        with database.atomic():
            for start in range(0, len(rows), 500):
                Notification.insert_many(rows[start:start + 500]).execute()
    database.close()
    return {"rows": count, "body_chars": lengths / count, "arabic": arabic, "sample": rows[0]["body"]}


def release_rows(url: str) -> int:
    """The bench's rows become due now."""
    from intranet import db
    from intranet.models import Notification as N
    from intranet.models import utcnow

    database = db.init_database(url)
    with database.connection_context():
        released = N.update(next_attempt_at=utcnow()).where(
            N.dedupe_key.startswith("bench-notify:") & (N.status == "queued")).execute()
    database.close()
    return released


def _account(url: str) -> dict:
    """Notification rows by status, and the ids still to send."""
    from peewee import fn

    from intranet import db
    from intranet.models import Notification as N

    database = db.init_database(url)
    with database.connection_context():
        by_status = dict(N.select(N.status, fn.COUNT(N.id)).group_by(N.status).tuples())
    database.close()
    return by_status


def _queued_ids(url: str) -> set[str]:
    from intranet import db
    from intranet.models import Notification as N
    from intranet.models import utcnow

    database = db.init_database(url)
    with database.connection_context():
        ids = {str(row[0]) for row in N.select(N.id).where((N.status == "queued") & (N.channel == "sms")
                                                             & (N.next_attempt_at <= utcnow())).tuples()}
    database.close()
    return ids


def _last_sent_at(url: str):
    from peewee import fn

    from intranet import db
    from intranet.models import Notification as N
    from intranet.models import NotificationAttempt as A

    database = db.init_database(url)
    with database.connection_context():
        last = N.select(fn.MAX(N.sent_at)).scalar()
        outcomes = dict(A.select(A.outcome, fn.COUNT(A.id)).group_by(A.outcome).tuples())
    database.close()
    return last, outcomes


# --- the driver's side --------------------------------------------------------------------------------------------

def _env(url: str, queue_url: str, workdir: Path, gateway_url: str, secret: str) -> dict:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
                INTRANET_DATABASE_URL=url, INTRANET_HUEY_URL=queue_url, INTRANET_INSTANCE_DIR=str(workdir),
                INTRANET_SECRET_KEY=secret, INTRANET_SMS_GATEWAY="http", INTRANET_SMS_GATEWAY_URL=gateway_url,
                INTRANET_SMS_GATEWAY_TOKEN=TOKEN, INTRANET_QUIET_HOURS="off", INTRANET_MAIL_BACKEND="file",
                INTRANET_MAIL_FILE=str(workdir / "mail-outbox.txt"), INTRANET_SMS_FILE=str(workdir / "sms.jsonl"),
                INTRANET_ATTACHMENT_DIR=str(workdir / "files"))


def _stop(proc, timeout=20):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)  # huey's graceful signal: workers finish their task
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _tail(path: Path, lines=30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def bench(backend: str, url: str, workdir: Path, postmaster: int | None, opts, secret: str) -> dict:
    """Both figures for one backend; `problems` lists whatever makes the run fail."""
    from tests.servers import Redis

    problems = []
    result = {"problems": problems}
    redis = gateway = consumer = None
    try:
        if backend == "postgresql":
            redis = Redis(workdir).start()
            queue_url = redis.url
            queue_name = "Redis"
        else:
            queue_url = f"sqlite:///{workdir / 'notify-huey.db'}"
            queue_name = "SqliteHuey"
        gateway = Gateway(workdir)
        env = _env(url, queue_url, workdir, gateway.url, secret)
        already = len(_queued_ids(url))
        written = write_rows(url, opts.notify_count)
        _log(f"  {written['rows']:,} queued SMS written ({written['body_chars']:.0f} characters on average, "
             f"{written['arabic']:,} in Arabic; {already:,} due before), queue {queue_name}, gateway {gateway.url}")

        consumer_log = workdir / "consumer.log"
        consumer = subprocess.Popen([sys.executable, *CONSUMER_ARGS, "-l", str(consumer_log)], cwd=ROOT, env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while "consumer started" not in _tail(consumer_log, 100).lower():
            if consumer.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the consumer did not start:\n{_tail(consumer_log)}")
            time.sleep(0.1)
        # as it starts, the consumer runs the minute's periodic tasks (the sweeper among them): let that one finish
        # (it sends whatever was due before: not counted) before the bench's rows become due
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not any("sweep_notifications" in line and "executed in" in line
                                                      for line in _tail(consumer_log, 200).splitlines()):
            time.sleep(0.1)
        time.sleep(0.5)
        released = release_rows(url)
        expected = _queued_ids(url)
        if released != written["rows"]:
            problems.append(f"{written['rows'] - released} of the bench's rows were sent before the trigger")
        redis_pid = int((redis.dir / "redis.pid").read_text()) if redis else None
        timeout = max(120.0, opts.notify_count / 20)
        with Cpu({"consumer": consumer.pid, "gateway": gateway.proc.pid, "postgresql": postmaster,
                  "redis": redis_pid}) as cpu:
            done = subprocess.run([sys.executable, __file__, "trigger"], cwd=ROOT, env=env, capture_output=True,
                                  text=True, timeout=60)
            if done.returncode != 0:
                raise RuntimeError(f"enqueueing deliver_soon failed:\n{done.stdout}\n{done.stderr}")
            triggered = float(done.stdout.split()[-1])
            _log(f"  deliver_soon enqueued on {queue_name}; waiting for {len(expected):,} messages")
            finished = None
            last_report = time.monotonic()
            stop_at = time.monotonic() + timeout
            while time.monotonic() < stop_at:
                by_status = _account(url)
                if not by_status.get("queued") and not by_status.get("sending"):
                    finished = time.time()
                    break
                if consumer.poll() is not None:
                    problems.append(f"the consumer exited with {consumer.returncode}")
                    break
                if time.monotonic() - last_report > 10:
                    last_report = time.monotonic()
                    _log(f"  ... {by_status}")
                time.sleep(0.1)
            time.sleep(0.5)  # nothing more should come: a late repeat would show
        stats = gateway.stats(references=True)
        by_status = _account(url)
        last_sent, outcomes = _last_sent_at(url)
        received = set(stats["references"])
        lost = expected - received
        unknown = received - expected
        unfinished = by_status.get("queued", 0) + by_status.get("sending", 0)
        if finished is None and not problems:
            problems.append(f"not all sent within {timeout:.0f} s: {by_status}")
        if unfinished:
            problems.append(f"{unfinished} rows still queued or sending")
        if by_status.get("failed"):
            problems.append(f"{by_status['failed']} rows failed")
        if lost:
            problems.append(f"{len(lost)} messages never reached the gateway")
        if stats["repeats"]:
            problems.append(f"{stats['repeats']} messages reached the gateway twice")
        if stats["bad"]:
            problems.append(f"{stats['bad']} POSTs the gateway refused")
        span = (stats["last"] - stats["first"]) if stats["first"] else 0.0
        per_s = stats["distinct"] / span if span > 0 else 0.0
        seconds = cpu.seconds
        result.update({
            "queue": queue_name, "rows": written["rows"], "expected": len(expected), "already_queued": already,
            "body_chars": written["body_chars"], "arabic": written["arabic"], "sample": written["sample"],
            "received": stats["distinct"], "posts": stats["posts"], "repeats": stats["repeats"], "lost": len(lost),
            "unknown": len(unknown), "bad": stats["bad"], "span_s": span, "per_s": per_s,
            "first_after_s": (stats["first"] - triggered) if stats["first"] else None,
            "all_sent_s": (finished - triggered) if finished else None,
            "sent": by_status.get("sent", 0), "by_status": by_status, "attempts": outcomes,
            "consumer_cpu_s": seconds.get("consumer", 0.0), "gateway_cpu_s": seconds.get("gateway", 0.0),
            "database_cpu_s": seconds.get("postgresql", 0.0) + seconds.get("redis", 0.0),
            "other_cpu": cpu.other_share, "load": os.getloadavg(),
        })
        result["consumer_ms_per_message"] = 1000 * result["consumer_cpu_s"] / max(1, stats["distinct"])
        _log(f"  {stats['distinct']:,} messages in {span:.1f} s at the gateway: {per_s:.1f}/s (first "
             f"{result['first_after_s'] or 0:.1f} s after the trigger, all sent in the database "
             f"{result['all_sent_s'] or 0:.1f} s after it); repeats {stats['repeats']}, lost {len(lost)}; CPU "
             f"consumer {result['consumer_cpu_s']:.1f} s ({result['consumer_ms_per_message']:.2f} ms a message), "
             f"gateway {result['gateway_cpu_s']:.1f} s, {queue_name}/PostgreSQL {result['database_cpu_s']:.1f} s; "
             f"other CPU {cpu.other_share:.0f} %" + (f"; PROBLEMS: {'; '.join(problems)}" if problems else ""))
        if problems:
            _log(f"--- consumer log (last lines) ---\n{_tail(consumer_log, 40)}")
        _stop(consumer)
        consumer = None
        lines = _tail(consumer_log, 100000).splitlines()
        result["runs"] = {name: sum(f"notify.{name}" in line and "executed in" in line for line in lines)
                          for name in ("deliver_soon", "sweep_notifications")}

        # the enqueue cost: the app in a process of its own, against the same database and queue, no consumer
        _log(f"  enqueue cost: {opts.notify_actions} accepts with notifications and {opts.notify_actions} without")
        done = subprocess.run([sys.executable, __file__, "enqueue", "--actions", str(opts.notify_actions)], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=600)
        line = next((ln for ln in reversed(done.stdout.splitlines()) if ln.startswith("{")), None)
        if done.returncode != 0 or line is None:
            raise RuntimeError(f"the enqueue measurement failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        enqueue = json.loads(line)
        result["enqueue"] = enqueue
        if enqueue["problems"]:
            problems.extend(enqueue["problems"])
        _log(f"  on_change inside the transaction: p50 {enqueue['inner_p50_ms']:.2f} ms, p95 "
             f"{enqueue['inner_p95_ms']:.2f} ms, max {enqueue['inner_max_ms']:.1f} ms; accept p50 "
             f"{enqueue['with_p50_ms']:.2f} ms with, {enqueue['without_p50_ms']:.2f} ms without (difference "
             f"{enqueue['diff_p50_ms']:+.2f} ms); {enqueue['rows']} rows, {enqueue['triggers']} triggers scheduled, "
             f"{enqueue['reopened']} closed requests reopened")
    finally:
        if consumer is not None:
            _stop(consumer)
        if gateway is not None:
            gateway.stop()
        if redis is not None:
            redis.stop()
    return result


# --- in the subprocesses ------------------------------------------------------------------------------------------

def trigger():
    """What the web app's trigger does: deliver_soon on the configured queue (INTRANET_HUEY_URL)."""
    from jobs.notify import deliver_soon
    deliver_soon()
    print(time.time(), flush=True)


def _pct(values, share):
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(share / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def reopen(wanted: int) -> int:
    """At least `wanted` open requests: the seed leaves ~2 % open (181 at 10k); closed ones (completed or rejected,
    at their last stage) are reopened, unassigned, so that accepting them completes them. Call in a connection
    context."""
    from intranet.db import transaction
    from intranet.models import Request

    missing = wanted - Request.select().where(Request.status == "open").count()
    if missing <= 0:
        return 0
    closed = (Request.select(Request.id).where(Request.status.in_(("completed", "rejected")))
              .order_by(Request.id.desc()).limit(missing))
    with transaction():
        return (Request.update(status="open", closed_at=None, assignee=None, paused_at=None, returned_from=None)
                .where(Request.id.in_(closed)).execute())


def measure_enqueue(actions: int, warmup: int = 50, seed: int = 6) -> dict:
    """workflow.accept by a supervisor on open seeded requests, alternately with and without the notification."""
    from intranet import create_app, db, workflow
    from intranet.models import Department, Notification, Request, Staff
    from intranet.notify import delivery, events

    app = create_app()
    rng = random.Random(seed)
    problems = []
    with app.app_context(), db.database.connection_context():
        department = Department.get(Department.code == "health")
        actor, _ = Staff.get_or_create(username=SUPERVISOR, defaults={
            "full_name": "مشرف القياس", "role": "supervisor", "department": department})
        needed = warmup + 2 * actions
        reopened = reopen(needed)
        ids = [row[0] for row in Request.select(Request.id).where(Request.status == "open").tuples()]
        rng.shuffle(ids)
        before = Notification.select().count()

        real_on_change, real_trigger = events.on_change, delivery.trigger_soon
        inner, trigger_ms, scheduled = [], [], [0]

        def timed_on_change(req, entry):
            start = time.perf_counter()
            real_on_change(req, entry)
            inner.append(time.perf_counter() - start)

        def counted_trigger():
            start = time.perf_counter()
            made = real_trigger()
            trigger_ms.append(time.perf_counter() - start)
            scheduled[0] += bool(made)
            return made

        timings = {"with": [], "without": []}
        delivery.trigger_soon = counted_trigger
        try:
            # after the warm-up, pairs of one with and one without, each pair in a random order: no drift or
            # periodic effect (the trigger's once-a-second, a checkpoint) favours one side
            order = ["with"] * warmup + [variant for _ in range(actions)
                                         for variant in rng.sample(["with", "without"], 2)]
            position = 0
            for n, variant in enumerate(order):
                req = None
                while req is None and position < len(ids):
                    req = Request.get_by_id(ids[position])
                    position += 1
                    # a stage that names its role (the head's approval) is not the supervisor's to decide
                    req = req if req.status == "open" and req.stage.role is None else None
                if req is None:
                    problems.append(f"ran out of open requests after {n} accepts")
                    break
                events.on_change = timed_on_change if variant == "with" else (lambda req, entry: None)
                kept = len(inner)
                start = time.perf_counter()
                workflow.accept(actor, req, req.version, "")
                elapsed = time.perf_counter() - start
                if n < warmup:
                    del inner[kept:]
                    continue
                timings[variant].append(elapsed)
        finally:
            events.on_change, delivery.trigger_soon = real_on_change, real_trigger
        rows = Notification.select().count() - before
    if rows < actions:
        problems.append(f"{actions + warmup} accepts with notifications queued only {rows} rows")
    ms = lambda values, share: 1000 * _pct(values, share)  # noqa: E731
    out = {"actions": actions, "warmup": warmup, "rows": rows, "triggers": scheduled[0], "reopened": reopened,
           "measured": len(timings["with"]) + len(timings["without"]),
           "inner_p50_ms": ms(inner, 50), "inner_p95_ms": ms(inner, 95), "inner_p99_ms": ms(inner, 99),
           "inner_max_ms": ms(inner, 100), "inner_mean_ms": 1000 * statistics.fmean(inner) if inner else 0.0,
           "trigger_p50_ms": ms(trigger_ms, 50), "trigger_max_ms": ms(trigger_ms, 100),
           "with_p50_ms": ms(timings["with"], 50), "with_p95_ms": ms(timings["with"], 95),
           "without_p50_ms": ms(timings["without"], 50), "without_p95_ms": ms(timings["without"], 95),
           "problems": problems}
    out["diff_p50_ms"] = out["with_p50_ms"] - out["without_p50_ms"]
    out["diff_p95_ms"] = out["with_p95_ms"] - out["without_p95_ms"]
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description="parts of the notification benchmark run in their own process")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("gateway").add_argument("--port", type=int, required=True)
    sub.add_parser("trigger")
    sub.add_parser("enqueue").add_argument("--actions", type=int, default=500)
    opts = parser.parse_args(argv)
    if opts.command == "gateway":
        serve_gateway(opts.port)
    elif opts.command == "trigger":
        trigger()
    else:
        print(json.dumps(measure_enqueue(opts.actions)), flush=True)


if __name__ == "__main__":
    main()
