"""Take next under load: many distinct signed-in clerks of one department POST /queues/<dept>/take-next at once
for a while, then the database is checked for double assignments.

The demo directory has two Health clerks only, so the clerks here are synthetic `Staff` rows (role clerk,
department health, `bench-health-NN`) whose Flask session cookies are signed with the server's secret key, as
sign-in writes them ({"_user_id", "_fresh"} and the token of a server-side session row made for each clerk just
before the run). Each clerk then loads the queue page once with that cookie, exactly as a browser would: the
server answers 200 (not a redirect to /login), puts a CSRF token in the session (Set-Cookie) and the signed form
of it in the take-next form, and both are used for every POST.

Each worker thread is one clerk looping `POST take-next` until the deadline, recording the latency of each POST
and where its 303 pointed: /requests/<n> (a take) or back to the queue (nothing left to take).
"""
import http.client
import http.cookies
import random
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]*)"')
TAKE_FORM = 'id="take-next-form"'


class TakeNextFailed(RuntimeError):
    pass


# --- clerks and their sessions -----------------------------------------------------------------------------------

def create_clerks(count: int, department_code: str) -> list[int]:
    """`count` active clerks of the department (bench-<dept>-NN), created once per database; their ids.
    Call inside the database's connection context."""
    from intranet.models import Department, Staff

    department = Department.get(Department.code == department_code)
    ids = []
    for number in range(1, count + 1):
        username = f"bench-{department_code}-{number:02d}"
        staff, _ = Staff.get_or_create(username=username, defaults={
            "full_name": f"{department.name_ar} - موظف الاختبار {number}", "email": f"{username}@diwan.example",
            "role": "clerk", "department": department})
        ids.append(staff.id)
    return ids


def open_sessions(staff_ids) -> dict[int, str]:
    """A live server-side session for each clerk, as sign-in makes one (intranet/auth/sessions.py): staff id ->
    the token its cookie carries. Call inside the database's connection context, just before the run."""
    import hashlib
    import secrets

    from intranet.db import transaction
    from intranet.models import StaffSession, utcnow

    tokens = {staff_id: secrets.token_urlsafe(32) for staff_id in staff_ids}
    now = utcnow()
    with transaction():
        for staff_id, token in tokens.items():
            StaffSession.create(id=hashlib.sha256(token.encode()).hexdigest(), staff=staff_id, created_at=now,
                                last_seen_at=now, user_agent="bench", address="127.0.0.1")
    return tokens


def forge_session_cookie(secret_key: str, staff_id: int, token: str) -> str:
    """The value of the `session` cookie sign-in leaves (flask-login's keys and the server-side session's token),
    signed as the app signs it."""
    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface

    app = Flask("diwan-bench")
    app.secret_key = secret_key
    return SecureCookieSessionInterface().get_signing_serializer(app).dumps(
        {"_user_id": str(staff_id), "_fresh": True, "sid": token})


@dataclass
class Clerk:
    staff_id: int
    cookie: str  # the Cookie header
    csrf: str  # the csrf_token form field


def open_queue(base: str, department_code: str, staff_id: int, secret_key: str, token: str) -> Clerk:
    """GET the queue page with a forged session: it must answer 200 with the take-next form; returns the session
    the server sent back (now with its CSRF token) and the form's token."""
    parts = urllib.parse.urlsplit(base)
    cookie = f"session={forge_session_cookie(secret_key, staff_id, token)}"
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request("GET", f"/queues/{department_code}", headers={"Cookie": cookie})
        answer = conn.getresponse()
        page = answer.read().decode("utf-8", "replace")
    finally:
        conn.close()
    if answer.status != 200 or TAKE_FORM not in page:
        raise TakeNextFailed(f"clerk #{staff_id}: GET /queues/{department_code} with a forged session answered "
                             f"{answer.status} {answer.headers.get('Location', '')} without the take-next form")
    jar = http.cookies.SimpleCookie()
    for header in answer.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    if "session" in jar:
        cookie = f"session={jar['session'].value}"
    token = CSRF_INPUT.search(page)
    if not token:
        raise TakeNextFailed(f"clerk #{staff_id}: no csrf_token input on the queue page")
    return Clerk(staff_id, cookie, token.group(1))


# --- the load --------------------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    latencies: list = field(default_factory=list)  # seconds, every POST answered with a take
    empty_latencies: list = field(default_factory=list)  # seconds, every POST answered "nothing left"
    takes: list = field(default_factory=list)  # (staff id, tracking number)
    errors: int = 0
    first_error: str = ""
    seconds: float = 0.0


def run_load(base: str, department_code: str, clerks: list[Clerk], seconds: float,
             keep_alive: bool = False, pause: float = 0.0) -> Outcome:
    """Every clerk loops POST take-next for `seconds`, all starting together; with `pause`, each waits a random
    0 to 2 x pause seconds after each answer (a clerk looking at what they took) instead of pressing again at
    once."""
    parts = urllib.parse.urlsplit(base)
    path = f"/queues/{department_code}/take-next"
    queue_path = f"/queues/{department_code}"
    outcome = Outcome()
    lock = threading.Lock()
    barrier = threading.Barrier(len(clerks) + 1)
    deadline = [0.0]

    def clerk_loop(clerk: Clerk):
        body = urllib.parse.urlencode({"csrf_token": clerk.csrf})
        headers = {"Cookie": clerk.cookie, "Content-Type": "application/x-www-form-urlencoded"}
        if not keep_alive:
            headers["Connection"] = "close"
        latencies, empty_latencies, takes, errors, first_error = [], [], [], 0, ""
        conn = None
        pauses = random.Random(clerk.staff_id)
        barrier.wait()
        while time.monotonic() < deadline[0]:
            if conn is None:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            started = time.perf_counter()
            try:
                conn.request("POST", path, body, headers)
                answer = conn.getresponse()
                answer.read()
            except (OSError, http.client.HTTPException) as error:
                errors += 1
                first_error = first_error or f"{type(error).__name__}: {error}"
                conn.close()
                conn = None
                continue
            elapsed = time.perf_counter() - started
            location = urllib.parse.urlsplit(answer.headers.get("Location", "")).path
            if answer.status == 303 and location.startswith("/requests/"):
                latencies.append(elapsed)
                takes.append((clerk.staff_id, urllib.parse.unquote(location.removeprefix("/requests/"))))
            elif answer.status == 303 and location == queue_path:
                empty_latencies.append(elapsed)
            else:
                errors += 1
                first_error = first_error or f"{answer.status} {location}"
            if not keep_alive or answer.will_close:
                conn.close()
                conn = None
            if pause:
                time.sleep(min(pauses.uniform(0, 2 * pause), max(0.0, deadline[0] - time.monotonic())))
        if conn is not None:
            conn.close()
        with lock:
            outcome.latencies.extend(latencies)
            outcome.empty_latencies.extend(empty_latencies)
            outcome.takes.extend(takes)
            outcome.errors += errors
            outcome.first_error = outcome.first_error or first_error

    threads = [threading.Thread(target=clerk_loop, args=(clerk,), daemon=True) for clerk in clerks]
    for thread in threads:
        thread.start()
    deadline[0] = time.monotonic() + seconds
    started = time.monotonic()
    barrier.wait()
    for thread in threads:
        thread.join(seconds + 90)
    outcome.seconds = time.monotonic() - started
    if any(thread.is_alive() for thread in threads):
        raise TakeNextFailed("take-next workers still running 90 s after the deadline")
    return outcome


def percentile(values, share: float) -> float:
    """Nearest-rank percentile (share in 0..100) of a list of numbers; 0 for an empty list."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 100))  # ceil
    return ordered[int(rank) - 1]


# --- the database before and after -----------------------------------------------------------------------------------

def top_up(department_code: str, wanted: int) -> int:
    """Make at least `wanted` requests wait unassigned in the department's queue, reopening closed ones (completed
    or rejected) as open and unassigned, at the first stage of their type a clerk may work; returns how many were
    reopened. The seed leaves few requests waiting (~0.3 % of them per department), which 50 clerks empty in
    seconds; the reopened
    ones are old, so overdue: take next gives them first, as it would a backlog. Call in a connection context,
    after the page measurements (the queue is no longer the seed's)."""
    from peewee import SQL

    from intranet.db import database, is_sqlite, transaction
    from intranet.models import Department, Request

    department = Department.get(Department.code == department_code)
    waiting = (Request.select().where((Request.department == department.id) & Request.open_work()
                                      & (Request.status == "open") & Request.assignee.is_null()).count())
    missing = wanted - waiting
    if missing <= 0:
        return 0
    closed = (Request.select(Request.id).where((Request.department == department.id)
                                               & Request.status.in_(("completed", "rejected")))
              .order_by(Request.id.desc()).limit(missing))
    # back at the first stage of its type that a clerk works: most close at a stage that requires another role
    # (the head's approval of a health-care grant), which take next never hands to a clerk
    first_clerk_stage = SQL('COALESCE((SELECT s."id" FROM "stage" AS s WHERE s."request_type_id" = '
                            '"request"."request_type_id" AND s."role" IS NULL AND s."last_version" IS NULL '
                            'ORDER BY s."position" LIMIT 1), "stage_id")')
    with transaction():
        reopened = (Request.update(status="open", closed_at=None, assignee=None, paused_at=None,
                                   returned_from=None, stage=first_clerk_stage)
                    .where(Request.id.in_(closed)).execute())
    if not is_sqlite():
        database.execute_sql("ANALYZE request")
    return reopened


def snapshot(department_code: str) -> dict:
    """The last history id and the number of requests waiting to be taken. Call in a connection context."""
    from intranet.db import database
    from intranet.models import Department, HistoryEntry, Request

    department = Department.get(Department.code == department_code)
    waiting = (Request.select().where((Request.department == department.id) & Request.open_work()
                                      & (Request.status == "open") & Request.assignee.is_null()).count())
    last = database.execute_sql(f"SELECT COALESCE(MAX(id), 0) FROM {HistoryEntry._meta.table_name}").fetchone()[0]
    return {"history_id": last, "waiting": waiting, "department_id": department.id}


def verify(before: dict, clerk_ids: list[int], outcome: Outcome) -> dict:
    """What the database says about the claims written since `before`: double assignments (a request claimed
    more than once), claims whose request's assignee is not the claimer, claims outside the department or by
    someone else than the load's clerks, and how the claims compare with the takes the clerks were told of."""
    from intranet.db import database

    since, department_id = before["history_id"], before["department_id"]
    one = lambda sql, *params: database.execute_sql(sql, params).fetchone()[0]  # noqa: E731
    p = database.obj.param  # ? (SQLite) or %s (PostgreSQL)
    claims = one(f"SELECT COUNT(*) FROM history WHERE action = 'claim' AND id > {p}", since)
    doubled = one(f"SELECT COUNT(*) FROM (SELECT request_id FROM history WHERE action = 'claim' AND id > {p} "
                  f"GROUP BY request_id HAVING COUNT(*) > 1) AS twice", since)
    wrong_assignee = one(f"SELECT COUNT(*) FROM history h JOIN request r ON r.id = h.request_id "
                         f"WHERE h.action = 'claim' AND h.id > {p} "
                         f"AND (r.assignee_id IS NULL OR r.assignee_id <> h.actor_id)", since)
    other_department = one(f"SELECT COUNT(*) FROM history h JOIN request r ON r.id = h.request_id "
                           f"WHERE h.action = 'claim' AND h.id > {p} AND r.department_id <> {p}", since, department_id)
    ids = ",".join(str(int(i)) for i in clerk_ids)
    other_actor = one(f"SELECT COUNT(*) FROM history WHERE action = 'claim' AND id > {p} "
                      f"AND (actor_id IS NULL OR actor_id NOT IN ({ids}))", since)
    # what the clerks were told: one tracking number per take, never the same to two of them
    told = {}
    for staff_id, number in outcome.takes:
        told.setdefault(number, []).append(staff_id)
    told_twice = sum(1 for holders in told.values() if len(holders) > 1)
    # each tracking number a clerk was given must be assigned to that clerk in the database
    mismatched = 0
    numbers = list(told)
    for start in range(0, len(numbers), 500):
        chunk = numbers[start:start + 500]
        marks = ",".join([p] * len(chunk))
        for number, assignee in database.execute_sql(
                f"SELECT tracking_number, assignee_id FROM request WHERE tracking_number IN ({marks})", chunk):
            if told[number][-1] != assignee:
                mismatched += 1
    return {"claims": claims, "double_assignments": doubled, "wrong_assignee": wrong_assignee,
            "other_department": other_department, "other_actor": other_actor, "told_twice": told_twice,
            "told_not_assignee": mismatched, "lost": claims - len(outcome.takes)}
