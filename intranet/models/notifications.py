"""Notifications: a row per message (SMS or e-mail) to a citizen or a member of staff, written in the same
transaction as the event that causes it; jobs deliver it, and every attempt is recorded."""
import peewee as pw

from intranet.db import BaseModel
from intranet.models.people import Citizen, Staff, utcnow
from intranet.models.requests import HistoryEntry, Request

NOTIFICATION_STATUSES = ("queued", "sending", "sent", "delivered", "failed")
CHANNELS = ("sms", "email")
# what the citizen is told about, each with an SMS and an e-mail template in Arabic and English
CITIZEN_EVENTS = ("request_received", "moved_on", "returned", "rejected", "completed", "payout_sent",
                  "inquiry_answered", "interview_scheduled", "interview_reminder")
STAFF_EVENTS = ("clerk_digest", "department_digest", "daily_summary", "alert_statement", "execution_statement",
                "automation_ceiling")


class Notification(BaseModel):
    request = pw.ForeignKeyField(Request, null=True, backref="notifications", on_delete="CASCADE")
    history = pw.ForeignKeyField(HistoryEntry, null=True, backref="notifications", on_delete="CASCADE",
                                 index=False)  # the change it tells of, shown beside it on the timeline
    citizen = pw.ForeignKeyField(Citizen, null=True, backref="notifications", on_delete="CASCADE")
    staff = pw.ForeignKeyField(Staff, null=True, backref="notifications", on_delete="CASCADE")
    event = pw.CharField(max_length=40)
    channel = pw.CharField(max_length=10)  # sms, email
    language = pw.CharField(max_length=2)
    recipient = pw.CharField(max_length=200)
    subject = pw.CharField(max_length=300, default="")  # e-mail only
    body = pw.TextField()
    attachment = pw.CharField(max_length=300, default="")  # e-mail only: a file to attach (an archived report)
    # one message per event and recipient, whatever retries or double clicks happen
    dedupe_key = pw.CharField(max_length=200, unique=True)
    status = pw.CharField(max_length=12, default="queued")
    attempts = pw.IntegerField(default=0)
    next_attempt_at = pw.DateTimeField(default=utcnow)  # quiet hours and back-off move it on
    lease_until = pw.DateTimeField(null=True)  # a worker holds it while sending
    provider_ref = pw.CharField(max_length=100, null=True)  # the gateway's id, for delivery receipts
    last_error = pw.TextField(default="")
    created_at = pw.DateTimeField(default=utcnow)
    sent_at = pw.DateTimeField(null=True)
    delivered_at = pw.DateTimeField(null=True)
    failed_at = pw.DateTimeField(null=True)
    # a failed message puts the citizen on the desk's list to call; the call is recorded here
    resolved_at = pw.DateTimeField(null=True)
    resolved_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="RESTRICT", index=False)
    resolution_note = pw.TextField(default="")

    @property
    def is_failed(self) -> bool:
        """Given up on: the citizen is on the desk's list to call."""
        return self.status == "failed"

    @property
    def is_retrying(self) -> bool:
        """Still to be sent after one attempt or more went wrong (or was held)."""
        return self.status in ("queued", "sending") and self.attempts > 0

    @property
    def waits(self) -> bool:
        return self.status == "queued"

    class Meta:
        indexes = (
            (("status", "next_attempt_at"), False),
            (("history", "id"), False),
            (("provider_ref",), False),
            (("status", "failed_at"), False),
        )


class NotificationAttempt(BaseModel):
    notification = pw.ForeignKeyField(Notification, backref="attempt_rows", on_delete="CASCADE")
    started_at = pw.DateTimeField(default=utcnow)
    duration_ms = pw.IntegerField(default=0)
    outcome = pw.CharField(max_length=12)  # sent, retry, failed, deferred (quiet hours), interrupted
    status_code = pw.IntegerField(null=True)
    error = pw.TextField(default="")
    provider_ref = pw.CharField(max_length=100, null=True)

    class Meta:
        table_name = "notification_attempt"


class MessageTemplate(BaseModel):
    """An administrator's wording of one event's message for one channel and language (else the default)."""
    event = pw.CharField(max_length=40)
    channel = pw.CharField(max_length=10)
    language = pw.CharField(max_length=2)
    subject = pw.CharField(max_length=300, default="")
    body = pw.TextField()
    updated_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="RESTRICT", index=False)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "message_template"
        indexes = ((("event", "channel", "language"), True),)
