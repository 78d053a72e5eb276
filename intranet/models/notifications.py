"""Notifications: a row per message to a citizen, written with the event that causes it; jobs deliver it."""
import peewee as pw

from intranet.db import BaseModel
from intranet.models.people import Citizen, utcnow
from intranet.models.requests import Request

NOTIFICATION_STATUSES = ("queued", "sending", "sent", "delivered", "failed")


class Notification(BaseModel):
    request = pw.ForeignKeyField(Request, null=True, backref="notifications", on_delete="CASCADE")
    citizen = pw.ForeignKeyField(Citizen, backref="notifications", on_delete="CASCADE")
    event = pw.CharField(max_length=40)  # request_received, moved_on, returned, rejected, completed, payout_sent
    channel = pw.CharField(max_length=10)  # sms, email
    language = pw.CharField(max_length=2)
    recipient = pw.CharField(max_length=200)
    body = pw.TextField()
    # one message per event and recipient, whatever retries or double clicks happen
    dedupe_key = pw.CharField(max_length=200, unique=True)
    status = pw.CharField(max_length=12, default="queued")
    attempts = pw.IntegerField(default=0)
    last_error = pw.TextField(default="")
    created_at = pw.DateTimeField(default=utcnow)
    sent_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("status", "created_at"), False),)
