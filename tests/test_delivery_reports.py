"""Delivery receipts from the SMS gateway: POST /notify/receipts/sms, authenticated, idempotent, unknown
references refused; and what a receipt does to a notification in every state."""
from datetime import timedelta

import pytest

from intranet.models import Notification, utcnow
from intranet.notify import delivery, delivery_reports
from tests.factories import make_citizen, make_request

TOKEN = "receipt-token-0123456789"
URL = "/notify/receipts/sms"


@pytest.fixture
def people(ctx, app):
    app.config.update(SMS_RECEIPT_TOKEN=TOKEN, NOTIFY_TRIGGER=False)
    citizen = make_citizen()
    req = make_request(citizen=citizen)
    Notification.delete().execute()  # what the submission itself queued: these tests write their own rows
    return {"citizen": citizen, "request": req}


def sms(people, status="sent", provider_ref="gw-1", channel="sms", **extra):
    values = {"sent_at": utcnow()} if status in ("sent", "delivered") else {}
    values.update(extra)
    return Notification.create(request=people["request"], citizen=people["citizen"], event="moved_on",
                               channel=channel, language="ar", recipient="+97455123456", body="نص",
                               dedupe_key=f"r:{provider_ref}:{channel}:{status}", status=status, attempts=1,
                               provider_ref=provider_ref, **values)


def post(client, body, token=TOKEN, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.post(URL, json=body, headers=headers, **kwargs)


def reload(row):
    return Notification.get_by_id(row.id)


def test_authentication(client, people, app):
    row = sms(people)
    body = {"reference": str(row.id), "status": "delivered"}
    for token in (None, "wrong", TOKEN[:-1], TOKEN + "x", ""):
        response = post(client, body, token=token)
        assert response.status_code == 401 and response.json["ok"] is False
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.post(URL, json=body, headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    assert reload(row).status == "sent"  # nothing happened
    app.config["SMS_RECEIPT_TOKEN"] = ""  # not configured: every receipt refused, even with an empty token
    assert post(client, body, token="").status_code == 401
    assert client.post(URL, json=body, headers={"Authorization": "Bearer "}).status_code == 401
    app.config["SMS_RECEIPT_TOKEN"] = TOKEN
    response = post(client, body)
    assert response.status_code == 200 and response.json == {"ok": True, "reference": str(row.id),
                                                             "status": "delivered"}


def test_delivered_by_reference_is_idempotent(client, people):
    row = sms(people)
    first = post(client, {"reference": str(row.id), "status": "delivered"})
    assert first.status_code == 200 and first.json["status"] == "delivered"
    delivered_at = reload(row).delivered_at
    assert delivered_at is not None and reload(row).status == "delivered"
    for _ in range(3):  # the gateway repeats until it gets a 2xx; nothing changes
        again = post(client, {"reference": row.id, "status": "DELIVRD"})
        assert again.status_code == 200 and again.json["status"] == "delivered"
    assert reload(row).delivered_at == delivered_at
    late = post(client, {"reference": str(row.id), "status": "failed", "error": "late noise"})
    assert late.status_code == 200 and reload(row).status == "delivered"  # delivered is final


def test_by_message_id_and_failed_after_sent(client, people):
    row = sms(people, provider_ref="gw-abc")
    response = post(client, {"message_id": "gw-abc", "status": "undeliverable", "error": "handset off for 48 h"})
    assert response.status_code == 200 and response.json == {"ok": True, "reference": str(row.id),
                                                             "status": "failed"}
    failed = reload(row)
    assert failed.failed_at and "handset off" in failed.last_error  # the desk's unreachable list shows it
    assert post(client, {"message_id": "gw-abc", "status": "failed"}).status_code == 200
    assert reload(row).failed_at == failed.failed_at
    # a later "delivered" is the handset's truth: it wins
    assert post(client, {"message_id": "gw-abc", "status": "delivered"}).json["status"] == "delivered"
    assert reload(row).failed_at is None and reload(row).delivered_at


def test_unknown_references_refused(client, people):
    sms(people)
    mail = sms(people, provider_ref="notification-9@diwan.example", channel="email")
    for body in ({"reference": "999999", "status": "delivered"}, {"message_id": "gw-nope", "status": "delivered"},
                 {"reference": str(mail.id), "status": "delivered"},  # an e-mail is not the SMS gateway's
                 {"message_id": "notification-9@diwan.example", "status": "delivered"}):
        response = post(client, body)
        assert response.status_code == 404 and response.json["ok"] is False
    assert reload(mail).status == "sent"


@pytest.mark.parametrize("body", [
    None, [], "delivered", {"status": "delivered"}, {"reference": "1"}, {"reference": "1", "status": "exploded"},
    {"reference": "abc", "status": "delivered"}, {"reference": True, "status": "delivered"},
    {"reference": {"id": 1}, "status": "delivered"}, {"reference": "1", "status": 5},
])
def test_bad_bodies(client, people, body):
    sms(people)
    response = post(client, body) if body is not None else client.post(
        URL, data=b"{not json", headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    assert response.status_code == 422 and response.json["ok"] is False and response.is_json


def test_intermediate_status_is_acknowledged_without_change(client, people):
    row = sms(people)
    response = post(client, {"reference": str(row.id), "status": "buffered"})
    assert response.status_code == 200 and response.json["status"] == "sent" and reload(row).delivered_at is None


def test_no_session_or_csrf_needed_and_get_not_allowed(client, people):
    row = sms(people)
    assert client.get(URL).status_code == 405
    assert post(client, {"reference": str(row.id), "status": "delivered"}).status_code == 200


def test_receipt_racing_ahead_of_our_own_record(people, app):
    """The gateway's callback can arrive before the worker has written "sent": the receipt wins, the worker's
    late acceptance changes nothing, and the row is not sent again."""
    row = sms(people, status="queued", provider_ref=None, next_attempt_at=utcnow() - timedelta(seconds=1))
    claimed = delivery._claim(utcnow(), 5)
    assert [r.id for r in claimed] == [row.id]
    assert delivery_reports.apply_report("gw-early", "delivered", reference=str(row.id))
    current = reload(row)
    assert current.status == "delivered" and current.provider_ref == "gw-early" and current.lease_until is None
    from intranet.notify.gateways import SendResult
    assert delivery._record(delivery.Outcome(claimed[0], SendResult.ok("gw-early", 200), utcnow(), 3),
                            utcnow()) == "sent"
    assert reload(row).status == "delivered"
    assert delivery._claim(utcnow() + timedelta(days=1), 5) == []
    assert delivery.release_expired_leases(utcnow() + timedelta(days=1)) == 0


def test_failed_receipt_only_after_acceptance(people):
    queued = sms(people, status="queued", provider_ref=None)
    assert delivery_reports.apply_report(None, "failed", reference=str(queued.id))  # known ...
    assert reload(queued).status == "queued"  # ... but not accepted yet: nothing to fail
    with pytest.raises(ValueError):
        delivery_reports.apply_report(None, "exploded", reference=str(queued.id))
    assert not delivery_reports.apply_report("gw-unknown", "delivered")
    assert not delivery_reports.apply_report(None, "delivered", reference="x1")
