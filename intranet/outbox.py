"""The outbox: rows that carry a side effect out (SMS and e-mail notifications, webhooks to portal clients) are
claimed, leased, retried, recorded and recovered here, by one set of rules. A channel (`Channel`) says only which
rows and statuses are its own, which settings it reads, and how it sends one row (`Run`).

- **Claims.** `claim` takes up to a batch of due rows (the waiting status, `next_attempt_at` passed, plus the
  channel's own condition) in one transaction: `UPDATE ... SET status = 'sending', attempts = attempts + 1,
  lease_until = ... WHERE id IN (...) AND <due> RETURNING ...`. On SQLite the ids are a subquery of that one
  statement and the write transaction holds the database lock from the choice to the claim; on PostgreSQL they
  are first selected `FOR UPDATE SKIP LOCKED` (two workers take different rows, neither waits; as a subquery of
  the UPDATE PostgreSQL may rescan it per row and claim far more than the batch). Sending happens outside any
  transaction.
- **Lease and token.** A claim holds its rows until `lease_until`; the claim's token is the pair (attempt number,
  lease end) that the claim returns. A retry, a failure or a give-back is written only while the row is still
  "sending" under that token, so a worker whose lease ran out (its row released, perhaps claimed again, or sent
  again from scratch after an administrator's redelivery) cannot overwrite a newer attempt. An acceptance is the
  truth whenever it comes: the row becomes done and is never claimed again.
- **Back-off and attempts limit.** A failed attempt waits `<P>_BACKOFF_SECONDS[attempt - 1]` (the last value
  repeating; longer if the provider said Retry-After); after `<P>_MAX_ATTEMPTS`, or a permanent refusal, the row is
  "failed". Every attempt is a row of the channel's attempt table.
- **The sweeper.** `release_expired_leases` puts rows left "sending" by a worker that stopped back to waiting, due
  at once (the attempt counts, recorded as interrupted), or to failed after the last attempt.
- **A run.** `deliver` recovers expired leases, then claims and sends batches up to a limit; a batch's rows not
  sent within half its lease (or the time budget) are given back, their attempt not counted.
"""
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from flask import current_app
from peewee import Case

from intranet.db import insert_row, is_sqlite, transaction
from intranet.models.people import utcnow

log = logging.getLogger(__name__)

SENDING, FAILED = "sending", "failed"
INTERRUPTED = "interrupted: the worker stopped while sending (lease expired)"


@dataclass
class SendResult:
    """One attempt's answer. `permanent`: a failure another attempt will not cure."""
    accepted: bool
    provider_ref: str | None = None  # the provider's message id (delivery receipts quote it)
    permanent: bool = False
    error: str = ""
    status_code: int | None = None
    retry_after: float | None = None  # seconds, when the provider said when to come back (429, 503)

    @classmethod
    def ok(cls, provider_ref=None, status_code=None):
        return cls(True, provider_ref=provider_ref, status_code=status_code)

    @classmethod
    def retry(cls, error, status_code=None, retry_after=None):
        return cls(False, error=error[:500], status_code=status_code, retry_after=retry_after)

    @classmethod
    def fail(cls, error, status_code=None):
        return cls(False, permanent=True, error=error[:500], status_code=status_code)


class Run:
    """How a channel sends during one `deliver` run. `send` makes one attempt and returns a result (a result with
    the `SendResult` fields); the other hooks let a channel hold rows back (quiet hours, a failing provider)."""

    def __init__(self):
        self.counts = {}  # the channel's own counts, added to the run's

    def send(self, row):
        raise NotImplementedError

    def condition(self, moment: datetime):
        """An extra condition on the rows to claim next; None: none; False: claim nothing more in this run."""

    def holds(self, row) -> bool:
        """True: this claimed row is not sent in this run (given back, the attempt not counted)."""
        return False

    def observe(self, row, result):
        """Called after each attempt (a channel's circuit breaker)."""

    def flush_every(self, row) -> int:
        """Outcomes are written once this many wait (1: each at once)."""
        return 1

    def close(self):
        """End of the run: release connections."""


@dataclass(frozen=True)
class Channel:
    """What the outbox knows of one kind of row. Its settings are `<settings>_MAX_ATTEMPTS`, `_BACKOFF_SECONDS`
    (comma-separated seconds), `_BATCH_SIZE` and `_LEASE_SECONDS` (0: from the batch size and `timeout`)."""
    name: str
    model: type  # the rows: status, attempts, next_attempt_at, lease_until, last_error and `done_at`
    attempt_model: type  # one row per attempt: started_at, duration_ms, status_code, error (outcome, provider_ref)
    attempt_of: str  # the attempt's foreign key to its row
    waiting: str  # the status of rows that wait for their next attempt ("queued", "pending")
    done: str  # the status of accepted rows ("sent", "delivered"), also the name of their count
    done_at: str  # the time of the acceptance
    fields: tuple  # the columns a claim reads: everything `Run.send` uses
    settings: str  # the prefix of the settings' names ("NOTIFY", "WEBHOOK")
    timeout: Callable[[], float]  # the longest wait of one socket operation of an attempt
    start: Callable[[], Run]  # a run's sender
    claimable: Callable | None = None  # () -> a further condition on claimable rows (e.g. order per request)
    failed_at: str | None = None  # set when a row fails, if the model keeps that time


# --- configuration ------------------------------------------------------------------------------------------

def _setting(channel: Channel, name: str):
    return current_app.config[f"{channel.settings}_{name}"]


def seconds_list(value) -> list[float]:
    """'10,60,300' or [10, 60, 300] -> [10.0, 60.0, 300.0]"""
    if isinstance(value, str):
        value = [item for item in value.split(",") if item.strip()]
    return [float(item) for item in value]


def max_attempts(channel: Channel) -> int:
    return max(1, int(_setting(channel, "MAX_ATTEMPTS")))


def delay_after(channel: Channel, attempt: int) -> float:
    """Seconds to wait after the `attempt`-th failed attempt (1-based); the last step repeats."""
    steps = seconds_list(_setting(channel, "BACKOFF_SECONDS")) or [60.0]
    return steps[min(max(attempt, 1), len(steps)) - 1]


def batch_size(channel: Channel) -> int:
    return max(1, int(_setting(channel, "BATCH_SIZE")))


def lease_seconds(channel: Channel, batch: int | None = None) -> float:
    """How long a claim lasts: every row of a batch may take a few timeouts (they apply per socket operation).
    A run stops sending a batch half-way through its lease (`deliver`)."""
    configured = float(_setting(channel, "LEASE_SECONDS") or 0)
    if configured > 0:
        return configured
    return max(60.0, 30 + (batch or batch_size(channel)) * 2 * channel.timeout())


# --- claiming -------------------------------------------------------------------------------------------------

def claim(channel: Channel, now: datetime, limit: int, where=None) -> list:
    """Take up to `limit` due rows (and `where`, if given) under a lease, in one transaction; sorted by id."""
    M = channel.model
    due = (M.status == channel.waiting) & (M.next_attempt_at <= now)
    if channel.claimable is not None:
        due &= channel.claimable()
    if where is not None:
        due &= where
    ids = M.select(M.id).where(due).order_by(M.next_attempt_at, M.id).limit(limit)
    lease = now + timedelta(seconds=lease_seconds(channel, limit))
    fields = dict.fromkeys((M.id, *channel.fields, M.attempts, M.lease_until))  # the token comes back with the row
    with transaction():
        if not is_sqlite():
            ids = [row.id for row in ids.for_update(skip_locked=True)]
            if not ids:
                return []
        rows = list(M.update(status=SENDING, attempts=M.attempts + 1, lease_until=lease)
                    .where(M.id.in_(ids) & due).returning(*fields).execute())
    rows.sort(key=lambda row: row.id)
    return rows


def held(channel: Channel, row):
    """The row is still this claim's: sending, under the claim's token (attempt number and lease end)."""
    M = channel.model
    return ((M.id == row.id) & (M.status == SENDING) & (M.attempts == row.attempts)
            & (M.lease_until == row.lease_until))


def give_back(channel: Channel, rows) -> int:
    """Claimed rows this run will not send after all: waiting again, the attempt not counted."""
    M, given = channel.model, 0
    if not rows:
        return 0
    with transaction():
        for row in rows:
            given += M.update(status=channel.waiting, attempts=M.attempts - 1, lease_until=None).where(
                held(channel, row)).execute()
    return given


# --- recording outcomes ---------------------------------------------------------------------------------------

@dataclass
class Outcome:
    row: object
    result: SendResult
    started_at: datetime
    duration_ms: int


def attempt(run: Run, row) -> Outcome:
    """One attempt at one claimed row, timed; a sender's crash is a result to retry, never a lost row."""
    started_at, start = utcnow(), time.monotonic()
    try:
        result = run.send(row)
    except Exception as error:  # noqa: BLE001  a sender's bug must not lose the row: it is retried
        log.exception("sending %s failed", row.id)
        result = SendResult.retry(f"{type(error).__name__}: {error}")
    return Outcome(row, result, started_at, int((time.monotonic() - start) * 1000))


def _attempt_values(channel: Channel, row_id, started_at, duration_ms, outcome, status_code=None, error="",
                    provider_ref=None) -> dict:
    """An attempt row's values; `outcome` and `provider_ref` where the channel's attempt table keeps them."""
    values = {channel.attempt_of: row_id, "started_at": started_at, "duration_ms": duration_ms,
              "status_code": status_code, "error": error or "", "outcome": outcome, "provider_ref": provider_ref}
    columns = channel.attempt_model._meta.fields
    return {name: value for name, value in values.items() if name in columns}


def _attempt_row(channel: Channel, *args, **kwargs):
    insert_row(channel.attempt_model, _attempt_values(channel, *args, **kwargs))


def record(channel: Channel, item: Outcome, now: datetime) -> str:
    """Write one attempt and the row's new state (inside the caller's transaction): `channel.done`, 'retrying',
    'failed' or 'lost' (the claim was no longer held)."""
    M, row, result = channel.model, item.row, item.result
    if result.accepted:
        _attempt_row(channel, row.id, item.started_at, item.duration_ms, "sent", result.status_code, "",
                     result.provider_ref)
        changes = {"status": channel.done, channel.done_at: now, "lease_until": None, "last_error": ""}
        if channel.failed_at:
            changes[channel.failed_at] = None
        if result.provider_ref and "provider_ref" in M._meta.fields:
            changes["provider_ref"] = result.provider_ref
        # the truth even when our lease ran out meanwhile (or the sweeper gave up on it): never sent again
        M.update(**changes).where((M.id == row.id) & (
            M.status.in_((channel.waiting, SENDING))
            | ((M.status == FAILED) & getattr(M, channel.done_at).is_null()))).execute()
        return channel.done
    error = result.error or (f"HTTP {result.status_code}" if result.status_code else "not accepted")
    if result.permanent or row.attempts >= max_attempts(channel):
        outcome, changes = "failed", {"status": FAILED}
        if channel.failed_at:
            changes[channel.failed_at] = now
    else:
        outcome = "retry"
        wait = max(delay_after(channel, row.attempts), float(result.retry_after or 0))
        changes = {"status": channel.waiting, "next_attempt_at": now + timedelta(seconds=wait)}
    _attempt_row(channel, row.id, item.started_at, item.duration_ms, outcome, result.status_code, error)
    done = M.update(lease_until=None, last_error=error[:2000], **changes).where(held(channel, row)).execute()
    if done != 1:
        return "lost"
    return "failed" if outcome == "failed" else "retrying"


def record_all(channel: Channel, items: list[Outcome], now: datetime) -> list[str]:
    """Outcomes written in one transaction."""
    if not items:
        return []
    with transaction():
        return [record(channel, item, now) for item in items]


# --- the sweeper ---------------------------------------------------------------------------------------------

def release_expired_leases(channel: Channel, now: datetime | None = None) -> int:
    """Rows left "sending" by a worker that stopped: waiting again (or failed after the last attempt), in one
    statement; each recorded as an interrupted attempt. `next_attempt_at` stays as it was: due at once."""
    now = now or utcnow()
    M = channel.model
    final = M.attempts >= max_attempts(channel)
    changes = {"status": Case(None, [(final, FAILED)], channel.waiting), "lease_until": None,
               "last_error": INTERRUPTED}
    if channel.failed_at:
        changes[channel.failed_at] = Case(None, [(final, now)], None)
    with transaction():
        released = [row.id for row in M.update(**changes).where(
            (M.status == SENDING) & (M.lease_until < now)).returning(M.id).execute()]
        if released:
            channel.attempt_model.insert_many(
                [_attempt_values(channel, row_id, now, 0, "interrupted", None, INTERRUPTED) for row_id in released]
            ).execute()
    return len(released)


# --- a run ----------------------------------------------------------------------------------------------------

def deliver(channel: Channel, limit: int, now: datetime | None = None, time_budget: float | None = None,
            on_busy=None) -> dict:
    """Recover expired leases, then claim and send due rows in batches, up to `limit` attempts.

    `now` fixes the clock (tests); `time_budget` stops claiming after that many seconds (the sweeper).
    `on_busy` is called once if the first batch came back full (the job asks more workers to help).
    Safe to run in any number of workers at once. Returns counts.
    """
    started = time.monotonic()
    counts = {"recovered": release_expired_leases(channel, now), channel.done: 0, "retrying": 0, "failed": 0,
              "lost": 0, "given_back": 0, "more": False}
    size, attempted = batch_size(channel), 0
    held_back: set = set()  # rows the run held back are not claimed again by it
    run = channel.start()

    def out_of_time():
        return time_budget is not None and time.monotonic() - started > time_budget

    try:
        while True:
            if attempted >= limit or out_of_time():
                counts["more"] = True
                break
            moment = now or utcnow()
            where = run.condition(moment)
            if where is False:
                break
            if held_back:
                where = ~channel.model.id.in_(sorted(held_back)) if where is None else \
                    where & ~channel.model.id.in_(sorted(held_back))
            batch = claim(channel, moment, min(size, limit - attempted), where)
            if not batch:
                break
            if on_busy is not None and len(batch) == size:
                busy, on_busy = on_busy, None
                busy()
            attempted += _send_batch(channel, run, batch, now, counts, out_of_time, held_back)
    finally:
        run.close()
    return {**counts, **run.counts}


def _send_batch(channel: Channel, run: Run, batch, now, counts: dict, out_of_time, held_back: set) -> int:
    """Send a claimed batch; rows not reached within half its lease, or held back by the run (added to
    `held_back`), are given back. Returns the attempts made."""
    claimed_at, half_lease = time.monotonic(), lease_seconds(channel, len(batch)) / 2
    pending, skipped, attempted = [], [], 0
    for index, row in enumerate(batch):
        if out_of_time() or (attempted and time.monotonic() - claimed_at > half_lease):  # one at least: progress
            skipped.extend(batch[index:])
            break
        if run.holds(row):
            skipped.append(row)
            held_back.add(row.id)
            continue
        item = attempt(run, row)
        attempted += 1
        pending.append(item)
        run.observe(row, item.result)
        if len(pending) >= run.flush_every(row):
            _flush(channel, pending, now, counts)
            pending = []
    _flush(channel, pending, now, counts)
    counts["given_back"] += give_back(channel, skipped)
    return attempted


def _flush(channel: Channel, pending: list[Outcome], now, counts: dict):
    for outcome in record_all(channel, pending, now or utcnow()):
        counts[outcome] += 1
