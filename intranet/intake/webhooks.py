"""Webhooks: status changes of electronic requests pushed back to the portal client that submitted them; the
webhooks' channel of the outbox (`intranet.outbox`, which claims, leases, backs off, records and recovers rows for
every channel, notifications included).

- **Written with the change.** `queue_for_change` runs inside the workflow transaction that writes the history
  row, so a change and its deliveries commit (or roll back) together: nothing is dropped. One row per
  (client, history entry), enforced by a unique index: a change is never queued twice. Its JSON body is fixed
  there and then, so every retry sends the same bytes.
- **The channel.** Deliveries wait "pending", are "sending" under a lease, end "delivered" (a 2xx) or "failed"
  (kept with its attempts for inspection; an administrator may `redeliver` it). Settings: `WEBHOOK_MAX_ATTEMPTS`,
  `WEBHOOK_BACKOFF_SECONDS`, `WEBHOOK_BATCH_SIZE`, `WEBHOOK_LEASE_SECONDS` (0: from the batch and
  `WEBHOOK_TIMEOUT_SECONDS`). A non-2xx, a timeout or a connection error is tried again; a revoked client (or one
  without a URL) gets nothing more: what was still waiting fails at once, recorded and not sent.
- **Order per request.** Only the oldest undelivered (pending or sending) delivery of a (client, request) may be
  claimed (`_first_of_its_request`, part of the claim's condition); the next one waits until it is delivered or
  has definitively failed. Two changes of one request are serialised by the request's version update, so
  delivery ids follow the history order.
- **Exactly once.** A 2xx marks the delivery delivered and it is never claimed again. The only way a receiver
  sees a delivery twice is an attempt whose answer was lost (a timeout after the receiver processed it, a worker
  killed after the POST): the same `X-Diwan-Delivery` id and body come again and the receiver drops it, which is
  the contract documented to the portal.
"""
import hashlib
import hmac
import http.client
import json
import logging
import time
import urllib.error
import urllib.request

from flask import current_app
from peewee import SQL, fn

from intranet import outbox, triggers
from intranet.db import database, transaction
from intranet.intake.public import PUBLIC_ACTIONS, iso, public_event
from intranet.models.intake import ApiClient, WebhookAttempt, WebhookDelivery
from intranet.models.people import utcnow

log = logging.getLogger(__name__)

# the portal got the synchronous 201 for the submission itself: only what happens afterwards is pushed, and the
# interview set for an interview request (its date and place: the portal shows them, the SMS tells the citizen)
PUSHED_ACTIONS = (frozenset(PUBLIC_ACTIONS) - {"submit"}) | {"schedule_interview"}
UNDELIVERED = ("pending", "sending")

USER_AGENT = "Diwan-Webhooks/1"


# --- configuration ------------------------------------------------------------------------------------


def timeout_seconds() -> float:
    """One attempt's limit on each socket operation (urllib applies it per operation)."""
    return float(current_app.config["WEBHOOK_TIMEOUT_SECONDS"])


# --- writing deliveries (inside the workflow transaction) ------------------------------------------------

def queue_for_change(req, entry) -> list[WebhookDelivery]:
    """One delivery per subscribed, active client for a public change of an electronic request."""
    if req.channel != "electronic" or entry.action not in PUSHED_ACTIONS:
        return []  # walk-in requests (nearly all) and internal actions cost nothing more
    subscribers = _subscribers(req.id)
    created, seen = [], set()
    event = None
    for client_id, portal_reference in subscribers:
        if client_id in seen:
            continue
        seen.add(client_id)
        event = event or public_event(entry)
        body = {"id": f"evt_{entry.id}", "tracking_number": req.tracking_number,
                "portal_reference": portal_reference, **event, "occurred_at": iso(entry.created_at)}
        # what only the citizen may read goes only to the clients that submitted this very request (`subscribers`)
        if entry.action == "answer":  # an inquiry's answer
            body["answer"] = entry.comment
        elif entry.action == "schedule_interview":  # its date and time (ISO, UTC) and place, as the history keeps them
            body["interview"] = {"at": entry.info.get("at"), "place": entry.info.get("place")}
        created.append(WebhookDelivery.create(
            client=client_id, request=req.id, history=entry.id, event=event["event"],
            payload=json.dumps(body, ensure_ascii=False, separators=(",", ":")), next_attempt_at=utcnow()))
    if created:
        _trigger_soon()
    return created


def _subscribers(request_id: int) -> list[tuple]:
    """(client id, portal reference) of each accepted submission of the request by a client with a webhook, not
    revoked, in the order they came. The SQL is written out: it runs at every public step of every electronic
    request (an automatic renewal's too), and peewee would build it each time at more than it costs to run."""
    p = database.param
    return database.execute_sql(
        f'SELECT i."client_id", i."portal_reference" FROM "inbox" i JOIN "api_client" c ON c."id" = i."client_id" '
        f'WHERE i."request_id" = {p} AND i."status" = {p} AND c."webhook_url" IS NOT NULL AND c."webhook_url" <> {p} '
        f'AND c."revoked_at" IS NULL ORDER BY i."id"', (request_id, "accepted", "")).fetchall()


def _trigger_soon() -> bool:
    """Called inside the change's transaction (queue_for_change): the delivery job runs a moment after it commits."""
    return triggers.soon("webhooks.deliver_soon", "WEBHOOK")


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


def _first_of_its_request():
    """No older delivery of the same (client, request) is still undelivered: changes reach the portal in order."""
    D, Older = WebhookDelivery, WebhookDelivery.alias("older")
    return ~fn.EXISTS(Older.select(SQL("1")).where(
        (Older.request == D.request) & (Older.client == D.client) & (Older.id < D.id)
        & Older.status.in_(UNDELIVERED)))


def send(delivery) -> outbox.SendResult:
    """One attempt at one claimed delivery: POST the fixed body, signed with the client's secret."""
    client = ApiClient.get_by_id(delivery.client_id)
    if client.revoked_at is not None or not client.webhook_url:
        return outbox.SendResult.fail("not sent: the client is revoked or has no webhook URL")
    body = delivery.payload.encode()
    timestamp = int(time.time())
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
               "X-Diwan-Delivery": str(delivery.id), "X-Diwan-Event": delivery.event,
               "X-Diwan-Attempt": str(delivery.attempts), "X-Diwan-Timestamp": str(timestamp),
               "X-Diwan-Signature": signature(client.webhook_secret or "", timestamp, body)}
    status_code, error = post(client.webhook_url, body, headers, timeout_seconds())
    if status_code is not None and 200 <= status_code < 300:
        return outbox.SendResult.ok(status_code=status_code)
    return outbox.SendResult.retry(error or f"HTTP {status_code}", status_code)


class _Run(outbox.Run):
    def send(self, row):
        return send(row)


D = WebhookDelivery
CHANNEL = outbox.Channel(
    name="webhooks", model=WebhookDelivery, attempt_model=WebhookAttempt, attempt_of="delivery",
    waiting="pending", done="delivered", done_at="delivered_at", settings="WEBHOOK",
    fields=(D.id, D.client, D.request, D.event, D.payload), timeout=timeout_seconds, start=_Run,
    claimable=_first_of_its_request)


def deliver_due(limit: int = 100, now=None, time_budget: float | None = None) -> dict:
    """Send due deliveries through the outbox (`outbox.deliver`), oldest first and in order per request. Counts:
    recovered, delivered, retrying, failed, lost, given_back, more."""
    return outbox.deliver(CHANNEL, limit, now=now, time_budget=time_budget)


def redeliver(delivery: WebhookDelivery, now=None) -> bool:
    """Give a failed delivery a fresh series of attempts (an administrator's decision, e.g. the portal was
    down for a day). It is sent again with the same id and body; order with later changes is no longer kept."""
    D = WebhookDelivery
    with transaction():
        return D.update(status="pending", attempts=0, next_attempt_at=now or utcnow(), last_error="").where(
            (D.id == delivery.id) & (D.status == "failed")).execute() == 1
