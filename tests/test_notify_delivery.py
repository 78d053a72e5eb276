"""Delivery of notifications over real protocols on loopback: SMS to an HTTP JSON gateway started here, e-mail to
an SMTP server started here (aiosmtpd; plain, STARTTLS with login, implicit TLS). Back-off, quiet hours, leases and
fencing, a gateway down for a simulated hour with 2,000 messages waiting, and a consumer killed mid-batch."""
import email
import email.policy
import json
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler
from itertools import count

import pytest

from intranet import db, outbox
from intranet.models import Notification, NotificationAttempt, utcnow
from intranet.notify import delivery, gateways
from tests.factories import make_citizen, make_request
from tests.loopback import LoopbackServer
from tests.servers import huey_consumer, wait_for

TOKEN = "gw-secret-token"
NOON = datetime(2025, 3, 10, 9, 0, 0, 1)  # 12:00 in Doha (UTC+3), outside the quiet hours
AR_SMS = "تم استلام طلبكم رقم HC-2025-000123، وسنبلغكم بكل خطوة."
EN_SMS = "We received your request HC-2025-000123; we will tell you at every step."
_keys = count(1)


# --- a gateway and a mail server on loopback -----------------------------------------------------------

class Gateway(LoopbackServer):
    """An SMS gateway on loopback. It drops a second message with a reference it already accepted (answering
    with the first message id), as the adapter's contract requires. `mode`: "ok", "down" (503 without taking the
    message), "reject" (400), "slow" (takes it, answers after the client gave up), "busy" (429, Retry-After 120),
    or a function of the received item returning one of those."""

    def __init__(self, delay=0.0):
        self.mode = "ok"
        self.delay = delay
        self.received = []  # every POST
        self.accepted = {}  # reference -> message id: what went on to the handset, once per reference
        self.lock = threading.Lock()
        self.ids = count(1)
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                item = {"auth": self.headers.get("Authorization"), "type": self.headers.get("Content-Type"),
                        "json": json.loads(raw), "path": self.path}
                if item["auth"] != f"Bearer {TOKEN}":
                    return self.answer(401, {"error": "bad token"})
                reference = item["json"]["reference"]
                with gateway.lock:
                    mode = gateway.mode(item) if callable(gateway.mode) else gateway.mode
                    item["mode"] = mode
                    gateway.received.append(item)
                    if mode in ("ok", "slow"):
                        if reference not in gateway.accepted:
                            gateway.accepted[reference] = f"gw-{next(gateway.ids)}"
                        message_id = gateway.accepted[reference]
                time.sleep(gateway.delay + (2 if mode == "slow" else 0))
                if mode == "down":
                    return self.answer(503, {"error": "maintenance"})
                if mode == "reject":
                    return self.answer(400, {"error": "invalid destination number"})
                if mode == "busy":
                    return self.answer(429, {"error": "slow down"}, {"Retry-After": "120"})
                return self.answer(201, {"message_id": message_id, "status": "accepted"})

            def answer(self, status, body, headers=None):
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up waiting

            def log_message(self, *args):
                pass

        super().__init__(Handler, "/v1/messages", queue_size=128)

    def arrivals(self, reference, modes=("ok", "slow")):
        return [item for item in self.received if item["json"]["reference"] == str(reference) and item["mode"] in modes]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """aiosmtpd handler: keeps every message; refuses recipients at nobody.example (550) and busy.example (451)."""

    def __init__(self):
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@nobody.example"):
            return "550 5.1.1 no such user"
        if address.endswith("@busy.example"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                              "message": email.message_from_bytes(envelope.original_content or envelope.content,
                                                                  policy=email.policy.default),
                              "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object")
                              is not None, "authenticated": session.authenticated})
        return "250 Message accepted"


def smtp_server(**kwargs):
    from aiosmtpd.controller import Controller
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    return mailbox, controller


@pytest.fixture
def gateway():
    server = Gateway().start()
    yield server
    server.stop()


@pytest.fixture
def mailbox():
    box, controller = smtp_server()
    box.port = controller.port
    yield box
    controller.stop()


@pytest.fixture
def configured(app, gateway, mailbox):
    """SMS through the loopback gateway, e-mail through the loopback SMTP server; no quiet hours unless a test
    sets them; no trigger (the tests call deliver_due)."""
    app.config.update(SMS_GATEWAY="http", SMS_GATEWAY_URL=gateway.url, SMS_GATEWAY_TOKEN=TOKEN,
                      SMS_SENDER_ID="Diwan", SMS_GATEWAY_TIMEOUT=0.5, SMS_RECEIPT_URL="https://diwan.example/r",
                      MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=mailbox.port, SMTP_TLS="none",
                      SMTP_TIMEOUT=2, MAIL_FROM="ديوان <no-reply@diwan.example>", QUIET_HOURS="off",
                      NOTIFY_TRIGGER=False)
    return app


@pytest.fixture
def people(ctx):
    citizen = make_citizen()
    req = make_request(citizen=citizen)
    Notification.delete().execute()  # what the submission itself queued: these tests write their own rows
    return {"citizen": citizen, "request": req}


def notify(people, channel="sms", language="ar", body=AR_SMS, subject="", recipient=None, at=None, **extra):
    recipient = recipient or ("+97455123456" if channel == "sms" else "citizen@example.org")
    return Notification.create(request=people["request"], citizen=people["citizen"], event="request_received",
                               channel=channel, language=language, recipient=recipient, subject=subject,
                               body=body, dedupe_key=f"test:{next(_keys)}:{channel}",
                               next_attempt_at=at or utcnow() - timedelta(seconds=1), **extra)


def bulk(people, n, at, channel="sms"):
    rows = [{"request": people["request"].id, "citizen": people["citizen"].id, "event": "moved_on",
             "channel": channel, "language": "ar" if i % 2 else "en", "recipient": f"+9745500{i:04d}",
             "body": (AR_SMS if i % 2 else EN_SMS) + f" #{i}", "dedupe_key": f"bulk:{next(_keys)}:{i}",
             "next_attempt_at": at, "created_at": at} for i in range(n)]
    with db.database.atomic():
        for start in range(0, n, 500):
            Notification.insert_many(rows[start:start + 500]).execute()
    return list(Notification.select().order_by(Notification.id))


def reload(row):
    return Notification.get_by_id(row.id)


def attempts_of(row):
    return [a.outcome for a in NotificationAttempt.select().where(NotificationAttempt.notification == row.id)
            .order_by(NotificationAttempt.id)]


# --- the message itself, in Arabic and English ---------------------------------------------------------

def test_sms_through_the_http_gateway_in_arabic_and_english(configured, people, gateway):
    ar = notify(people, body=AR_SMS)
    en = notify(people, language="en", body=EN_SMS, recipient="+97455000001")
    counts = delivery.deliver_due()
    assert counts["sent"] == 2 and counts["retrying"] == counts["failed"] == 0

    by_ref = {item["json"]["reference"]: item for item in gateway.received}
    assert by_ref[str(ar.id)]["json"] == {"to": "+97455123456", "from": "Diwan", "text": AR_SMS,
                                          "reference": str(ar.id), "callback_url": "https://diwan.example/r"}
    assert by_ref[str(en.id)]["json"]["text"] == EN_SMS and by_ref[str(en.id)]["json"]["to"] == "+97455000001"
    assert by_ref[str(ar.id)]["type"].startswith("application/json") and by_ref[str(ar.id)]["path"] == "/v1/messages"
    for row in (ar, en):
        row = reload(row)
        assert row.status == "sent" and row.sent_at and row.attempts == 1 and row.lease_until is None
        assert row.provider_ref == gateway.accepted[str(row.id)]
        attempt = NotificationAttempt.get(NotificationAttempt.notification == row.id)
        assert (attempt.outcome, attempt.status_code, attempt.provider_ref) == ("sent", 201, row.provider_ref)
    assert delivery.deliver_due(now=utcnow() + timedelta(days=3))["sent"] == 0  # sent is never sent again
    assert len(gateway.received) == 2


def test_email_through_smtp_in_arabic_and_english(configured, people, mailbox):
    ar = notify(people, "email", subject="تم استلام طلبكم HC-2025-000123", body=AR_SMS + "\n\nمع التحية،\nديوان")
    en = notify(people, "email", language="en", subject="Request HC-2025-000123 received", body=EN_SMS,
                recipient="someone@example.com")
    assert delivery.deliver_due()["sent"] == 2
    assert len(mailbox.messages) == 2
    by_to = {m["to"][0]: m for m in mailbox.messages}
    arabic = by_to["citizen@example.org"]["message"]
    assert arabic["Subject"] == "تم استلام طلبكم HC-2025-000123"
    assert arabic.get_content().strip() == (AR_SMS + "\n\nمع التحية،\nديوان")
    assert arabic["Message-ID"] == f"<notification-{ar.id}@diwan.example>"
    assert arabic["From"].addresses[0].display_name == "ديوان" and arabic["Content-Language"] == "ar"
    assert by_to["citizen@example.org"]["from"] == "no-reply@diwan.example"
    english = by_to["someone@example.com"]["message"]
    assert english["Subject"] == "Request HC-2025-000123 received" and english.get_content().strip() == EN_SMS
    assert reload(ar).provider_ref == f"notification-{ar.id}@diwan.example" and reload(en).status == "sent"


def test_an_email_claimed_for_delivery_keeps_its_attached_report(configured, people, mailbox, tmp_path):
    """The claim reads every column the mailer uses: the supervisors' daily summary arrives with its PDF."""
    report = tmp_path / "daily_summary-2025-05-13-ar.pdf"
    report.write_bytes(b"%PDF-1.4 the summary")
    row = notify(people, "email", subject="الملخص اليومي", body="مرفق", attachment=str(report))
    assert delivery.deliver_due()["sent"] == 1 and reload(row).status == "sent"
    parts = list(mailbox.messages[0]["message"].iter_attachments())
    assert [(part.get_content_type(), part.get_filename(), part.get_content()) for part in parts] == \
        [("application/pdf", report.name, b"%PDF-1.4 the summary")]


def test_email_refusals_permanent_and_transient(configured, people, mailbox):
    gone = notify(people, "email", subject="s", body="b", recipient="x@nobody.example")
    later = notify(people, "email", subject="s", body="b", recipient="x@busy.example")
    fine = notify(people, "email", subject="s", body="b")
    counts = delivery.deliver_due()
    assert (counts["failed"], counts["retrying"], counts["sent"]) == (1, 1, 1)
    gone, later = reload(gone), reload(later)
    assert gone.status == "failed" and gone.failed_at and "550" in gone.last_error
    assert later.status == "queued" and "451" in later.last_error and later.next_attempt_at > utcnow()
    assert [m["to"] for m in mailbox.messages] == [[fine.recipient]]  # the connection survived the refusals


def _certificate(tmp_path):
    """A self-signed certificate for 127.0.0.1 (openssl is a bootstrap package: a missing one fails here)."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_email_over_tls_with_login(configured, people, tmp_path, mode):
    from aiosmtpd.smtp import AuthResult
    server_context, client_context = _certificate(tmp_path)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"diwan" and auth_data.password == b"s3cret"
        return AuthResult(success=ok, handled=False)  # False: the server answers 535

    options = {"authenticator": authenticator}
    if mode == "starttls":
        options.update(tls_context=server_context, require_starttls=True, auth_require_tls=True)
    else:
        options.update(ssl_context=server_context, auth_require_tls=False)  # implicit TLS: the whole session
    box, controller = smtp_server(**options)
    try:
        configured.config.update(SMTP_PORT=controller.port, SMTP_TLS=mode, SMTP_USERNAME="diwan",
                                 SMTP_PASSWORD="s3cret", SMTP_SSL_CONTEXT=client_context)
        row = notify(people, "email", subject="رسالة مشفّرة", body="نص عربي")
        assert delivery.deliver_due()["sent"] == 1
        assert box.messages[0]["tls"] and box.messages[0]["authenticated"]
        assert box.messages[0]["message"]["Subject"] == "رسالة مشفّرة"
        configured.config["SMTP_PASSWORD"] = "wrong"
        other = notify(people, "email", subject="s", body="b")
        counts = delivery.deliver_due()
        assert counts["retrying"] == 1  # our account refused: retried, never the citizen's fault
        assert "535" in reload(other).last_error and reload(row).status == "sent"
    finally:
        controller.stop()


# --- failures, back-off, permanent refusals ----------------------------------------------------------

def test_backoff_then_failed_after_the_last_attempt(configured, people, gateway, app):
    app.config.update(NOTIFY_MAX_ATTEMPTS=6, NOTIFY_BREAKER_FAILURES=100)
    row = notify(people, at=NOON)
    gateway.mode = "down"
    now, waits = NOON, []
    for attempt in range(1, 7):
        counts = delivery.deliver_due(now=now)
        assert counts["failed" if attempt == 6 else "retrying"] == 1
        current = reload(row)
        assert current.attempts == attempt and "503" in current.last_error
        if attempt < 6:
            waits.append((current.next_attempt_at - now).total_seconds())
            assert delivery.deliver_due(now=current.next_attempt_at - timedelta(seconds=1))["retrying"] == 0
            now = current.next_attempt_at
    assert waits == [60, 300, 900, 3600, 14400]  # about 1, 5, 15, 60 minutes, then every four hours
    current = reload(row)
    assert current.status == "failed" and current.failed_at == now
    assert attempts_of(row) == ["retry"] * 5 + ["failed"]
    gateway.mode = "ok"
    assert delivery.deliver_due(now=now + timedelta(days=2))["sent"] == 0  # failed stays failed (the desk calls)
    assert len(gateway.received) == 6


def test_rejection_is_permanent_busy_waits_retry_after_and_timeout_retries(configured, people, gateway):
    bad = notify(people, recipient="+000", at=NOON)
    busy = notify(people, recipient="+97455000002", at=NOON)
    slow = notify(people, recipient="+97455000003", at=NOON)
    gateway.mode = lambda item: {"+000": "reject", "+97455000002": "busy"}.get(item["json"]["to"], "slow")
    counts = delivery.deliver_due(now=NOON)
    assert (counts["failed"], counts["retrying"]) == (1, 2)
    assert reload(bad).status == "failed" and "400" in reload(bad).last_error and "invalid" in reload(bad).last_error
    assert reload(busy).next_attempt_at == NOON + timedelta(seconds=120)  # Retry-After beats the first back-off
    assert reload(slow).status == "queued" and "timed out" in reload(slow).last_error
    # the slow gateway did take it: the retry carries the same reference and the gateway drops it
    gateway.mode = "ok"
    assert delivery.deliver_due(now=NOON + timedelta(hours=1))["sent"] == 2
    assert len(gateway.arrivals(slow.id)) == 2 and reload(slow).provider_ref == gateway.accepted[str(slow.id)]
    assert len(gateway.accepted) == 2


def test_unreachable_gateway_is_a_connection_error_and_the_breaker_spares_the_rest(configured, people, gateway):
    gateway.stop()
    rows = bulk(people, 30, NOON)
    counts = delivery.deliver_due(now=NOON)
    assert counts["retrying"] == 5 and counts["given_back"] >= 1  # five tries, then the others wait for the next run
    tried = [r for r in rows if reload(r).attempts]
    assert len(tried) == 5 and all("refused" in reload(r).last_error.lower() for r in tried)
    assert Notification.select().where((Notification.status == "queued") & (Notification.attempts == 0)).count() == 25
    assert Notification.select().where(Notification.status == "sending").count() == 0
    gateway.stop = lambda: None


def test_email_keeps_going_while_the_sms_gateway_is_down(configured, people, gateway, mailbox):
    gateway.mode = "down"
    bulk(people, 12, NOON)
    mails = [notify(people, "email", subject="s", body=f"b{i}", at=NOON) for i in range(3)]
    counts = delivery.deliver_due(now=NOON)
    assert counts["sent"] == 3 and len(mailbox.messages) == 3 and all(reload(m).status == "sent" for m in mails)


# --- quiet hours -------------------------------------------------------------------------------------------

def test_quiet_hours_in_local_time(app):
    with app.app_context():
        app.config.update(QUIET_HOURS="22:00-07:00", TIMEZONE="Asia/Qatar")
        day = datetime(2025, 3, 10)
        assert delivery.quiet_until(day.replace(hour=18, minute=59)) is None  # 21:59 in Doha
        assert delivery.quiet_until(day.replace(hour=19)) == day.replace(day=11, hour=4)  # 22:00 -> 07:00 next day
        assert delivery.quiet_until(day.replace(hour=23, minute=30)) == day.replace(day=11, hour=4)  # 02:30
        assert delivery.quiet_until(day.replace(hour=3, minute=59)) == day.replace(hour=4)  # 06:59
        assert delivery.quiet_until(day.replace(hour=4)) is None  # 07:00
        app.config["QUIET_HOURS"] = "13:00-14:00"
        assert delivery.quiet_until(day.replace(hour=10, minute=30)) == day.replace(hour=11)
        assert delivery.quiet_until(day.replace(hour=11)) is None
        app.config["QUIET_HOURS"] = "off"
        assert delivery.quiet_until(day.replace(hour=20)) is None
        app.config.update(QUIET_HOURS="22:00-07:00", TIMEZONE="Europe/Paris")
        assert delivery.quiet_until(datetime(2025, 7, 1, 19, 59)) is None  # 21:59 summer time
        assert delivery.quiet_until(datetime(2025, 7, 1, 20)) == datetime(2025, 7, 2, 5)
        with pytest.raises(ValueError):
            delivery.parse_quiet_hours("late")


def test_sms_waits_for_the_end_of_quiet_hours_email_does_not(configured, people, gateway, mailbox, app):
    app.config["QUIET_HOURS"] = "22:00-07:00"
    night = datetime(2025, 3, 10, 20, 15)  # 23:15 in Doha
    sms = notify(people, at=night - timedelta(minutes=5))
    mail_row = notify(people, "email", subject="s", body="b", at=night - timedelta(minutes=5))
    counts = delivery.deliver_due(now=night)
    assert counts["deferred"] == 1 and counts["sent"] == 1 and gateway.received == []
    morning = datetime(2025, 3, 11, 4, 0)  # 07:00 in Doha
    held = reload(sms)
    assert (held.status, held.attempts, held.next_attempt_at) == ("queued", 0, morning)
    assert attempts_of(sms) == ["deferred"] and reload(mail_row).status == "sent"
    assert delivery.deliver_due(now=night + timedelta(hours=2)) == {**counts, "deferred": 0, "sent": 0}
    assert delivery.deliver_due(now=morning - timedelta(seconds=1))["sent"] == 0  # 06:59:59
    assert delivery.deliver_due(now=morning)["sent"] == 1 and len(gateway.received) == 1
    assert reload(sms).attempts == 1 and attempts_of(sms) == ["deferred", "sent"]


def test_a_retry_that_falls_in_quiet_hours_waits_for_the_morning(configured, people, gateway, app):
    app.config["QUIET_HOURS"] = "22:00-07:00"
    evening = datetime(2025, 3, 10, 18, 58)  # 21:58 in Doha
    row = notify(people, at=evening)
    gateway.mode = "down"
    assert delivery.deliver_due(now=evening)["retrying"] == 1  # next try at 21:59 ...
    gateway.mode = "ok"
    assert delivery.deliver_due(now=evening + timedelta(minutes=3))["deferred"] == 1  # ... 22:01: held
    assert reload(row).next_attempt_at == datetime(2025, 3, 11, 4, 0) and reload(row).attempts == 1


# --- leases, fencing, concurrent workers ------------------------------------------------------------------

def test_expired_lease_goes_back_to_queued_and_is_sent_once(configured, people, gateway):
    row = notify(people, at=NOON)
    held = delivery._claim(NOON, 10)  # a worker claims it, then is killed
    assert [r.id for r in held] == [row.id] and reload(row).status == "sending" and reload(row).attempts == 1
    assert delivery.deliver_due(now=NOON)["sent"] == 0  # the lease still runs
    later = NOON + timedelta(seconds=outbox.lease_seconds(delivery.CHANNEL) + 1)
    counts = delivery.deliver_due(now=later)
    assert counts["recovered"] == 1 and counts["sent"] == 1
    assert attempts_of(row) == ["interrupted", "sent"] and reload(row).attempts == 2


def test_a_stale_worker_is_fenced_but_an_acceptance_still_counts(configured, people, gateway):
    row = notify(people, at=NOON)
    stale = delivery._claim(NOON, 10)[0]
    later = NOON + timedelta(seconds=outbox.lease_seconds(delivery.CHANNEL) + 1)
    assert delivery.release_expired_leases(later) == 1
    fresh = delivery._claim(later, 10)[0]
    assert fresh.attempts == 2
    failure = gateways.SendResult.retry("HTTP 503", 503)
    assert delivery._record(delivery.Outcome(stale, failure, NOON, 5), later) == "lost"
    assert reload(row).status == "sending"  # the newer attempt still holds it
    accepted = gateways.SendResult.ok("gw-77", 200)
    assert delivery._record(delivery.Outcome(stale, accepted, NOON, 5), later) == "sent"  # the truth, whenever
    assert reload(row).status == "sent" and reload(row).provider_ref == "gw-77"
    assert delivery._record(delivery.Outcome(fresh, failure, later, 5), later) == "lost"
    assert reload(row).status == "sent"
    assert delivery._claim(later + timedelta(days=1), 10) == []


def test_last_attempt_interrupted_is_failed(configured, people, app):
    app.config["NOTIFY_MAX_ATTEMPTS"] = 1
    row = notify(people, at=NOON)
    delivery._claim(NOON, 10)
    assert delivery.release_expired_leases(NOON + timedelta(seconds=outbox.lease_seconds(delivery.CHANNEL) + 1)) == 1
    assert reload(row).status == "failed" and reload(row).failed_at and attempts_of(row) == ["interrupted"]


def test_concurrent_workers_send_each_once(configured, people, gateway, app):
    gateway.delay = 0.002
    rows = bulk(people, 300, NOON)
    errors = []

    def worker():
        try:
            with app.app_context(), db.database.connection_context():
                for _ in range(50):
                    delivery.deliver_due(limit=40, now=NOON)
                    if not Notification.select().where(Notification.status != "sent").exists():
                        return
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    assert len(gateway.received) == 300 == len(gateway.accepted)  # nobody sent anything twice
    assert {str(r.id) for r in rows} == set(gateway.accepted)
    assert NotificationAttempt.select().count() == 300
    assert Notification.select().where(Notification.status == "sent").count() == 300


# --- a gateway down for an hour ---------------------------------------------------------------------------

def test_gateway_down_for_an_hour_with_2000_queued_then_all_delivered_once(configured, people, gateway, app):
    app.config["QUIET_HOURS"] = "22:00-07:00"  # noon in Doha: not in the way
    rows = bulk(people, 2000, NOON)
    gateway.mode = "down"
    now = NOON
    while now < NOON + timedelta(hours=1):  # the minute's sweeper, for an hour
        counts = delivery.deliver_due(limit=5000, now=now)
        assert counts["sent"] == 0 and counts["failed"] == 0
        now += timedelta(minutes=1)
    down_calls = len(gateway.received)
    assert 0 < down_calls < 2000  # a gateway that keeps failing is probed, not flooded
    assert Notification.select().where(Notification.status == "queued").count() == 2000

    gateway.mode = "ok"
    for _ in range(24 * 60):
        delivery.deliver_due(limit=5000, now=now)
        if not Notification.select().where(Notification.status.in_(delivery.UNFINISHED)).exists():
            break
        now += timedelta(minutes=1)
    assert Notification.select().where(Notification.status == "sent").count() == 2000
    assert len(gateway.accepted) == 2000 == len(gateway.received) - down_calls  # each accepted once, none twice
    assert {str(r.id) for r in rows} == set(gateway.accepted)
    assert all(len(gateway.arrivals(r.id)) == 1 for r in rows[:50])
    assert now - NOON < timedelta(hours=6)  # the probed ones waited their back-off, no longer
    sent_attempts = NotificationAttempt.select().where(NotificationAttempt.outcome == "sent").count()
    assert sent_attempts == 2000 and NotificationAttempt.select().where(
        NotificationAttempt.outcome == "retry").count() == down_calls


# --- demo adapters, the factory, another gateway ----------------------------------------------------------

def test_file_gateway_and_file_mailer_for_the_demo(app, people, tmp_path):
    app.config.update(SMS_GATEWAY="file", SMS_FILE=tmp_path / "sms.jsonl", MAIL_BACKEND="file",
                      MAIL_FILE=tmp_path / "mail.txt", QUIET_HOURS="off", NOTIFY_TRIGGER=False)
    sms = notify(people)
    letter = notify(people, "email", subject="تم الاستلام", body="نص الرسالة")
    assert delivery.deliver_due()["sent"] == 2
    line = json.loads((tmp_path / "sms.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert line["text"] == AR_SMS and line["reference"] == str(sms.id) and reload(sms).provider_ref == f"file-{sms.id}"
    stored = (tmp_path / "mail.txt").read_text(encoding="utf-8")
    assert stored.startswith("From no-reply@diwan.example ") and f"notification-{letter.id}@" in stored
    parsed = email.message_from_string(stored.split("\n", 1)[1], policy=email.policy.default)
    assert parsed["Subject"] == "تم الاستلام" and parsed.get_content().strip() == "نص الرسالة"


def test_another_gateway_is_one_small_class(app, people):
    sent = []

    @gateways.register
    class Pigeon(gateways.SmsGateway):
        name = "pigeon"

        def send(self, notification):
            sent.append(notification.body)
            return gateways.SendResult.ok(f"pigeon-{len(sent)}")

    try:
        app.config.update(SMS_GATEWAY="pigeon", QUIET_HOURS="off", NOTIFY_TRIGGER=False)
        row = notify(people)
        assert delivery.deliver_due()["sent"] == 1 and sent == [AR_SMS] and reload(row).provider_ref == "pigeon-1"
        app.config["SMS_GATEWAY"] = "carrier"
        with pytest.raises(ValueError):
            gateways.sms_gateway()
    finally:
        gateways.GATEWAYS.pop("pigeon", None)


def test_a_crashing_adapter_retries_the_row(app, people, monkeypatch):
    app.config.update(SMS_GATEWAY="file", SMS_FILE="-", QUIET_HOURS="off", NOTIFY_TRIGGER=False)
    monkeypatch.setattr(gateways.FileGateway, "send", lambda self, n: 1 / 0)
    row = notify(people, at=NOON)
    assert delivery.deliver_due(now=NOON)["retrying"] == 1
    assert reload(row).status == "queued" and "ZeroDivisionError" in reload(row).last_error


def test_backoff_schedule_setting(app):
    with app.app_context():
        assert [outbox.delay_after(delivery.CHANNEL, n) for n in range(1, 8)] == [60, 300, 900, 3600, 14400, 14400, 14400]
        app.config["NOTIFY_BACKOFF_SECONDS"] = "5,7"
        assert [outbox.delay_after(delivery.CHANNEL, n) for n in (1, 2, 3)] == [5, 7, 7]


def test_trigger_soon_schedules_once_per_interval(app, monkeypatch):
    from intranet import triggers

    scheduled = []

    class Task:
        @staticmethod
        def schedule(args, delay):
            scheduled.append(delay)

    monkeypatch.setattr(triggers, "task", lambda name: Task if name == "notify.deliver_soon" else None)
    monkeypatch.setattr(triggers, "_due", {})
    with app.app_context():
        assert delivery.trigger_soon() and delivery.trigger_soon() and scheduled == [2.0]  # the second rides along
        app.config["NOTIFY_TRIGGER"] = False
        triggers._due.clear()
        assert not delivery.trigger_soon() and scheduled == [2.0]


# --- through a real consumer process, killed in the middle of a batch ---------------------------------------

def start_consumer(app, queue_url, tmp_path, gateway, name):
    return huey_consumer(app, queue_url, tmp_path / f"{name}.log", workers=2, sms_gateway="http",
                         sms_gateway_url=gateway.url, sms_gateway_token=TOKEN, quiet_hours="off",
                         sms_gateway_timeout=2)


def test_consumer_killed_mid_batch_then_restarted_no_duplicate_none_lost(configured, people, gateway, tmp_path, app):
    from jobs import make_huey
    from jobs.notify import deliver_soon
    from tests.test_jobs import send

    gateway.delay = 0.01  # ~100 messages a second per worker: the kill lands mid-batch
    rows = bulk(people, 400, utcnow() - timedelta(seconds=1))
    queue_url = f"sqlite:///{tmp_path / 'huey.db'}"
    queue = make_huey(queue_url)
    first = start_consumer(app, queue_url, tmp_path, gateway, "first")
    try:
        send(queue, deliver_soon.s())
        assert wait_for(lambda: len(gateway.received) >= 120, 60), "the consumer sent nothing"
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # no goodbye: claims and outcomes in memory are lost
        first.wait(10)
    reached = len(gateway.received)
    statuses = {s: Notification.select().where(Notification.status == s).count() for s in ("queued", "sending", "sent")}
    assert 120 <= reached < 400 and statuses["sending"] > 0 and statuses["queued"] > 0, statuses

    # the minute's sweeper, once the dead worker's leases have expired: their rows go back to the queue
    assert delivery.release_expired_leases(utcnow() + timedelta(hours=1)) == \
        statuses["sending"]
    second = start_consumer(app, queue_url, tmp_path, gateway, "second")
    try:
        send(queue, deliver_soon.s())
        assert wait_for(lambda: not Notification.select().where(
            Notification.status.in_(delivery.UNFINISHED)).exists(), 90)
    finally:
        second.terminate()
        second.wait(10)

    assert Notification.select().where(Notification.status == "sent").count() == 400  # none lost
    assert set(gateway.accepted) == {str(r.id) for r in rows}  # each on to the handset exactly once
    resent = [ref for ref in gateway.accepted if len(gateway.arrivals(ref)) > 1]
    assert all(len(gateway.arrivals(ref)) == 2 for ref in resent)  # at most the one attempt in flight again
    assert len(resent) <= statuses["sending"]  # only rows the dead worker held could go twice to the gateway
    for row in Notification.select():
        assert row.provider_ref == gateway.accepted[str(row.id)]
    interrupted = NotificationAttempt.select().where(NotificationAttempt.outcome == "interrupted").count()
    assert interrupted == statuses["sending"]
