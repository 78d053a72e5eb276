"""Issue 21, item 1: several hosts, one truth.

Two web hosts (two gunicorn processes, each with an instance folder of its own) and two Huey consumers (each with
its own instance folder too) share only what a deployment on several machines shares: the PostgreSQL database,
one Redis (the job queue in db 0, the rate-limit store in db 1), the volume of attachments, payout files and reports,
and the settings file (the same INTRANET_SECRET_KEY and INTRANET_AUDIT_KEY on every host, as README "Several hosts"
says). Sign-in asks the real directory (slapd). Then, in order:

- **sessions**: signed in on host A (a real POST /login), the cookie opens the queue on host B; signed out on B, a
  copy of the cookie taken before is refused on A.
- **rate limit**: wrong passwords for one user name, alternately on A and B, up to LOGIN_FAILURES_PER_USERNAME;
  the next attempt, even with the right password, is refused (429) on both hosts.
- **take next**: `tests/bench/takenext.py`'s clerks (synthetic Health clerks with server-side sessions), half on
  each host, POST take-next in a loop; a third of the way through, host B is killed with SIGKILL (master and
  workers) and started again on its port; its clerks carry on with their cookies. The database's account
  (takenext.verify): no request claimed twice, every claimed request assigned to its claimer, no tracking
  number told to two clerks.
- **SMS**: N queued SMS rows, one `deliver_soon` on the shared queue (NOTIFY_WORKERS=4: the run asks three
  helpers, which both consumers pick up), to a gateway on loopback (tests/loopback.py) that accepts each
  reference once and counts every POST. A third of the way, the gateway holds every POST, the consumer that
  has a request in flight is killed with SIGKILL, the gateway lets go and the consumer is started again. The
  rows the dead consumer held stay "sending" until their lease (NOTIFY_LEASE_SECONDS) runs out; then the
  sweeper (`sweep_notifications`, enqueued by the driver as the minute's crontab would) gives them back and
  they are sent. Checked: every row sent, every reference accepted by the gateway exactly once, none lost;
  a reference POSTed again only if its row was interrupted by the kill (the gateway drops the repeat, as the
  adapter's contract requires).
- **payout export**: one batch of approved payouts started, `export_batch` enqueued four times on the shared
  queue (both consumers' workers race for it). Checked: released once (one `batch_released` audit entry, three
  files, one run folder), every payout exported.

`run(...)` returns the figures and a list of `problems`; tests/test_multihost.py runs a short version and asserts
on them, tests/bench/run.py (`--only multihost`, PostgreSQL only) a long one and writes the tables.
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.bench import takenext  # noqa: E402
from tests.loopback import JsonHandler, LoopbackServer  # noqa: E402
from tests.servers import Redis  # noqa: E402

SECRET_KEY = "multihost-secret-key-the-same-on-every-host"
AUDIT_KEY = "multihost-audit-key-the-same-on-every-host-0123456789"
GATEWAY_TOKEN = "multihost-gateway-token"
DEPARTMENT = "health"
CLERK, PASSWORD = "health1", "demo"
THROTTLED_USER = "comp1"  # a directory account whose wrong passwords are counted
FAILURES = 5  # LOGIN_FAILURES_PER_USERNAME on both hosts
CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]*)"')
BENCH = {"clerks": 50, "take_seconds": 30, "backlog": 3000, "sms": 10_000, "lease": 15, "payouts": 2000,
         "workers": 2, "threads": 4}
QUICK = {**BENCH, "take_seconds": 12, "sms": 2000, "payouts": 500}


def _log(message):
    print(f"[{time.strftime('%H:%M:%S')}] multihost: {message}", file=sys.stderr, flush=True)


def _tail(path: Path, lines=40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _kill_group(proc: subprocess.Popen, sig=signal.SIGKILL):
    if proc is not None and proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# --- the processes ---------------------------------------------------------------------------------------------

class Host:
    """A web host: gunicorn with its own instance folder, serving a listening socket this driver holds and hands
    to every start (`-b fd://N`), as systemd socket activation does: while a killed host starts again, clients'
    connections wait in the socket's backlog instead of being refused."""

    def __init__(self, name: str, env: dict, workdir: Path, workers: int, threads: int):
        self.name, self.env, self.workers, self.threads = name, env, workers, threads
        self.socket = socket.socket()
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(512)
        self.port = self.socket.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"host-{name}.log"
        self.proc = None

    def start(self):
        fd = self.socket.fileno()
        cmd = [str(Path(sys.executable).parent / "gunicorn"), "--no-control-socket", "-k", "gthread",
               "-w", str(self.workers), "--threads", str(self.threads), "-b", f"fd://{fd}", "wsgi:app"]
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True, pass_fds=(fd,))
        return self

    def wait_ready(self, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"host {self.name} exited with {self.proc.returncode}:\n{_tail(self.log_path)}")
            try:
                status = request(self.base, "GET", "/login", timeout=2)[0]
                if status == 200:
                    return self
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"host {self.name} did not answer within {timeout} s:\n{_tail(self.log_path)}")

    def kill(self):
        """SIGKILL to the master and its workers at once: a machine that loses power."""
        _kill_group(self.proc)

    def stop(self):
        _kill_group(self.proc, signal.SIGTERM)
        self.socket.close()


class Consumer:
    """A job host: `huey_consumer jobs.huey -k thread -w 2`, periodic tasks off (-n: the driver enqueues the
    sweepers when the scenario needs them, as the minute's crontab would), its own instance folder."""

    def __init__(self, name: str, env: dict, workdir: Path):
        self.name, self.env = name, env
        self.log_path = workdir / f"consumer-{name}.log"
        self.proc = None

    def start(self):
        cmd = [sys.executable, "-m", "huey.bin.huey_consumer", "jobs.huey", "-k", "thread", "-w", "2",
               "-d", "0.05", "-m", "0.5", "-n"]
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        return self

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"consumer {self.name} exited with {self.proc.returncode}:\n"
                                   f"{_tail(self.log_path)}")
            if f"PID {self.proc.pid} at" in self.log_path.read_text(errors="replace"):  # "consumer started with ..."
                return self
            time.sleep(0.05)
        raise RuntimeError(f"consumer {self.name} did not start within {timeout} s:\n{_tail(self.log_path)}")

    def kill(self):
        _kill_group(self.proc)

    def stop(self):
        _kill_group(self.proc, signal.SIGINT)  # huey's graceful stop: workers finish their task

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()


def sending(pid: int, port: int, client_ports: set) -> int:
    """How many of the connections to 127.0.0.1:`port` from the given client ports process `pid` holds (its
    socket inodes in /proc): the requests it has in flight to that server."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    except OSError:
        return 0
    found = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, remote = (int(fields[n].rsplit(":", 1)[1], 16) for n in (1, 2))
            if fields[3] == "01" and remote == port and local in client_ports and fields[9] in inodes:
                found += 1
    return found


# --- the SMS gateway --------------------------------------------------------------------------------------------

class SmsGateway(LoopbackServer):
    """The citizens' SMS gateway: accepts each reference once (a repeat gets the first message id back, as the
    adapter's contract requires), counts every POST per reference, and can hold every POST (`hold`/`release`)
    before it takes the message."""

    def __init__(self):
        self.posts: dict[str, int] = {}
        self.accepted: dict[str, float] = {}  # reference -> when it was taken
        self.refused = 0
        self.lock = threading.Lock()
        self.gate = threading.Event()
        self.gate.set()
        self.waiting: set = set()  # the client ports of the POSTs held at the gate
        gateway = self

        class Handler(JsonHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    reference = str(json.loads(raw)["reference"])
                    ok = self.headers.get("Authorization") == f"Bearer {GATEWAY_TOKEN}"
                except (ValueError, KeyError, TypeError):
                    ok = False
                if not ok:
                    with gateway.lock:
                        gateway.refused += 1
                    return self.answer(401, {"error": "bad token or body"})
                with gateway.lock:
                    gateway.waiting.add(self.client_address[1])
                gateway.gate.wait()
                with gateway.lock:
                    gateway.waiting.discard(self.client_address[1])
                    gateway.posts[reference] = gateway.posts.get(reference, 0) + 1
                    gateway.accepted.setdefault(reference, time.monotonic())
                self.answer(201, {"message_id": f"gw-{reference}", "status": "accepted"})


        super().__init__(Handler, "/v1/messages", queue_size=128)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def hold(self):
        self.gate.clear()

    def release(self):
        self.gate.set()


# --- HTTP as a browser does it (no redirects followed) ----------------------------------------------------------

def request(base: str, method: str, path: str, cookie: str = "", form: dict | None = None, timeout=30):
    """(status, Location, body, the `session` cookie the answer set or None)."""
    parts = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    headers = {"Cookie": cookie} if cookie else {}
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, path, body, headers)
        answer = conn.getresponse()
        text = answer.read().decode("utf-8", "replace")
    finally:
        conn.close()
    session = None
    for header in answer.headers.get_all("Set-Cookie") or []:
        if header.startswith("session="):
            session = "session=" + header.split(";", 1)[0].split("=", 1)[1]
    return answer.status, answer.headers.get("Location", ""), text, session


def post_form(base: str, page: str, action: str, cookie: str, fields: dict):
    """GET `page` for its CSRF token (and the session that carries it), then POST `fields` to `action`."""
    status, _, text, set_cookie = request(base, "GET", page, cookie)
    token = CSRF.search(text)
    if status != 200 or not token:
        raise RuntimeError(f"GET {page} on {base} answered {status} without a csrf_token")
    cookie = set_cookie or cookie
    status, location, text, set_cookie = request(base, "POST", action, cookie, {**fields, "csrf_token": token[1]})
    return status, location, text, set_cookie or cookie


# --- the cluster ---------------------------------------------------------------------------------------------------

class Cluster:
    """Redis, the gateway, two web hosts and two consumers on one database; `with Cluster(...) as c:`."""

    def __init__(self, url: str, workdir: Path, ldap: dict, workers=1, threads=8, lease=3.0):
        self.url, self.workdir = url, Path(workdir)
        self.shared = self.workdir / "shared"  # the volume every host mounts
        self.redis = Redis(self.workdir)
        self.gateway = SmsGateway()
        self.ldap, self.workers, self.threads, self.lease = ldap, workers, threads, lease
        self.hosts: list[Host] = []
        self.consumers: list[Consumer] = []

    def env(self, instance: str) -> dict:
        """One host's environment: its own instance folder, everything else the same on every host."""
        folder = self.workdir / instance
        folder.mkdir(parents=True, exist_ok=True)
        redis = f"redis://127.0.0.1:{self.redis.port}"
        settings = {
            "DATABASE_URL": self.url, "INSTANCE_DIR": folder, "HUEY_URL": f"{redis}/0",
            "RATELIMIT_STORAGE_URL": f"{redis}/1", "SECRET_KEY": SECRET_KEY, "AUDIT_KEY": AUDIT_KEY, "HOSTS": 2,
            "ATTACHMENT_DIR": self.shared / "attachments", "PAYOUT_ARCHIVE_DIR": self.shared / "payout-files",
            "REPORT_ARCHIVE_DIR": self.shared / "reports", "MFA_ROLES": "",
            "LOGIN_FAILURES_PER_USERNAME": FAILURES, "LOGIN_FAILURES_PER_ADDRESS": 1000,
            "SMS_GATEWAY": "http", "SMS_GATEWAY_URL": self.gateway.url, "SMS_GATEWAY_TOKEN": GATEWAY_TOKEN,
            "SMS_GATEWAY_TIMEOUT": 10, "QUIET_HOURS": "off", "NOTIFY_WORKERS": 4, "NOTIFY_LEASE_SECONDS": self.lease,
            "NOTIFY_BACKOFF_SECONDS": "1", "DIRECTORY_SYNC_MINUTES": 0, "LOG_FORMAT": "text",
            **self.ldap,
        }
        return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
                    **{f"INTRANET_{name}": str(value) for name, value in settings.items()})

    def __enter__(self):
        try:
            self.redis.start()
            self.gateway.start()
            self.hosts = [Host(name, self.env(f"host-{name}"), self.workdir, self.workers, self.threads).start()
                          for name in ("a", "b")]
            self.consumers = [Consumer(name, self.env(f"consumer-{name}"), self.workdir).start()
                              for name in ("1", "2")]
            for process in (*self.hosts, *self.consumers):
                process.wait_ready()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        for process in (*self.consumers, *self.hosts):
            process.stop()
        self.gateway.release()
        try:
            self.gateway.stop()
        except OSError:
            pass
        self.redis.stop()

    def queue(self):
        from jobs import make_huey
        return make_huey(f"redis://127.0.0.1:{self.redis.port}/0")

    def send(self, task, copies=1):
        """Put a task on the shared queue, as a web host does (the driver's own Huey may be another)."""
        from jobs import huey
        queue = self.queue()
        for _ in range(copies):
            queue.storage.enqueue(huey.serialize_task(task), task.priority)


# --- the scenarios ---------------------------------------------------------------------------------------------------

def sessions(cluster: Cluster) -> dict:
    """Signed in on A, honoured on B; signed out on B, refused on A."""
    a, b = cluster.hosts
    status, location, _, cookie = post_form(a.base, "/login", "/login", "", {"username": CLERK, "password": PASSWORD})
    queue = f"/queues/{DEPARTMENT}"
    signed_in = status in (302, 303) and cookie is not None
    on_b = request(b.base, "GET", queue, cookie)[0] if signed_in else None
    on_a = request(a.base, "GET", queue, cookie)[0] if signed_in else None
    kept = cookie  # a copy of the cookie, as an attacker or a second tab keeps it
    out_status, _, _, _ = post_form(b.base, queue, "/logout", cookie, {})
    after_a = request(a.base, "GET", queue, kept)
    after_b = request(b.base, "GET", queue, kept)
    result = {"sign_in": status, "queue_on_a": on_a, "queue_on_b": on_b, "sign_out_on_b": out_status,
              "after_sign_out_a": after_a[0], "after_sign_out_a_to": after_a[1], "after_sign_out_b": after_b[0]}
    problems = []
    if not signed_in:
        problems.append(f"signing in on host A answered {status} {location}")
    elif on_b != 200 or on_a != 200:
        problems.append(f"the session made on host A: queue page {on_a} on A, {on_b} on B (expected 200 on both)")
    if out_status not in (302, 303):
        problems.append(f"signing out on host B answered {out_status}")
    if after_a[0] != 302 or "/login" not in after_a[1] or after_b[0] != 302:
        problems.append(f"after signing out on B the old cookie still opens the queue: A {after_a[0]} "
                        f"{after_a[1]}, B {after_b[0]}")
    result["problems"] = problems
    return result


def rate_limit(cluster: Cluster) -> dict:
    """Wrong passwords alternately on A and B: the allowance is counted once across both hosts."""
    hosts = cluster.hosts
    answers = []
    for n in range(FAILURES):
        host = hosts[n % 2]
        answers.append((host.name, post_form(host.base, "/login", "/login", "",
                                             {"username": THROTTLED_USER, "password": f"wrong-{n}"})[0]))
    after = [(host.name, post_form(host.base, "/login", "/login", "",
                                   {"username": THROTTLED_USER, "password": PASSWORD})[0]) for host in hosts[::-1]]
    problems = []
    if any(status != 401 for _, status in answers):
        problems.append(f"wrong passwords answered {answers} (expected 401 each)")
    if any(status != 429 for _, status in after):
        problems.append(f"after {FAILURES} wrong passwords spread over two hosts, the right password answered "
                        f"{after} (expected 429 on both: the count is shared)")
    return {"wrong": answers, "then": after, "problems": problems}


def take_next(cluster: Cluster, clerks: int, seconds: float, backlog: int) -> dict:
    """Clerks half on each host pressing take-next; host B killed and restarted a third of the way."""
    from intranet.db import database

    a, b = cluster.hosts
    with database.connection_context():
        ids = takenext.create_clerks(clerks, DEPARTMENT)
        tokens = takenext.open_sessions(ids)
    on = {a.name: ids[0::2], b.name: ids[1::2]}
    opened = {host.name: [takenext.open_queue(host.base, DEPARTMENT, staff_id, SECRET_KEY, tokens[staff_id])
                          for staff_id in on[host.name]] for host in (a, b)}
    with database.connection_context():
        reopened = takenext.top_up(DEPARTMENT, backlog)
        before = takenext.snapshot(DEPARTMENT)
    outcomes = {}

    def load(host):
        outcomes[host.name] = takenext.run_load(host.base, DEPARTMENT, opened[host.name], seconds)

    threads = [threading.Thread(target=load, args=(host,)) for host in (a, b)]
    for thread in threads:
        thread.start()
    time.sleep(seconds / 3)
    killed_at = time.monotonic()
    b.kill()
    b.start()
    b.wait_ready()
    down = time.monotonic() - killed_at
    for thread in threads:
        thread.join()
    merged = takenext.Outcome()
    for outcome in outcomes.values():
        merged.latencies += outcome.latencies
        merged.empty_latencies += outcome.empty_latencies
        merged.takes += outcome.takes
        merged.errors += outcome.errors
    merged.seconds = max(outcome.seconds for outcome in outcomes.values())
    with database.connection_context():
        checked = takenext.verify(before, ids, merged)
    result = {"clerks": len(ids), "seconds": merged.seconds, "waiting": before["waiting"], "reopened": reopened,
              "takes": len(merged.takes), "takes_per_s": len(merged.takes) / merged.seconds,
              "takes_a": len(outcomes[a.name].takes), "takes_b": len(outcomes[b.name].takes),
              "empty": len(merged.empty_latencies), "errors_a": outcomes[a.name].errors,
              "first_error_a": outcomes[a.name].first_error, "errors_b": outcomes[b.name].errors,
              "first_error_b": outcomes[b.name].first_error, "down_s": down,
              "p50_ms": takenext.percentile(merged.latencies, 50) * 1000,
              "p95_ms": takenext.percentile(merged.latencies, 95) * 1000, **checked}
    problems = []
    if checked["double_assignments"] or checked["wrong_assignee"] or checked["told_twice"] \
            or checked["told_not_assignee"] or checked["other_department"] or checked["other_actor"]:
        problems.append(f"take next: {checked['double_assignments']} double assignments, {checked['wrong_assignee']} "
                        f"assignee not the claimer, {checked['told_twice']} told twice, "
                        f"{checked['told_not_assignee']} told but assigned to another")
    if outcomes[a.name].errors:
        problems.append(f"take next on host A (not killed): {outcomes[a.name].errors} failed POSTs "
                        f"(first: {outcomes[a.name].first_error})")
    if not outcomes[a.name].takes or not outcomes[b.name].takes:
        problems.append(f"take next: takes on A {len(outcomes[a.name].takes)}, on B {len(outcomes[b.name].takes)}")
    result["problems"] = problems
    return result


def _write_sms(count: int) -> list[int]:
    """`count` queued SMS rows, due now; their ids."""
    from intranet.db import database
    from intranet.models import Notification, utcnow

    now = utcnow()
    rows = [{"event": "request_received", "channel": "sms", "language": "ar",
             "recipient": f"+9745{n % 10_000_000:07d}", "body": f"رسالة الاختبار {n}: وصل طلبكم.",
             "dedupe_key": f"multihost-sms:{n}", "next_attempt_at": now, "created_at": now} for n in range(count)]
    with database.connection_context(), database.atomic():
        for start in range(0, count, 1000):
            Notification.insert_many(rows[start:start + 1000]).execute()
    with database.connection_context():
        return [row[0] for row in Notification.select(Notification.id).where(
            Notification.dedupe_key.startswith("multihost-sms:")).tuples()]


def _sms_status() -> dict:
    from peewee import fn

    from intranet.db import database
    from intranet.models import Notification as N

    with database.connection_context():
        return dict(N.select(N.status, fn.COUNT(N.id)).where(N.dedupe_key.startswith("multihost-sms:"))
                    .group_by(N.status).tuples())


def _wait(condition, seconds: float, what: str, every=0.1):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    if not condition():
        raise RuntimeError(f"waited {seconds:.0f} s for {what}")


def sms(cluster: Cluster, count: int) -> dict:
    """N SMS by both consumers; the one with a message in flight killed a third of the way and restarted."""
    from intranet.db import database
    from intranet.models import Notification, NotificationAttempt
    from jobs.notify import deliver_soon, sweep_notifications

    gateway = cluster.gateway
    ids = {str(i) for i in _write_sms(count)}
    started = time.monotonic()
    cluster.send(deliver_soon.s())
    _wait(lambda: len(gateway.accepted) >= count // 3, max(120, count / 10), "a third of the SMS at the gateway")
    gateway.hold()
    # every worker that is sending stops in the gateway; the consumer with one in flight is the one killed
    held = {}

    def someone_sending():
        with gateway.lock:
            ports = set(gateway.waiting)
        held.update({c.name: sending(c.proc.pid, gateway.port, ports) for c in cluster.consumers})
        return any(held.values())
    _wait(someone_sending, 30, "a consumer with a message in flight", every=0.02)
    victim = max(cluster.consumers, key=lambda c: held[c.name])
    victim.kill()
    killed_at = time.monotonic()
    gateway.release()
    victim.start().wait_ready()
    restart_s = time.monotonic() - killed_at
    # the rest is sent by whatever runs; rows the dead consumer held wait for their lease to run out, then the
    # sweeper (as the minute's crontab would start it) gives them back and sends them
    _wait(lambda: not _sms_status().get("queued"), max(120, count / 10), "the SMS not held by the dead consumer")
    def settled():
        counts = _sms_status()
        return not counts.get("queued") and not counts.get("sending")

    swept = 0
    while not settled() and swept < 5:
        time.sleep(cluster.lease + 0.5)  # every lease the dead consumer held has run out
        cluster.send(sweep_notifications.s())
        swept += 1
        deadline = time.monotonic() + cluster.lease + 10
        while time.monotonic() < deadline and not settled():
            time.sleep(0.1)
    finished = time.monotonic()
    time.sleep(0.5)  # a late repeat would show
    by_status = _sms_status()
    with database.connection_context():
        interrupted = {str(row[0]) for row in NotificationAttempt.select(NotificationAttempt.notification)
                       .join(Notification).where(Notification.dedupe_key.startswith("multihost-sms:")
                                                 & (NotificationAttempt.outcome == "interrupted")).tuples()}
    with gateway.lock:
        posts, accepted = dict(gateway.posts), dict(gateway.accepted)
    lost = ids - set(accepted)
    unknown = set(accepted) - ids
    repeated = {ref for ref, n in posts.items() if n > 1}
    span = max(accepted.values()) - min(accepted.values()) if accepted else 0.0
    problems = []
    if by_status.get("sent", 0) != count:
        problems.append(f"SMS rows by status {by_status} (expected {count} sent)")
    if lost:
        problems.append(f"{len(lost)} SMS never reached the gateway")
    if unknown:
        problems.append(f"{len(unknown)} references the gateway received were not ours")
    if repeated - interrupted:
        problems.append(f"{len(repeated - interrupted)} SMS POSTed twice that no kill interrupted")
    if not interrupted:
        problems.append("the killed consumer held no SMS: the sweeper had nothing to pick up")
    if gateway.refused:
        problems.append(f"{gateway.refused} POSTs the gateway refused")
    return {"count": count, "sent": by_status.get("sent", 0), "accepted": len(accepted), "lost": len(lost),
            "posts": sum(posts.values()), "repeat_posts": sum(n - 1 for n in posts.values()),
            "interrupted": len(interrupted), "held_at_kill": held,
            "victim": victim.name, "restart_s": restart_s, "sweeps": swept, "span_s": span,
            "per_s": len(accepted) / span if span else 0.0, "all_s": finished - started,
            "by_consumer": _runs_by_consumer(cluster), "problems": problems}


def _runs_by_consumer(cluster: Cluster) -> dict:
    """Delivery runs (deliver_soon and its helpers, the sweeps) each consumer started, by its log; the killed one's
    two lives added up."""
    started = re.compile(r"Executing jobs\.notify\.(?:deliver_soon|sweep_notifications): ([0-9a-f-]+)")
    return {c.name: len({m[1] for line in c.log_lines() if (m := started.search(line))}) for c in cluster.consumers}


def export(cluster: Cluster, payouts: int) -> dict:
    """One batch, four export tasks on the shared queue: released once."""
    from intranet.db import database
    from intranet.models import Staff
    from intranet.models.payouts import AuditEntry, ExportFile, Payout, PayoutBatch
    from intranet.payouts import batches
    from intranet.seed import seed_payouts
    from jobs.payouts import export_batch

    with database.connection_context():
        ids = seed_payouts(payouts, seed=21)
        boss, _ = Staff.get_or_create(username="multihost-boss", defaults={
            "full_name": "مشرف الاختبار", "email": "multihost-boss@diwan.example", "role": "supervisor"})
        batch = batches.create(boss, ids, "generic")
        if not batches.start_export(boss, batch.id, batch.version, True):
            raise RuntimeError("the export did not start")
    marker = f"payout batch {batch.id}: "
    started = time.monotonic()
    cluster.send(export_batch.s(batch.id), copies=4)

    def outcomes():
        return {c.name: [line.split(marker, 1)[1].split()[0].strip('",') for line in c.log_lines() if marker in line]
                for c in cluster.consumers}
    _wait(lambda: sum(map(len, outcomes().values())) >= 4, 300, "four export runs")
    seconds = time.monotonic() - started
    with database.connection_context():
        batch = PayoutBatch.get_by_id(batch.id)
        files = ExportFile.select().where(ExportFile.batch == batch.id).count()
        released = AuditEntry.select().where((AuditEntry.action == "batch_released")
                                             & AuditEntry.details.contains(f'"batch": {batch.id}')).count()
        exported = Payout.select().where(Payout.id.in_(ids) & (Payout.status == "exported")).count()
    folders = [p.name for p in (cluster.shared / "payout-files" / f"batch-{batch.id}").iterdir()]
    found = outcomes()
    problems = []
    if batch.status != "released" or released != 1 or files != 3 or len(folders) != 1:
        problems.append(f"payout batch: {batch.status}, {released} release entries, {files} files, "
                        f"{len(folders)} run folders (expected released once, 3 files, 1 folder)")
    if exported != payouts:
        problems.append(f"{exported} of {payouts} payouts exported")
    return {"payouts": payouts, "runs": batch.runs, "outcomes": found, "released_entries": released, "files": files,
            "folders": len(folders), "exported": exported, "seconds": seconds, "problems": problems}


def run(cluster: Cluster, clerks: int, take_seconds: float, backlog: int, sms_count: int, payouts: int) -> dict:
    """Every scenario in turn; each one's figures and problems."""
    result = {}
    for name, step in (("sessions", lambda: sessions(cluster)), ("rate_limit", lambda: rate_limit(cluster)),
                       ("take", lambda: take_next(cluster, clerks, take_seconds, backlog)),
                       ("sms", lambda: sms(cluster, sms_count)), ("export", lambda: export(cluster, payouts))):
        _log(f"{name}")
        try:
            result[name] = step()
        except (RuntimeError, OSError, takenext.TakeNextFailed) as failed:
            result[name] = {"problems": [f"{name}: {failed}"]}
        if result[name]["problems"]:
            _log(f"  PROBLEMS: {'; '.join(result[name]['problems'])}")
    result["problems"] = [p for part in result.values() if isinstance(part, dict) for p in part["problems"]]
    return result


# --- the benchmark's side ------------------------------------------------------------------------------------------

def bench(backend: str, url: str, workdir: Path, directory, quick: bool) -> dict:
    """The long version on the benchmark's seeded database (PostgreSQL only: several hosts need a shared one)."""
    from intranet import create_app
    from intranet.auth import demo_directory

    if backend != "postgresql":
        return {"skipped": "several hosts share a PostgreSQL database (SQLite is for one host)", "problems": []}
    sizes = QUICK if quick else BENCH
    folder = Path(workdir) / "multihost"
    ldap = demo_directory.ldap_settings(directory)
    app = create_app({"DATABASE_URL": url, "INSTANCE_DIR": folder / "driver", "SECRET_KEY": SECRET_KEY,
                      "AUDIT_KEY": AUDIT_KEY, "PAYOUT_ARCHIVE_DIR": folder / "shared" / "payout-files",
                      **ldap})
    started = time.monotonic()
    with app.app_context(), Cluster(url, folder, ldap, sizes["workers"], sizes["threads"], sizes["lease"]) as cluster:
        _log(f"2 hosts ({cluster.hosts[0].base}, {cluster.hosts[1].base}), 2 consumers, Redis :{cluster.redis.port}")
        result = run(cluster, sizes["clerks"], sizes["take_seconds"], sizes["backlog"], sizes["sms"],
                     sizes["payouts"])
    result["total_s"] = time.monotonic() - started
    result["sizes"] = sizes
    shutil.rmtree(folder, ignore_errors=True)
    return result


def tables(results) -> list[str]:
    measured = [r for r in results if r.get("multihost") and "sessions" in r["multihost"]]
    skipped = [r for r in results if r.get("multihost") and r["multihost"].get("skipped")]
    out = []
    if skipped and not measured:
        out += ["", f"## Several hosts: {skipped[0]['multihost']['skipped']}; not measured on "
                    + ", ".join(r["backend"] for r in skipped)]
    for r in measured:
        m = r["multihost"]
        sizes = m["sizes"]
        ok = lambda part: "**failed**: " + "; ".join(m[part]["problems"]) if m[part]["problems"] else "held"  # noqa: E731
        out += ["", f"## Several hosts, one truth ({r['backend']} at {r['size']:,}; two gunicorn hosts "
                    f"{sizes['workers']}x{sizes['threads']} with their own instance folders, two consumers -w 2, "
                    f"one Redis, one shared volume; {m['total_s']:.0f} s)", "",
                "| scenario | figures | verdict |", "|---|---|---|"]
        s = m["sessions"]
        if "queue_on_b" in s:
            out.append(f"| session | signed in on A ({s['sign_in']}): queue {s['queue_on_a']} on A, "
                       f"{s['queue_on_b']} on B; signed out on B ({s['sign_out_on_b']}): the old cookie "
                       f"{s['after_sign_out_a']} on A, {s['after_sign_out_b']} on B | {ok('sessions')} |")
        rl = m["rate_limit"]
        if "wrong" in rl:
            out.append(f"| login rate limit | {FAILURES} wrong passwords "
                       f"({', '.join(f'{h}: {st}' for h, st in rl['wrong'])}), then the right one: "
                       f"{', '.join(f'{h}: {st}' for h, st in rl['then'])} | {ok('rate_limit')} |")
        t = m["take"]
        if "takes" in t:
            out.append(f"| take next | {t['clerks']} clerks for {t['seconds']:.0f} s, {t['waiting']:,} requests "
                       f"waiting: {t['takes']:,} takes ({t['takes_per_s']:.1f}/s; A {t['takes_a']:,}, B "
                       f"{t['takes_b']:,}), {t['empty']:,} 'nothing left', p50 {t['p50_ms']:.0f} "
                       f"ms, p95 {t['p95_ms']:.0f} ms; host B SIGKILLed and back in {t['down_s']:.1f} s "
                       f"({t['errors_b']:,} POSTs in flight cut off); double assignments "
                       f"{t['double_assignments']}, assignee ≠ claimer {t['wrong_assignee']}, told twice "
                       f"{t['told_twice']}, claims whose answer the kill cut off {t['lost']} | {ok('take')} |")
        n = m["sms"]
        if "accepted" in n:
            out.append(f"| SMS | {n['count']:,} rows: {n['accepted']:,} references accepted by the gateway, "
                       f"{n['per_s']:.0f}/s over {n['span_s']:.1f} s (all sent {n['all_s']:.1f} s after the "
                       f"trigger); delivery runs per consumer {n['by_consumer']}; consumer {n['victim']} SIGKILLed "
                       f"with {n['held_at_kill'].get(n['victim'], 0)} POSTs in flight, back in "
                       f"{n['restart_s']:.1f} s; {n['interrupted']} rows interrupted, picked up by the sweeper "
                       f"after the {sizes['lease']} s lease; lost {n['lost']}, {n['repeat_posts']} repeat POSTs "
                       f"(all of interrupted rows, dropped by the gateway) | {ok('sms')} |")
        e = m["export"]
        if "files" in e:
            out.append(f"| payout export | {e['payouts']:,} payouts, 4 export tasks for one batch: outcomes "
                       f"{e['outcomes']}, {e['runs']} claiming run(s), {e['released_entries']} release entry, "
                       f"{e['files']} files in {e['folders']} folder, {e['exported']:,} payouts exported, "
                       f"{e['seconds']:.1f} s | {ok('export')} |")
    return out
