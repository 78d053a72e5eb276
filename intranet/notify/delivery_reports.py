"""Delivery reports (DLR): what the SMS gateway later says became of a message (delivered to the handset, or not).
Applied idempotently by intranet.notify.delivery_report_views (the gateway's callback)."""
from intranet.db import transaction
from intranet.models.notifications import Notification
from intranet.models.people import utcnow

N = Notification

REPORT_DELIVERED = {"delivered", "delivrd", "success", "delivered_to_handset"}
REPORT_FAILED = {"failed", "undelivered", "undeliverable", "undeliv", "expired", "rejected", "rejectd"}
REPORT_PENDING = {"accepted", "queued", "sent", "buffered", "enroute", "pending"}  # nothing to change


def report_status(value) -> str | None:
    """A gateway's status word -> 'delivered', 'failed', 'pending' or None (not understood)."""
    word = str(value or "").strip().lower()
    if word in REPORT_DELIVERED:
        return "delivered"
    if word in REPORT_FAILED:
        return "failed"
    if word in REPORT_PENDING:
        return "pending"
    return None


def find_for_report(provider_ref=None, reference=None) -> Notification | None:
    """The SMS a receipt is about: by our reference (the notification id we sent) or the gateway's message id."""
    query = N.select(N.id, N.status, N.provider_ref).where(N.channel == "sms")
    if reference not in (None, ""):
        try:
            number = int(str(reference))
        except ValueError:
            return None
        return query.where(N.id == number).first()
    if provider_ref:
        return query.where(N.provider_ref == str(provider_ref)[:100]).order_by(N.id).first()
    return None


def apply_report(provider_ref=None, status="delivered", *, reference=None, at=None, error="") -> bool:
    """Record a delivery receipt; False if no SMS has this reference or message id. Idempotent: a repeated or
    late receipt changes nothing (delivered stays delivered; failed only follows an accepted message)."""
    row = find_for_report(provider_ref, reference)
    if row is None:
        return False
    word = report_status(status)
    if word is None:
        raise ValueError(f"unknown receipt status {status!r}")
    if word == "pending":
        return True
    at = at or utcnow()
    ref = {"provider_ref": str(provider_ref)[:100]} if provider_ref and not row.provider_ref else {}
    with transaction():
        if word == "delivered":
            # the handset has it: the truth, even if we had given up on it (a lost acceptance)
            N.update(status="delivered", delivered_at=at, lease_until=None, failed_at=None, last_error="",
                     **ref).where((N.id == row.id) & (N.status != "delivered")).execute()
        else:
            N.update(status="failed", failed_at=at, lease_until=None,
                     last_error=("delivery receipt: " + (error or str(status)))[:2000], **ref).where(
                (N.id == row.id) & N.status.in_(("sending", "sent"))).execute()
    return True

