"""Delivery of notification rows: claimed in small batches, sent outside any transaction, every attempt recorded.

The rules are those of the webhooks (`intranet.intake.webhooks`): the database is the truth, a job only carries
rows out, and any number of workers may run `deliver_due` at once.

- **Written with the change.** `intranet.notify.events` writes the row inside the workflow transaction, its
  `dedupe_key` unique (one message per event, channel and recipient), and calls `trigger_soon()`.
- **Claims and leases.** One transaction claims up to `NOTIFY_BATCH_SIZE` due rows (queued, `next_attempt_at`
  passed): `UPDATE ... SET status = 'sending', attempts = attempts + 1, lease_until = ... WHERE id IN (...)
  RETURNING ...`. On SQLite the ids are a subquery of that one statement and the write transaction holds the
  database lock from the choice to the claim; on PostgreSQL they are first selected `FOR UPDATE SKIP LOCKED` (two
  workers take different rows, neither waits). The sending happens outside any transaction. A worker that stops
  while sending leaves its rows "sending"; once the lease has expired the sweeper puts them back to queued (the
  attempt counts, recorded as "interrupted").
- **Fencing.** A retry or a failure is written only while the worker still holds the claim (status sending with
  the same attempt number): a worker whose lease ran out cannot overwrite a newer attempt. An acceptance is the
  truth whenever it comes: the row becomes "sent" and is never claimed again.
- **Exactly once.** A row leaves "queued"/"sending" only for "sent", "delivered" or "failed", and only queued rows
  are claimed: what the gateway accepted is not sent again. The one window is an attempt whose acceptance we never
  recorded (a worker killed between the gateway's answer and our write, an answer lost to a timeout): the row is
  sent again with the same `reference` (our notification id), which the gateway drops as a duplicate; an e-mail
  keeps its Message-ID. Outcomes of SMS are written in groups of up to `NOTIFY_FLUSH_EVERY` rows; an e-mail's at
  once (SMTP servers do not drop duplicates).
- **Back-off.** A failed attempt waits `NOTIFY_BACKOFF_SECONDS[attempt - 1]` (the last value repeating; longer if
  the provider said Retry-After); after `NOTIFY_MAX_ATTEMPTS`, or a permanent refusal (4xx, SMTP 5xx), the row is
  "failed" with `failed_at`: the citizen shows on the desk's unreachable list. A provider that keeps failing is
  not hammered: after `NOTIFY_BREAKER_FAILURES` consecutive transient failures of one channel in a run, that
  channel's remaining claims are given back (attempt not counted) until the next run.
- **Quiet hours.** No SMS inside `QUIET_HOURS` (local time, `TIMEZONE`): due SMS rows get `next_attempt_at` = the
  end of the quiet hours and a "deferred" attempt row, not counted as an attempt; e-mail is not held.
- **Delivery receipts.** `apply_receipt` moves a row to delivered (or to failed after it was sent); repeated
  receipts change nothing.
"""
import logging
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from datetime import time as clock
from zoneinfo import ZoneInfo


from intranet.config import setting
from intranet.db import insert_row, is_sqlite, transaction
from intranet.models.notifications import Notification, NotificationAttempt
from intranet.models.people import utcnow
from intranet.triggers import SoonTrigger

log = logging.getLogger(__name__)

UNFINISHED = ("queued", "sending")
DEFAULT_BACKOFF_SECONDS = (60, 300, 900, 3600, 14400)
DEFAULT_MAX_ATTEMPTS = 10
DEFAULT_BATCH_SIZE = 20
DEFAULT_FLUSH_EVERY = 10
DEFAULT_BREAKER_FAILURES = 5


# --- configuration ------------------------------------------------------------------------------------


def max_attempts() -> int:
    return max(1, int(setting("NOTIFY_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)))


def backoff_seconds() -> list[float]:
    value = setting("NOTIFY_BACKOFF_SECONDS", DEFAULT_BACKOFF_SECONDS)
    if isinstance(value, str):
        value = [item for item in value.split(",") if item.strip()]
    return [float(item) for item in value] or list(DEFAULT_BACKOFF_SECONDS)


def delay_after(attempt: int) -> float:
    """Seconds to wait after the `attempt`-th failed attempt (1-based)."""
    steps = backoff_seconds()
    return steps[min(max(attempt, 1), len(steps)) - 1]


def batch_size() -> int:
    return max(1, int(setting("NOTIFY_BATCH_SIZE", DEFAULT_BATCH_SIZE)))


def lease_seconds(batch: int | None = None) -> float:
    """How long a claim lasts: every row of a batch may take a few timeouts (urllib's and smtplib's timeouts
    apply per socket operation). A worker stops sending a batch half-way through its lease (see `_send_batch`)."""
    configured = setting("NOTIFY_LEASE_SECONDS", None)
    if configured:
        return float(configured)
    timeout = max(float(setting("SMS_GATEWAY_TIMEOUT", 5)), float(setting("SMTP_TIMEOUT", 10)))
    return max(60.0, 30 + (batch or batch_size()) * 2 * timeout)


def timezone_name() -> str:
    return setting("TIMEZONE", "Asia/Qatar") or "UTC"


def parse_quiet_hours(value) -> tuple[clock, clock] | None:
    """'22:00-07:00' -> (22:00, 07:00); '', 'off' or equal ends -> None (no quiet hours)."""
    if not value or str(value).strip().lower() in ("off", "none", "-"):
        return None
    start, _, end = str(value).partition("-")
    try:
        window = clock.fromisoformat(start.strip()), clock.fromisoformat(end.strip())
    except ValueError:
        raise ValueError(f"QUIET_HOURS must look like 22:00-07:00, not {value!r}") from None
    return None if window[0] == window[1] else window


def quiet_until(now: datetime | None = None, window=None, zone: str | None = None) -> datetime | None:
    """If `now` (naive UTC) falls in the quiet hours, the naive UTC time they end; else None."""
    window = parse_quiet_hours(setting("QUIET_HOURS", "22:00-07:00")) if window is None else window
    if not window:
        return None
    start, end = window
    tz = ZoneInfo(zone or timezone_name())
    local = (now or utcnow()).replace(tzinfo=timezone.utc).astimezone(tz)
    moment, day = local.time().replace(tzinfo=None), local.date()
    if start < end:  # e.g. 13:00-14:00 within one day
        if not start <= moment < end:
            return None
    elif end <= moment < start:  # e.g. 22:00-07:00 across midnight, and we are in the day part
        return None
    elif moment >= start:
        day += timedelta(days=1)  # the evening part: it ends tomorrow morning
    ends = datetime.combine(day, end, tzinfo=tz)
    return ends.astimezone(timezone.utc).replace(tzinfo=None)


# called inside the change's transaction (events.py): the delivery job runs a moment after it commits
trigger_soon = SoonTrigger("jobs.notify:deliver_soon", "NOTIFY")


# --- claiming ----------------------------------------------------------------------------------------------

N = Notification
_CLAIMED_FIELDS = (N.id, N.channel, N.recipient, N.subject, N.body, N.language, N.event, N.attempts,
                   N.lease_until)


def _claim(now: datetime, limit: int, channels=None) -> list[Notification]:
    """Take up to `limit` due queued rows (of `channels`, else all) in one statement."""
    due = (N.status == "queued") & (N.next_attempt_at <= now)
    if channels is not None:
        due &= N.channel.in_(list(channels))
    ids = N.select(N.id).where(due).order_by(N.next_attempt_at, N.id).limit(limit)
    lease = now + timedelta(seconds=lease_seconds(limit))
    with transaction():
        if not is_sqlite():
            # locked first, then updated: concurrent claimers skip each other's rows and do not wait. (As a
            # subquery of the UPDATE, PostgreSQL may rescan it per row, skip the rows the statement has just
            # updated, and so claim far more than `limit`.)
            ids = [row.id for row in ids.for_update(skip_locked=True)]
            if not ids:
                return []
        # SQLite: one statement; the write transaction holds the database lock from the choice to the claim
        rows = list(N.update(status="sending", attempts=N.attempts + 1, lease_until=lease)
                    .where(N.id.in_(ids) & (N.status == "queued"))
                    .returning(*_CLAIMED_FIELDS).execute())
    rows.sort(key=lambda row: row.id)
    return rows


# --- recording outcomes ------------------------------------------------------------------------------------

@dataclass
class Outcome:
    row: Notification
    result: object  # SendResult
    started_at: datetime
    duration_ms: int


def _attempt(notification_id, started_at, duration_ms, outcome, status_code=None, error="", provider_ref=None):
    insert_row(NotificationAttempt, {
        "notification": notification_id, "started_at": started_at, "duration_ms": duration_ms, "outcome": outcome,
        "status_code": status_code, "error": error or "", "provider_ref": provider_ref})


def _held(row):
    return (N.id == row.id) & (N.status == "sending") & (N.attempts == row.attempts)


def _record(item: Outcome, now: datetime) -> str:
    """Write one attempt and the row's new state: 'sent', 'retrying', 'failed' or 'lost' (no longer held)."""
    row, result = item.row, item.result
    if result.accepted:
        _attempt(row.id, item.started_at, item.duration_ms, "sent", result.status_code, "", result.provider_ref)
        # an acceptance is the truth even when our lease ran out meanwhile: it is never sent again
        changes = {"status": "sent", "sent_at": now, "lease_until": None, "last_error": "", "failed_at": None}
        if result.provider_ref:
            changes["provider_ref"] = result.provider_ref
        N.update(**changes).where(
            (N.id == row.id) & (N.status.in_(UNFINISHED) | ((N.status == "failed") & N.sent_at.is_null()))).execute()
        return "sent"
    error = result.error or (f"HTTP {result.status_code}" if result.status_code else "not accepted")
    if result.permanent or row.attempts >= max_attempts():
        outcome, changes = "failed", {"status": "failed", "failed_at": now}
    else:
        outcome = "retry"
        wait = max(delay_after(row.attempts), float(result.retry_after or 0))
        changes = {"status": "queued", "next_attempt_at": now + timedelta(seconds=wait)}
    _attempt(row.id, item.started_at, item.duration_ms, outcome, result.status_code, error)
    done = N.update(lease_until=None, last_error=error[:2000], **changes).where(_held(row)).execute()
    if done != 1:
        return "lost"
    return "failed" if outcome == "failed" else "retrying"


def _give_back(rows) -> int:
    """Claimed rows this worker will not send after all: queued again, the attempt not counted."""
    given = 0
    if not rows:
        return 0
    with transaction():
        for row in rows:
            given += N.update(status="queued", attempts=N.attempts - 1, lease_until=None).where(
                _held(row)).execute()
    return given


def release_expired_leases(now=None) -> int:
    """Rows left "sending" by a worker that stopped: back to queued (or failed after the last attempt)."""
    now = now or utcnow()
    released = 0
    stuck = list(N.select(N.id, N.attempts).where((N.status == "sending") & (N.lease_until < now)))
    if not stuck:
        return 0
    last = max_attempts()
    error = "interrupted: the worker stopped while sending (lease expired)"
    with transaction():
        for row in stuck:
            final = row.attempts >= last
            # next_attempt_at stays as it was (before the claim): due at once
            changed = N.update(status="failed" if final else "queued", lease_until=None, last_error=error,
                               failed_at=now if final else None).where(
                _held(row) & (N.lease_until < now)).execute()
            if changed == 1:
                _attempt(row.id, now, 0, "interrupted", None, error)
                released += 1
    return released


def defer_quiet_hours(now: datetime, until: datetime) -> int:
    """Due SMS rows wait for the end of the quiet hours; recorded as "deferred", not counted as an attempt."""
    with transaction():
        moved = [row.id for row in N.update(next_attempt_at=until).where(
            (N.status == "queued") & (N.channel == "sms") & (N.next_attempt_at <= now)).returning(N.id).execute()]
        if moved:
            note = f"quiet hours: held until {until:%Y-%m-%d %H:%M} UTC"
            NotificationAttempt.insert_many(
                [{"notification": i, "started_at": now, "duration_ms": 0, "outcome": "deferred", "error": note}
                 for i in moved]).execute()
    return len(moved)


# --- sending -----------------------------------------------------------------------------------------------

class _Senders:
    """The SMS gateway and the mailer of one run, made on first use and closed at the end."""

    def __init__(self):
        self.made = {}

    def get(self, channel):
        if channel not in self.made:
            if channel == "sms":
                from intranet.notify.gateways import sms_gateway
                self.made[channel] = sms_gateway()
            elif channel == "email":
                from intranet.notify.mail import mailer
                self.made[channel] = mailer()
            else:
                self.made[channel] = None
        return self.made[channel]

    def close(self):
        for sender in self.made.values():
            if sender is not None:
                try:
                    sender.close()
                except Exception:  # noqa: BLE001  closing must not lose the outcomes already recorded
                    log.warning("closing %s failed", type(sender).__name__, exc_info=True)


def send_one(row, senders: _Senders) -> Outcome:
    from intranet.notify.gateways import SendResult
    started_at, start = utcnow(), time.monotonic()
    try:
        sender = senders.get(row.channel)
        if sender is None:
            result = SendResult.fail(f"unknown channel {row.channel!r}")
        elif not row.recipient:
            result = SendResult.fail("no recipient")
        else:
            result = sender.send(row)
    except Exception as error:  # noqa: BLE001  a sender's bug must not lose the row: it is retried
        log.exception("sending notification %s failed", row.id)
        result = SendResult.retry(f"{type(error).__name__}: {error}")
    return Outcome(row, result, started_at, int((time.monotonic() - start) * 1000))


@dataclass
class Counts:
    recovered: int = 0  # leases expired and given back
    deferred: int = 0  # SMS held for the quiet hours
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    lost: int = 0  # outcome not written: the claim had expired and been taken over
    given_back: int = 0  # claimed, then not sent (time budget, or the channel's provider keeps failing)
    more: bool = False  # stopped by the limit or the time budget while rows may still be due


def deliver_due(limit: int = 200, now=None, time_budget: float | None = None, on_busy=None) -> dict:
    """Recover expired leases, hold SMS in quiet hours, then claim and send due rows in batches, up to `limit`.

    `now` fixes the clock (tests); `time_budget` stops claiming after that many seconds (the sweeper).
    `on_busy` is called once if the first batch came back full (the job asks more workers to help).
    Safe to run in any number of workers at once. Returns counts.
    """
    started = time.monotonic()
    counts = Counts(recovered=release_expired_leases(now))
    flush_every = max(1, int(setting("NOTIFY_FLUSH_EVERY", DEFAULT_FLUSH_EVERY)))
    breaker = max(1, int(setting("NOTIFY_BREAKER_FAILURES", DEFAULT_BREAKER_FAILURES)))
    size = batch_size()
    failures = {"sms": 0, "email": 0}  # consecutive transient failures per channel in this run
    tripped: set[str] = set()
    deferred_for = None
    attempted = 0
    senders = _Senders()

    def out_of_time():
        return time_budget is not None and time.monotonic() - started > time_budget

    try:
        while True:
            if attempted >= limit or out_of_time():
                counts.more = True
                break
            moment = now or utcnow()
            until = quiet_until(moment)
            if until is not None and deferred_for != until:
                counts.deferred += defer_quiet_hours(moment, until)
                deferred_for = until
            blocked = set(tripped) | ({"sms"} if until is not None else set())
            channels = None if not blocked else [c for c in ("sms", "email") if c not in blocked]
            if channels == []:
                break
            batch = _claim(moment, min(size, limit - attempted), channels)
            if not batch:
                break
            if on_busy is not None and len(batch) == size:
                busy, on_busy = on_busy, None
                busy()
            claimed_at = time.monotonic()
            half_lease = lease_seconds(len(batch)) / 2
            pending: list[Outcome] = []
            skipped = []  # the channel's provider keeps failing: given back, the attempt not counted
            for index, row in enumerate(batch):
                if out_of_time() or time.monotonic() - claimed_at > half_lease:
                    skipped.extend(batch[index:])
                    break
                if row.channel in tripped:
                    skipped.append(row)
                    continue
                item = send_one(row, senders)
                attempted += 1
                pending.append(item)
                result = item.result
                if result.accepted or result.permanent:
                    failures[row.channel] = 0
                else:
                    failures[row.channel] = failures.get(row.channel, 0) + 1
                    if failures[row.channel] >= breaker:
                        tripped.add(row.channel)
                        log.warning("%s provider failed %d times in a row (%s); trying again in the next run",
                                    row.channel, failures[row.channel], result.error)
                if row.channel != "sms" or len(pending) >= flush_every:
                    _flush(pending, now, counts)
                    pending = []
            _flush(pending, now, counts)
            counts.given_back += _give_back(skipped)
    finally:
        senders.close()
    return asdict(counts)


def _flush(pending: list[Outcome], now, counts: Counts):
    if not pending:
        return
    moment = now or utcnow()
    with transaction():
        outcomes = [_record(item, moment) for item in pending]
    for outcome in outcomes:
        if outcome == "retrying":
            counts.retrying += 1
        else:
            setattr(counts, outcome, getattr(counts, outcome) + 1)
