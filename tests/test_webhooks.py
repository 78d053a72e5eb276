"""Webhooks to portal clients against a real HTTP server on loopback: failures, timeouts, recovery, order,
exactly once (with the receiver's dedupe on X-Diwan-Delivery), signatures, leases, revocation, a real consumer."""
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler

import pytest

from intranet import db, outbox, workflow
from intranet.intake import clients, webhooks
from intranet.models import (HistoryEntry, InboxEntry, Request, RequestType, WebhookAttempt, WebhookDelivery,
                             utcnow)
from tests.factories import make_citizen, make_request, make_staff
from tests.loopback import LoopbackServer

TIMEOUT = 0.5  # the configured timeout; the receiver's "slow" answers take longer


class Receiver(LoopbackServer):
    """A portal on loopback. `mode` is "ok", "fail" (500 without processing), "slow" (processes, then answers
    after the client gave up), or a function of the received item returning one of those."""

    def __init__(self, delay=0.0):
        self.mode = "ok"
        self.delay = delay  # every answer waits this long (to make concurrent workers overlap)
        self.received = []  # every POST, in arrival order
        self.processed = []  # what the portal acted on: the first receipt of each X-Diwan-Delivery
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                item = {"delivery": self.headers["X-Diwan-Delivery"], "event": self.headers["X-Diwan-Event"],
                        "timestamp": self.headers["X-Diwan-Timestamp"],
                        "signature": self.headers["X-Diwan-Signature"], "body": body, "json": json.loads(body)}
                with receiver.lock:
                    mode = receiver.mode(item) if callable(receiver.mode) else receiver.mode
                    item["mode"] = mode
                    receiver.received.append(item)
                    if mode != "fail" and item["delivery"] not in {p["delivery"] for p in receiver.processed}:
                        receiver.processed.append(item)
                time.sleep(receiver.delay + (TIMEOUT * 2.5 if mode == "slow" else 0))
                try:
                    self.send_response(500 if mode == "fail" else 200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the client gave up waiting

            def log_message(self, *args):
                pass

        super().__init__(Handler, "/hooks/diwan", queue_size=5)

    def events_of(self, tracking_number):
        return [(p["json"]["id"], p["json"]["event"]) for p in self.processed
                if p["json"]["tracking_number"] == tracking_number]


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def people(ctx, app):
    app.config.update(WEBHOOK_TIMEOUT_SECONDS=TIMEOUT, WEBHOOK_BACKOFF_SECONDS=[1, 2, 4], WEBHOOK_MAX_ATTEMPTS=6)
    return {"desk": make_staff("desk", "reception", "reception"), "health": make_staff("h1", "clerk", "health"),
            "comp": make_staff("c1", "clerk", "compensation"), "citizens": make_staff("z1", "clerk", "citizens"),
            "admin": make_staff("a1", "admin", None)}


@pytest.fixture
def portal(people, receiver):
    return clients.create_client(people["admin"], "National portal", ["requests:write", "requests:read"],
                                 webhook_url=receiver.url).client


def electronic(client, type_code="health_care", reference="P-1") -> Request:
    """A request as the API makes it: submitted by the portal (no staff actor), its inbox row accepted."""
    req = workflow.submit(None, make_citizen(), RequestType.get(RequestType.code == type_code), "electronic",
                          "طلب إلكتروني").request
    InboxEntry.create(client=client, request=req, status="accepted", payload=b"{}", portal_reference=reference,
                      content_type="application/json")
    return req


def reload(req):
    return Request.get_by_id(req.id)


def make_due():
    """Jump over the back-off instead of sleeping through it."""
    WebhookDelivery.update(next_attempt_at=utcnow() - timedelta(seconds=1)).where(
        WebhookDelivery.status == "pending").execute()


def drain(rounds=30):
    for _ in range(rounds):
        webhooks.deliver_due()
        if not WebhookDelivery.select().where(WebhookDelivery.status.in_(webhooks.UNDELIVERED)).exists():
            return
        make_due()
    raise AssertionError("deliveries still waiting")


def pushed_history(req):
    """What should reach the portal, in order: the public changes after the submission."""
    entries = HistoryEntry.select().where((HistoryEntry.request == req.id)
                                          & HistoryEntry.action.in_(sorted(webhooks.PUSHED_ACTIONS)))
    return [(f"evt_{e.id}", webhooks.public_event(e)["event"]) for e in entries.order_by(HistoryEntry.id)]


def test_fails_times_out_recovers_every_change_exactly_once_in_order(people, portal, receiver):
    p = people
    r1, r2 = electronic(portal, reference="P-1"), electronic(portal, reference="P-2")
    r3 = electronic(portal, "inquiry", reference="P-3")
    walk_in = make_request("health_care", actor=p["desk"])

    workflow.accept(p["health"], r1, 1, "ok")
    workflow.accept(p["health"], r2, 1)
    workflow.return_(p["citizens"], r3, 1, "bring your ID card", missing=["ID card"])
    workflow.accept(p["health"], walk_in, 1)
    assert WebhookDelivery.select().count() == 3  # none for the submissions, none for the walk-in request

    # the portal is down: 500s, nothing processed, each delivery waits its back-off
    receiver.mode = "fail"
    assert webhooks.deliver_due()["retrying"] == 3
    assert receiver.processed == [] and len(receiver.received) == 3
    assert webhooks.deliver_due() == {"recovered": 0, "delivered": 0, "retrying": 0, "failed": 0, "lost": 0,
                                      "given_back": 0, "more": False}
    assert all(d.next_attempt_at > utcnow() and "500" in d.last_error for d in WebhookDelivery.select())

    # changes keep coming while the portal is down: they queue behind the first of their request
    workflow.return_(p["comp"], reload(r1), 2, "invoice missing")
    workflow.accept(p["comp"], reload(r2), 2)
    make_due()
    assert webhooks.deliver_due()["retrying"] == 3
    assert len(receiver.received) == 6 and len({item["delivery"] for item in receiver.received}) == 3

    # the portal hangs: it processes what arrives but answers after our timeout
    receiver.mode = "slow"
    make_due()
    counts = webhooks.deliver_due()
    assert counts["retrying"] == 3 and counts["delivered"] == 0
    assert len(receiver.processed) == 3
    timed_out = WebhookAttempt.select().where(WebhookAttempt.error.contains("timed out"))
    assert timed_out.count() == 3 and all(a.duration_ms >= TIMEOUT * 900 and a.status_code is None
                                          for a in timed_out)

    workflow.resubmit(p["health"], reload(r1), 3, "invoice attached")
    workflow.reject(p["comp"], reload(r1), 4, "not eligible")
    workflow.accept(make_staff("head-t", "head", None), reload(r2), 3)  # last stage, the head's: completed
    workflow.resubmit(p["desk"], reload(r3), 2, "ID card scanned")
    workflow.accept(p["citizens"], reload(r3), 3, "answered")

    # the portal recovers: everything goes, and the retried ones are dropped by the receiver's dedupe
    receiver.mode = "ok"
    drain()

    for req, events in ((r1, ["moved_on", "returned", "resubmitted", "rejected"]),
                        (r2, ["moved_on", "moved_on", "completed"]),
                        (r3, ["returned", "resubmitted", "completed"])):
        expected = pushed_history(req)
        assert [event for _, event in expected] == events
        assert receiver.events_of(req.tracking_number) == expected  # each once, in order
    assert all(d.status == "delivered" and d.delivered_at for d in WebhookDelivery.select())

    # never sent again after a 2xx; every attempt recorded; signatures verify with the client's secret
    for delivery in WebhookDelivery.select():
        attempts = list(delivery.attempt_rows.order_by(WebhookAttempt.id))
        arrivals = [item for item in receiver.received if item["delivery"] == str(delivery.id)]
        assert len(attempts) == len(arrivals) == delivery.attempts
        assert [a.status_code for a in attempts][-1] == 200
        assert sum(1 for a in attempts if a.status_code == 200) == 1
        assert all(item["body"] == delivery.payload.encode() for item in arrivals)  # fixed when it happened
    heads = WebhookDelivery.select().where(WebhookDelivery.history.in_(
        [int(evt[4:]) for req in (r1, r2, r3) for evt, _ in pushed_history(req)[:1]]))
    assert sorted(d.attempts for d in heads) == [4, 4, 4]  # fail, fail, timeout, ok
    for item in receiver.received:
        assert webhooks.verify(portal.webhook_secret, item["signature"], item["body"])
        assert item["signature"].startswith(f"t={item['timestamp']},")
        assert not webhooks.verify("another secret", item["signature"], item["body"])
        assert not webhooks.verify(portal.webhook_secret, item["signature"], item["body"] + b" ")

    before = len(receiver.received)
    assert webhooks.deliver_due(now=utcnow() + timedelta(days=30))["delivered"] == 0
    assert len(receiver.received) == before

    returned = next(p["json"] for p in receiver.processed if p["json"]["event"] == "returned"
                    and p["json"]["tracking_number"] == r3.tracking_number)
    assert returned["portal_reference"] == "P-3" and returned["reason"] == "bring your ID card"
    assert returned["missing_documents"] == ["ID card"] and returned["status"] == "awaiting_citizen"
    assert returned["stage"]["code"] and returned["occurred_at"].endswith("Z")


def test_concurrent_workers_keep_order_and_send_each_once(people, portal, receiver, app):
    receiver.delay = 0.01
    requests = [electronic(portal, reference=f"P-{n}") for n in range(4)]
    for req in requests:
        workflow.accept(people["health"], reload(req), 1)
        workflow.return_(people["comp"], reload(req), 2, "invoice missing")
        workflow.resubmit(people["health"], reload(req), 3, "attached")
        workflow.accept(people["comp"], reload(req), 4)
    errors = []

    def worker():
        try:
            with app.app_context(), db.database.connection_context():
                for _ in range(100):
                    webhooks.deliver_due(limit=3)
                    if not WebhookDelivery.select().where(WebhookDelivery.status != "delivered").exists():
                        return
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert len(receiver.received) == 16 == len({item["delivery"] for item in receiver.received})
    for req in requests:
        assert receiver.events_of(req.tracking_number) == pushed_history(req)


def test_max_attempts_fail_then_the_next_change_proceeds(people, portal, receiver, app):
    app.config["WEBHOOK_MAX_ATTEMPTS"] = 2
    req = electronic(portal)
    first = workflow.accept(people["health"], req, 1).entry
    workflow.return_(people["comp"], reload(req), 2, "invoice missing")
    receiver.mode = lambda item: "fail" if item["json"]["id"] == f"evt_{first.id}" else "ok"

    assert webhooks.deliver_due()["retrying"] == 1
    assert [item["event"] for item in receiver.received] == ["moved_on"]  # the return waits its turn
    make_due()
    counts = webhooks.deliver_due()
    assert counts["failed"] == 1 and counts["delivered"] == 1
    assert [item["event"] for item in receiver.received] == ["moved_on", "moved_on", "returned"]
    failed = WebhookDelivery.get(WebhookDelivery.history == first.id)
    assert (failed.status, failed.attempts, failed.attempt_rows.count()) == ("failed", 2, 2)
    assert "500" in failed.last_error
    make_due()
    assert webhooks.deliver_due()["delivered"] == 0  # a failed delivery stays failed, kept for inspection

    receiver.mode = "ok"
    assert webhooks.redeliver(failed)  # an administrator's decision, e.g. after a long outage
    assert webhooks.deliver_due()["delivered"] == 1
    assert WebhookDelivery.get_by_id(failed.id).status == "delivered"


def test_expired_lease_goes_back_to_pending_and_is_delivered_in_order(people, portal, receiver):
    req = electronic(portal)
    workflow.accept(people["health"], req, 1)
    workflow.return_(people["comp"], reload(req), 2, "invoice missing")
    now = utcnow()
    [held] = outbox.claim(webhooks.CHANNEL, now, 10)  # a worker claims the first change, then is killed
    assert WebhookDelivery.get_by_id(held.id).status == "sending" and held.attempts == 1
    assert outbox.claim(webhooks.CHANNEL, now, 10) == []  # the second change waits behind the one being sent

    assert webhooks.deliver_due()["delivered"] == 0 and receiver.received == []  # lease still running
    later = utcnow() + timedelta(seconds=outbox.lease_seconds(webhooks.CHANNEL) + 1)
    counts = webhooks.deliver_due(now=later)
    assert counts["recovered"] == 1 and counts["delivered"] == 2
    assert receiver.events_of(req.tracking_number) == pushed_history(req)
    rows = WebhookDelivery.get_by_id(held.id).attempt_rows.order_by(WebhookAttempt.id)
    assert [(a.status_code, "interrupted" in a.error) for a in rows] == [(None, True), (200, False)]


def test_answer_of_a_worker_whose_lease_expired_is_fenced_but_a_2xx_still_counts(people, portal, receiver):
    req = electronic(portal)
    workflow.accept(people["health"], req, 1)
    now = utcnow()
    [stale] = outbox.claim(webhooks.CHANNEL, now, 10)
    later = now + timedelta(seconds=outbox.lease_seconds(webhooks.CHANNEL) + 1)
    assert outbox.release_expired_leases(webhooks.CHANNEL, later) == 1
    [fresh] = outbox.claim(webhooks.CHANNEL, later, 10)
    assert fresh.attempts == 2
    # the first worker comes back with a failure: it no longer holds the delivery, nothing changes
    failure = outbox.Outcome(stale, outbox.SendResult.retry("HTTP 500", 500), now, 3)
    assert outbox.record_all(webhooks.CHANNEL, [failure], utcnow()) == ["lost"]
    assert WebhookDelivery.get_by_id(fresh.id).status == "sending"
    result = webhooks.send(fresh)
    assert result.accepted and result.status_code == 200 and len(receiver.received) == 1
    assert outbox.record_all(webhooks.CHANNEL, [outbox.Outcome(fresh, result, later, 3)], utcnow()) == ["delivered"]
    assert WebhookDelivery.get_by_id(fresh.id).status == "delivered"


def test_revoked_client_gets_nothing_new(people, portal, receiver):
    req = electronic(portal)
    workflow.accept(people["health"], req, 1)
    assert WebhookDelivery.select().count() == 1
    assert clients.revoke(people["admin"], portal)
    workflow.return_(people["comp"], reload(req), 2, "invoice missing")
    assert WebhookDelivery.select().count() == 1  # nothing new for a revoked client

    counts = webhooks.deliver_due()
    assert counts["failed"] == 1 and receiver.received == []  # what was waiting is not sent either
    waiting = WebhookDelivery.get()
    assert waiting.status == "failed" and "revoked" in waiting.last_error and waiting.attempt_rows.count() == 1


def test_no_deliveries_for_walk_in_submissions_internal_actions_or_clients_without_url(people, portal, monkeypatch):
    quiet = clients.create_client(people["admin"], "Batch portal", ["requests:write"]).client  # no webhook URL
    silent = electronic(quiet)
    workflow.accept(people["health"], silent, 1)
    req = electronic(portal)
    workflow.claim(people["health"], req, 1)
    workflow.comment(people["health"], reload(req), 2, "looking")
    workflow.release(people["health"], reload(req), reload(req).version)
    assert WebhookDelivery.select().count() == 0  # submit, claim, comment, release: not the portal's business
    workflow.accept(people["health"], reload(req), reload(req).version)
    assert [d.event for d in WebhookDelivery.select()] == ["moved_on"]

    def no_query(*args, **kwargs):
        raise AssertionError("a walk-in change must not look for portal clients")
    monkeypatch.setattr(webhooks, "_subscribers", no_query)
    walk_in = make_request("health_care", actor=people["desk"])
    workflow.accept(people["health"], walk_in, 1)
    workflow.return_(people["comp"], reload(walk_in), 2, "invoice missing")
    assert WebhookDelivery.select().count() == 1


def test_signature_format_and_tolerance():
    body = b'{"id":"evt_1"}'
    header = webhooks.signature("s3cret", 1700000000, body)
    assert header.startswith("t=1700000000,v1=") and len(header.split("v1=")[1]) == 64
    assert webhooks.verify("s3cret", header, body, now=1700000100)
    assert not webhooks.verify("s3cret", header, body, now=1700000000 + 3600)  # replayed much later
    assert not webhooks.verify("s3cret", "t=abc,v1=00", body)


def test_backoff_schedule(app):
    with app.app_context():
        assert [outbox.delay_after(webhooks.CHANNEL, n) for n in range(1, 9)] == [10, 60, 300, 900, 3600, 10800, 10800, 10800]
        app.config["WEBHOOK_BACKOFF_SECONDS"] = "5,7"
        assert [outbox.delay_after(webhooks.CHANNEL, n) for n in (1, 2, 3)] == [5, 7, 7]


def test_unreachable_portal_is_recorded_as_a_connection_error(people, receiver, app):
    port = receiver.server.server_address[1]
    receiver.stop()  # nothing listens there any more
    client = clients.create_client(people["admin"], "Gone", ["requests:write"],
                                   webhook_url=f"http://127.0.0.1:{port}/hooks").client
    req = electronic(client)
    workflow.accept(people["health"], req, 1)
    assert webhooks.deliver_due()["retrying"] == 1
    attempt = WebhookAttempt.get()
    assert attempt.status_code is None and "refused" in attempt.error.lower()
    receiver.stop = lambda: None  # already stopped


# --- through a real huey consumer process ------------------------------------------------------------

from tests.test_jobs import consumer, send  # noqa: E402,F401  (the fixture, reused)


@pytest.fixture
def queue_url(tmp_path):
    return f"sqlite:///{tmp_path / 'huey.db'}"


def test_consumer_delivers_a_change(people, portal, receiver, consumer):  # noqa: F811 (the fixture imported above)
    from jobs.webhooks import deliver_soon

    req = electronic(portal)
    workflow.accept(people["health"], req, 1)
    workflow.return_(people["comp"], reload(req), 2, "invoice missing")
    send(consumer, deliver_soon.s())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(receiver.processed) < 2:
        time.sleep(0.1)
    assert receiver.events_of(req.tracking_number) == pushed_history(req)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and WebhookDelivery.select().where(
            WebhookDelivery.status != "delivered").exists():
        time.sleep(0.1)
    assert all(d.status == "delivered" for d in WebhookDelivery.select())
