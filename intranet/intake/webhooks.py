"""Webhooks: status changes of electronic requests pushed back to the portal client that submitted them.

The rules are those of the notices outbox: the database is the truth, a job only carries rows out.

- **Written with the change.** `queue_for_change` runs inside the workflow transaction that writes the history
  row, so a change and its deliveries commit (or roll back) together: nothing is dropped. One row per
  (client, history entry), enforced by a unique index: a change is never queued twice. Its JSON body is fixed
  there and then, so every retry sends the same bytes.
- **Order per request.** Only the oldest undelivered (pending or sending) delivery of a (client, request) may be
  claimed; the next one waits until it is delivered or has definitively failed. Two changes of one request are
  serialised by the request's version update, so delivery ids follow the history order.
- **Claims and leases.** A worker claims a delivery with one conditional UPDATE (pending -> sending, due,
  still the oldest, `attempts + 1`, `lease_until`); a second worker's UPDATE then matches no row. The HTTP call
  happens outside any transaction. The outcome is written only while the worker still holds the claim
  (status sending with the same attempt number). A worker killed while sending leaves the row "sending"; once its
  lease has expired the sweeper puts it back to pending (the attempt counts, and is recorded as interrupted).
- **Exactly once.** A 2xx marks the delivery delivered and it is never claimed again. The only way a receiver
  sees a delivery twice is an attempt whose answer was lost (a timeout after the receiver processed it, a worker
  killed after the POST): the same `X-Diwan-Delivery` id and body come again and the receiver drops it, which is
  the contract documented to the portal.
- **Back-off.** A failure (non-2xx, timeout, connection error) waits `WEBHOOK_BACKOFF_SECONDS[attempt - 1]`
  (the last value repeating) before the next try; after `WEBHOOK_MAX_ATTEMPTS` the delivery is "failed", kept
  with its attempts for inspection, and the request's later deliveries proceed.
"""
import hashlib
import hmac
import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from datetime import timedelta

from peewee import SQL, fn

from intranet.config import setting
from intranet.db import transaction
from intranet.intake.public import PUBLIC_ACTIONS, iso, public_event
from intranet.models.intake import ApiClient, InboxEntry, WebhookAttempt, WebhookDelivery
from intranet.models.people import utcnow
from intranet.triggers import SoonTrigger

log = logging.getLogger(__name__)

# the portal got the synchronous 201 for the submission itself: only what happens afterwards is pushed
PUSHED_ACTIONS = frozenset(PUBLIC_ACTIONS) - {"submit"}
UNDELIVERED = ("pending", "sending")

DEFAULT_TIMEOUT_SECONDS = 5
DEFAULT_MAX_ATTEMPTS = 12
DEFAULT_BACKOFF_SECONDS = (10, 60, 300, 900, 3600, 3 * 3600)  # then every 3 hours
USER_AGENT = "Diwan-Webhooks/1"


# --- configuration ------------------------------------------------------------------------------------


def timeout_seconds() -> float:
    return float(setting("WEBHOOK_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS))


def max_attempts() -> int:
    return max(1, int(setting("WEBHOOK_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)))


def backoff_seconds() -> list[float]:
    value = setting("WEBHOOK_BACKOFF_SECONDS", DEFAULT_BACKOFF_SECONDS)
    if isinstance(value, str):
        value = value.split(",")
    return [float(item) for item in value] or list(DEFAULT_BACKOFF_SECONDS)


def lease_seconds() -> float:
    """How long a claim lasts: well beyond one attempt (urllib's timeout applies per socket operation)."""
    default = max(60.0, 6 * timeout_seconds())
    return float(setting("WEBHOOK_LEASE_SECONDS", default))


def delay_after(attempt: int) -> float:
    """Seconds to wait after the `attempt`-th failed attempt (1-based)."""
    steps = backoff_seconds()
    return steps[min(attempt, len(steps)) - 1]


# --- writing deliveries (inside the workflow transaction) ------------------------------------------------

def queue_for_change(req, entry) -> list[WebhookDelivery]:
    """One delivery per subscribed, active client for a public change of an electronic request."""
    if req.channel != "electronic" or entry.action not in PUSHED_ACTIONS:
        return []  # walk-in requests (nearly all) and internal actions cost nothing more
    subscribers = (InboxEntry
                   .select(InboxEntry.client, InboxEntry.portal_reference)
                   .join(ApiClient, on=(InboxEntry.client == ApiClient.id))
                   .where((InboxEntry.request == req.id) & (InboxEntry.status == "accepted")
                          & ApiClient.webhook_url.is_null(False) & (ApiClient.webhook_url != "")
                          & ApiClient.revoked_at.is_null())
                   .order_by(InboxEntry.id))
    created, seen = [], set()
    event = None
    for row in subscribers:
        if row.client_id in seen:
            continue
        seen.add(row.client_id)
        event = event or public_event(entry)
        body = {"id": f"evt_{entry.id}", "tracking_number": req.tracking_number,
                "portal_reference": row.portal_reference, **event, "occurred_at": iso(entry.created_at)}
        created.append(WebhookDelivery.create(
            client=row.client_id, request=req.id, history=entry.id, event=event["event"],
            payload=json.dumps(body, ensure_ascii=False, separators=(",", ":")), next_attempt_at=utcnow()))
    if created:
        _trigger_soon()
    return created


# called inside the change's transaction (queue_for_change): the delivery job runs a moment after it commits
_trigger_soon = SoonTrigger("jobs.webhooks:deliver_soon", "WEBHOOK")


# --- signing ----------------------------------------------------------------------------------------------

def signature(secret: str, timestamp: int | str, body: bytes | str) -> str:
    """`t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>" with the client's webhook secret>`."""
    if isinstance(body, str):
        body = body.encode()
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, tolerance_seconds: int = 300, now: float | None = None) -> bool:
    """What a receiver does (the portal's side; also used by the tests)."""
    parts = dict(item.split("=", 1) for item in (header or "").split(",") if "=" in item)
    if "t" not in parts or "v1" not in parts or not parts["t"].isdigit():
        return False
    if abs((now or time.time()) - int(parts["t"])) > tolerance_seconds:
        return False
    return hmac.compare_digest(signature(secret, parts["t"], body), f"t={parts['t']},v1={parts['v1']}")


# --- sending ----------------------------------------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is not a delivery: urllib would turn the POST into a GET elsewhere and call it 200."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def post(url: str, body: bytes, headers: dict, timeout: float) -> tuple[int | None, str]:
    """(HTTP status or None, error text); never raises for network trouble."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=timeout) as response:
            response.read(64 * 1024)
            return response.status, ""
    except urllib.error.HTTPError as error:
        error.close()
        return error.code, f"HTTP {error.code} {error.reason}"[:500]
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            return None, f"timed out after {timeout:g} s"
        return None, f"{type(reason).__name__}: {reason}"[:500]


@dataclass
class Counts:
    recovered: int = 0  # leases expired and given back
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    lost_claims: int = 0  # another worker took it first


def _older_undelivered(delivery_id, client_id, request_id):
    Older = WebhookDelivery.alias("older")
    return fn.EXISTS(Older.select(SQL("1")).where(
        (Older.request == request_id) & (Older.client == client_id) & (Older.id < delivery_id)
        & Older.status.in_(UNDELIVERED)))


def _candidates(now, limit):
    """Due pending deliveries that are the oldest undelivered of their (client, request)."""
    D, Older = WebhookDelivery, WebhookDelivery.alias("older")
    blocked = fn.EXISTS(Older.select(SQL("1")).where(
        (Older.request == D.request) & (Older.client == D.client) & (Older.id < D.id)
        & Older.status.in_(UNDELIVERED)))
    return list(D.select(D.id, D.client, D.request)
                .where((D.status == "pending") & (D.next_attempt_at <= now) & ~blocked)
                .order_by(D.next_attempt_at, D.id).limit(limit))


def _claim(candidate, now) -> WebhookDelivery | None:
    D = WebhookDelivery
    with transaction():
        claimed = D.update(status="sending", attempts=D.attempts + 1,
                           lease_until=now + timedelta(seconds=lease_seconds())).where(
            (D.id == candidate.id) & (D.status == "pending") & (D.next_attempt_at <= now)
            & ~_older_undelivered(candidate.id, candidate.client_id, candidate.request_id)).execute()
        if claimed != 1:
            return None
        return D.get_by_id(candidate.id)


def _finish(delivery, now, status_code, error, duration_ms, started_at, give_up=False) -> str:
    """Write the attempt and the outcome; 'delivered', 'retrying', 'failed' or 'lost' (claim expired)."""
    D = WebhookDelivery
    attempt = delivery.attempts
    held = (D.id == delivery.id) & (D.status == "sending") & (D.attempts == attempt)
    with transaction():
        WebhookAttempt.create(delivery=delivery.id, started_at=started_at, duration_ms=duration_ms,
                              status_code=status_code, error=error)
        if status_code is not None and 200 <= status_code < 300:
            # a 2xx is the truth even when our lease ran out meanwhile: never send it again
            D.update(status="delivered", delivered_at=now, lease_until=None, last_error="").where(
                (D.id == delivery.id) & D.status.in_(UNDELIVERED)).execute()
            return "delivered"
        if give_up or attempt >= max_attempts():
            outcome, changes = "failed", {"status": "failed"}
        else:
            outcome = "retrying"
            changes = {"status": "pending", "next_attempt_at": now + timedelta(seconds=delay_after(attempt))}
        done = D.update(lease_until=None, last_error=error or f"HTTP {status_code}", **changes).where(held).execute()
        return outcome if done == 1 else "lost"


def send(delivery: WebhookDelivery, now=None) -> str:
    """Carry out one claimed delivery."""
    client = ApiClient.get_by_id(delivery.client_id)
    started_at = utcnow()
    if client.revoked_at is not None or not client.webhook_url:
        # a revoked client gets nothing more: what was still waiting fails at once, recorded and not sent
        return _finish(delivery, now or utcnow(), None, "not sent: the client is revoked or has no webhook URL",
                       0, started_at, give_up=True)
    body = delivery.payload.encode()
    timestamp = int(time.time())
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
               "X-Diwan-Delivery": str(delivery.id), "X-Diwan-Event": delivery.event,
               "X-Diwan-Attempt": str(delivery.attempts), "X-Diwan-Timestamp": str(timestamp),
               "X-Diwan-Signature": signature(client.webhook_secret or "", timestamp, body)}
    start = time.monotonic()
    status_code, error = post(client.webhook_url, body, headers, timeout_seconds())
    duration_ms = int((time.monotonic() - start) * 1000)
    return _finish(delivery, now or utcnow(), status_code, error, duration_ms, started_at)


def release_expired_leases(now=None) -> int:
    """Deliveries left "sending" by a worker that stopped: back to pending (or failed after the last attempt)."""
    now = now or utcnow()
    D = WebhookDelivery
    released = 0
    stuck = list(D.select(D.id, D.attempts).where((D.status == "sending") & (D.lease_until < now)))
    for row in stuck:
        last = row.attempts >= max_attempts()
        error = "interrupted: the worker stopped while sending (lease expired)"
        with transaction():
            changed = D.update(status="failed" if last else "pending", lease_until=None, last_error=error,
                               next_attempt_at=now).where(
                (D.id == row.id) & (D.status == "sending") & (D.attempts == row.attempts)
                & (D.lease_until < now)).execute()
            if changed == 1:
                WebhookAttempt.create(delivery=row.id, started_at=now, duration_ms=0, status_code=None, error=error)
                released += 1
    return released


def deliver_due(limit: int = 100, now=None, time_budget: float | None = None) -> dict:
    """Recover expired leases, then claim and send due deliveries, oldest first, up to `limit` attempts.

    `now` fixes the clock (tests); `time_budget` stops claiming after that many seconds (the periodic sweeper).
    Safe to run in any number of workers at once. Returns counts.
    """
    started = time.monotonic()
    counts = Counts(recovered=release_expired_leases(now))
    attempted = 0
    while attempted < limit:
        if time_budget is not None and time.monotonic() - started > time_budget:
            break
        moment = now or utcnow()
        candidates = _candidates(moment, limit - attempted)
        if not candidates:
            break
        progressed = False
        for candidate in candidates:
            if attempted >= limit or (time_budget is not None and time.monotonic() - started > time_budget):
                break
            delivery = _claim(candidate, now or utcnow())
            if delivery is None:
                counts.lost_claims += 1
                continue
            progressed = True
            attempted += 1
            outcome = send(delivery, now)
            if outcome == "delivered":
                counts.delivered += 1
            elif outcome == "retrying":
                counts.retrying += 1
            elif outcome == "failed":
                counts.failed += 1
        if not progressed:
            break  # every candidate was taken by other workers: they carry on with what follows
    return asdict(counts)


def redeliver(delivery: WebhookDelivery, now=None) -> bool:
    """Give a failed delivery a fresh series of attempts (an administrator's decision, e.g. the portal was
    down for a day). It is sent again with the same id and body; order with later changes is no longer kept."""
    D = WebhookDelivery
    with transaction():
        return D.update(status="pending", attempts=0, next_attempt_at=now or utcnow(), last_error="").where(
            (D.id == delivery.id) & (D.status == "failed")).execute() == 1
