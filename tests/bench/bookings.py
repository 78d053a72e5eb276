"""The booking figure of issue 19: booking requests through the portal API (POST /api/v1/bookings) from CLIENTS
concurrent clients, and the database's account afterwards: no slot holds more bookings than its capacity, no seat
twice, one active booking per citizen and service.

- `prepare`: a bookable service open every day, all day, in 15-minute slots of CAPACITY seats; `citizens` new
  citizens with a mobile number (not in the seed); a portal client with the `bookings:write` scope whose rate limit
  cannot throttle the run;
- `bench`: CLIENTS threads, each with its own keep-alive HTTP connection, send booking requests as fast as the server
  answers for `seconds`: each a new citizen, for one of the next DAYS days' slots at random, so the seats run
  out during the run and the later requests race for the last ones. A 201 (booked) and a 409 `slot-full` are the
  only right answers; anything else fails the run, as does any slot over its capacity or a seat held twice;
- the figure: booking requests answered per minute (target TARGET_PER_MINUTE), with p50 / p95 of the answers.
"""
import datetime as dt
import http.client
import json
import random
import threading
import time
import urllib.parse

from tests.bench.api import new_national_id

PATH = "/api/v1/bookings"
CLIENTS = 20
CAPACITY = 3
DAYS = 7  # the slots of the next week: 665 slots, 1,995 seats, filled during a one-minute run
TARGET_PER_MINUTE = 1000
RATE_PER_MINUTE = 10_000_000
SERVICE_CODE = "bench_booking"


def prepare(citizens: int, seed: int = 19) -> dict:
    """Inside an app context with an open connection: the service, the citizens, the client; returns the token,
    the national IDs and the slots (the office's local times) to book."""
    from intranet.i18n import search_text
    from intranet.intake import clients
    from intranet.models import Citizen, Governorate
    from intranet.models.bookings import BookingService
    from intranet.reception import bookings
    from intranet.stats.figures import local_today

    rng = random.Random(seed)
    service = BookingService.create(code=SERVICE_CODE, name_ar="حجز قياس الأداء", name_en="Benchmark booking",
                                    ticket_service="inquiry", opens="00:00", closes="23:45",
                                    weekdays="0,1,2,3,4,5,6", slot_minutes=15, capacity=CAPACITY)
    taken = {row[0] for row in Citizen.select(Citizen.national_id).tuples()}
    governorate = Governorate.select().order_by(Governorate.id).first()
    ids = [new_national_id(rng, taken) for _ in range(citizens)]
    rows = [{"national_id": n, "full_name": "مواطن للقياس", "name_search": search_text("مواطن للقياس"),
             "phone": f"+9745{rng.randrange(10**7):07d}", "governorate": governorate.id, "preferred_language": "ar"}
            for n in ids]
    for start in range(0, len(rows), 500):
        Citizen.insert_many(rows[start:start + 500]).execute()
    slots = [slot.value for days in range(1, DAYS + 1)
             for slot in bookings.slots(service, local_today() + dt.timedelta(days=days))]
    made = clients.create_client(None, "bench-bookings", ["bookings:write"], rate_per_minute=RATE_PER_MINUTE)
    return {"token": made.token, "national_ids": ids, "slots": slots, "service_id": service.id}


def _percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def load(base: str, token: str, national_ids: list, slots: list, seconds: float, clients: int = CLIENTS,
         seed: int = 19) -> dict:
    """CLIENTS threads booking as fast as the server answers for `seconds`; the answers counted by kind."""
    target = urllib.parse.urlsplit(base)
    pending = list(reversed(national_ids))
    lock = threading.Lock()
    counts = {"booked": 0, "full": 0, "other": 0}
    latencies, first_other = [], []
    deadline = time.monotonic() + seconds
    start = threading.Barrier(clients)

    def client(number):
        rng = random.Random(seed * 1000 + number)
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        start.wait()
        while time.monotonic() < deadline:
            with lock:
                if not pending:
                    break
                national_id = pending.pop()
            body = json.dumps({"national_id": national_id, "service": SERVICE_CODE, "slot": rng.choice(slots)})
            began = time.perf_counter()
            try:
                connection.request("POST", PATH, body, headers)
                answer = connection.getresponse()
                text = answer.read()
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                status, text = 0, str(error).encode()
            else:
                status = answer.status
            took = time.perf_counter() - began
            kind = ("booked" if status == 201 else
                    "full" if status == 409 and b"slot-full" in text else "other")
            with lock:
                counts[kind] += 1
                latencies.append(took)
                if kind == "other" and not first_other:
                    first_other.append(f"{status} {text[:300]!r}")
        connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    answered = sum(counts.values())
    return {**counts, "answered": answered, "seconds": elapsed, "per_minute": answered / elapsed * 60,
            "p50_ms": _percentile(latencies, 0.5) * 1000, "p95_ms": _percentile(latencies, 0.95) * 1000,
            "first_other": first_other[0] if first_other else "", "clients": clients}


def account(service_id: int) -> dict:
    """The database's account: bookings written, slots over capacity, seats held twice, citizens booked twice."""
    from peewee import fn

    from intranet.models.bookings import Booking

    mine = Booking.select().where(Booking.service == service_id)
    per_slot = (Booking.select(Booking.slot_at, fn.COUNT(Booking.id), fn.COUNT(fn.DISTINCT(Booking.seat)),
                               fn.MAX(Booking.seat))
                .where((Booking.service == service_id) & Booking.seat.is_null(False)).group_by(Booking.slot_at).tuples())
    over = twice = 0
    for _slot, held, distinct, highest in per_slot:
        over += held > CAPACITY or highest > CAPACITY
        twice += held != distinct
    citizens_twice = (mine.select(Booking.citizen).group_by(Booking.citizen).having(fn.COUNT(Booking.id) > 1)
                      .count())
    return {"written": mine.count(), "slots_over_capacity": over, "seats_twice": twice,
            "citizens_twice": citizens_twice, "full_slots": sum(1 for row in per_slot if row[1] == CAPACITY)}


def bench(backend: str, url: str, base: str, seconds: int, workdir, secret_key: str) -> dict:
    """Prepare the database at `url`, load the server at `base` for `seconds`, then the account and the problems."""
    from intranet import create_app, db

    app = create_app({"DATABASE_URL": url, "INSTANCE_DIR": workdir, "SECRET_KEY": secret_key})
    citizens = max(2000, int(seconds * 500))  # more than a run can send: every request a new citizen
    with app.app_context(), db.database.connection_context():
        prepared = prepare(citizens)
    result = load(base, prepared["token"], prepared["national_ids"], prepared["slots"], seconds)
    with app.app_context(), db.database.connection_context():
        result.update(account(prepared["service_id"]))
    problems = []
    if result["other"]:
        problems.append(f"{result['other']} answers other than 201 or 409 slot-full (first: {result['first_other']})")
    if result["written"] != result["booked"]:
        problems.append(f"{result['written']} bookings written for {result['booked']} 201 answers")
    for key in ("slots_over_capacity", "seats_twice", "citizens_twice"):
        if result[key]:
            problems.append(f"{key.replace('_', ' ')}: {result[key]}")
    if result["per_minute"] < TARGET_PER_MINUTE:
        problems.append(f"{result['per_minute']:.0f} booking requests a minute (target {TARGET_PER_MINUTE})")
    result.update(backend=backend, problems=problems)
    return result


def tables(results) -> list[str]:
    measured = [r["bookings"] for r in results if r.get("bookings") and r["bookings"].get("answered")]
    if not measured:
        return []
    out = ["", f"## Bookings through the API ({CLIENTS} concurrent clients, slots of {CAPACITY} seats)", "",
           "| backend | requests answered | a minute | p50 (ms) | p95 (ms) | booked / slot full | slots full "
           "| over capacity / seat twice / citizen twice |", "|---|---:|---:|---:|---:|---|---:|---|"]
    for r in measured:
        out.append(f"| {r['backend']} | {r['answered']:,} in {r['seconds']:.0f} s | **{r['per_minute']:,.0f}** | "
                   f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['booked']:,} / {r['full']:,} | {r['full_slots']} | "
                   f"{r['slots_over_capacity']} / {r['seats_twice']} / {r['citizens_twice']} |")
    out += ["", f"Target: {TARGET_PER_MINUTE:,} booking requests a minute with no slot booked over its capacity. "
                "Every request books a new citizen into one of the next week's slots at random, so the seats run out "
                "during the run and later requests race for the last ones; only 201 and 409 slot-full are right."]
    return out
