"""Delivery of notification rows (SMS and e-mail): the notifications' channel of the outbox (`intranet.outbox`,
which claims, leases, backs off, records and recovers rows for every channel, webhooks included).

- **Written with the change.** `intranet.notify.events` writes the row inside the workflow transaction, its
  `dedupe_key` unique (one message per event, channel and recipient), and calls `trigger_soon()`.
- **The channel.** Rows wait "queued", are "sending" under a lease, end "sent" (then "delivered" by a receipt) or
  "failed" with `failed_at` (the citizen shows on the desk's unreachable list). Settings: `NOTIFY_MAX_ATTEMPTS`,
  `NOTIFY_BACKOFF_SECONDS`, `NOTIFY_BATCH_SIZE`, `NOTIFY_LEASE_SECONDS` (0: from the batch and the SMS gateway's and
  SMTP timeouts). A claim reads every column the gateway and the mailer use (the attached report included).
- **Exactly once.** What the gateway accepted is not sent again. The one window is an attempt whose acceptance we
  never recorded (a worker killed between the gateway's answer and our write, an answer lost to a timeout): the
  row is sent again with the same `reference` (our notification id), which the gateway drops as a duplicate; an
  e-mail keeps its Message-ID. Outcomes of SMS are written in groups of up to `NOTIFY_FLUSH_EVERY` rows; an
  e-mail's at once (SMTP servers do not drop duplicates). A 4xx of the gateway or an SMTP 5xx is permanent.
- **Circuit breaker.** A provider that keeps failing is not hammered: after `NOTIFY_BREAKER_FAILURES` consecutive
  transient failures of one channel in a run, that channel's remaining claims are given back (attempt not
  counted) until the next run.
- **Quiet hours.** No SMS inside `QUIET_HOURS` (local time, `TIMEZONE`): due SMS rows get `next_attempt_at` = the
  end of the quiet hours and a "deferred" attempt row, not counted as an attempt; e-mail is not held.
- **Delivery receipts.** `intranet.notify.delivery_reports.apply_report` moves a row to delivered (or to failed after it
  was sent); repeated receipts change nothing.
"""
import logging
from datetime import datetime, timedelta, timezone
from datetime import time as clock
from zoneinfo import ZoneInfo

from flask import current_app

from intranet import outbox, triggers
from intranet.db import transaction
from intranet.models.notifications import CHANNELS, Notification, NotificationAttempt
from intranet.models.people import utcnow

log = logging.getLogger(__name__)

UNFINISHED = ("queued", outbox.SENDING)


# --- quiet hours --------------------------------------------------------------------------------------------


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
    window = parse_quiet_hours(current_app.config["QUIET_HOURS"]) if window is None else window
    if not window:
        return None
    start, end = window
    tz = ZoneInfo(zone or current_app.config["TIMEZONE"] or "UTC")
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


def trigger_soon() -> bool:
    """Called inside the change's transaction (events.py): the delivery job runs a moment after it commits."""
    return triggers.soon("notify.deliver_soon", "NOTIFY")


N = Notification
# a one-time code asked for this minute is useless by morning: never held for the quiet hours (issue 19)
NOT_HELD_EVENTS = ("booking_code",)


def defer_quiet_hours(now: datetime, until: datetime) -> int:
    """Due SMS rows wait for the end of the quiet hours; recorded as "deferred", not counted as an attempt."""
    with transaction():
        moved = [row.id for row in N.update(next_attempt_at=until).where(
            (N.status == "queued") & (N.channel == "sms") & (N.next_attempt_at <= now)
            & N.event.not_in(NOT_HELD_EVENTS)).returning(N.id).execute()]
        if moved:
            note = f"quiet hours: held until {until:%Y-%m-%d %H:%M} UTC"
            NotificationAttempt.insert_many(
                [{"notification": i, "started_at": now, "duration_ms": 0, "outcome": "deferred", "error": note}
                 for i in moved]).execute()
    return len(moved)


# --- sending -----------------------------------------------------------------------------------------------

class _Run(outbox.Run):
    """One run: the SMS gateway and the mailer, made on first use and closed at the end; quiet hours and the
    circuit breaker per channel."""

    def __init__(self):
        self.made = {}
        self.counts = {"deferred": 0}  # SMS held for the quiet hours
        self.failures = {}  # consecutive transient failures per channel in this run
        self.tripped: set[str] = set()
        self.deferred_for = None
        self.breaker = max(1, int(current_app.config["NOTIFY_BREAKER_FAILURES"]))
        self.flush = max(1, int(current_app.config["NOTIFY_FLUSH_EVERY"]))

    def sender(self, channel):
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

    def send(self, row):
        sender = self.sender(row.channel)
        if sender is None:
            return outbox.SendResult.fail(f"unknown channel {row.channel!r}")
        if not row.recipient:
            return outbox.SendResult.fail("no recipient")
        return sender.send(row)

    def condition(self, moment):
        until = quiet_until(moment)
        if until is not None and self.deferred_for != until:
            self.counts["deferred"] += defer_quiet_hours(moment, until)
            self.deferred_for = until
        blocked = self.tripped | ({"sms"} if until is not None else set())
        if not blocked:
            return None
        open_channels = [c for c in CHANNELS if c not in blocked]
        allowed = N.channel.in_(open_channels) if open_channels else None
        if until is not None and "sms" not in self.tripped:  # quiet hours hold every SMS but the codes
            codes = (N.channel == "sms") & N.event.in_(NOT_HELD_EVENTS)
            allowed = codes if allowed is None else (allowed | codes)
        return allowed if allowed is not None else False

    def holds(self, row):
        return row.channel in self.tripped

    def observe(self, row, result):
        if result.accepted or result.permanent:
            self.failures[row.channel] = 0
            return
        self.failures[row.channel] = self.failures.get(row.channel, 0) + 1
        if self.failures[row.channel] >= self.breaker:
            self.tripped.add(row.channel)
            log.warning("%s provider failed %d times in a row (%s); trying again in the next run",
                        row.channel, self.failures[row.channel], result.error)

    def flush_every(self, row):
        return self.flush if row.channel == "sms" else 1

    def close(self):
        for sender in self.made.values():
            if sender is not None:
                try:
                    sender.close()
                except Exception:  # noqa: BLE001  closing must not lose the outcomes already recorded
                    log.warning("closing %s failed", type(sender).__name__, exc_info=True)


def _timeout() -> float:
    return max(float(current_app.config["SMS_GATEWAY_TIMEOUT"]), float(current_app.config["SMTP_TIMEOUT"]))


CHANNEL = outbox.Channel(
    name="notifications", model=Notification, attempt_model=NotificationAttempt, attempt_of="notification",
    waiting="queued", done="sent", done_at="sent_at", failed_at="failed_at", settings="NOTIFY",
    fields=(N.id, N.channel, N.recipient, N.subject, N.body, N.attachment, N.language, N.event),
    timeout=_timeout, start=_Run)


def deliver_due(limit: int = 200, now=None, time_budget: float | None = None, on_busy=None) -> dict:
    """Hold SMS in quiet hours, then send due notifications through the outbox (`outbox.deliver`). Counts:
    recovered, deferred, sent, retrying, failed, lost, given_back, more."""
    return outbox.deliver(CHANNEL, limit, now=now, time_budget=time_budget, on_busy=on_busy)


# the outbox's steps bound to this channel (the receipts' tests race them)
Outcome = outbox.Outcome


def _claim(now: datetime, limit: int, where=None) -> list[Notification]:
    return outbox.claim(CHANNEL, now, limit, where)


def _record(item: outbox.Outcome, now: datetime) -> str:
    with transaction():
        return outbox.record(CHANNEL, item, now)


def release_expired_leases(now=None) -> int:
    return outbox.release_expired_leases(CHANNEL, now)
