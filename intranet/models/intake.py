"""Electronic intake: portal clients, the inbox of raw submissions, webhook deliveries, file imports."""
import json

import peewee as pw

from intranet.db import BaseModel
from intranet.models.people import Staff, utcnow
from intranet.models.requests import HistoryEntry, Request

SCOPES = ("requests:write", "requests:read", "bookings:write")
INBOX_STATUSES = ("received", "accepted", "replayed", "rejected", "duplicate", "limited")
DELIVERY_STATUSES = ("pending", "sending", "delivered", "failed")
IMPORT_STATUSES = ("previewed", "queued", "running", "done", "failed")


class ApiClient(BaseModel):
    """A system allowed to call the API (the national portal); its token is kept only as a SHA-256 hash."""

    name = pw.CharField(max_length=200)
    token_hash = pw.CharField(max_length=64, unique=True)
    token_hint = pw.CharField(max_length=16)  # the token's first characters, to recognise it in a list
    scopes = pw.CharField(max_length=200, default="requests:write requests:read")
    signing_secret = pw.CharField(max_length=100, null=True)  # set: request bodies must carry an HMAC signature
    webhook_url = pw.CharField(max_length=500, null=True)
    webhook_secret = pw.CharField(max_length=100, null=True)
    rate_per_minute = pw.IntegerField(default=600)
    created_by = pw.ForeignKeyField(Staff, null=True, on_delete="RESTRICT", backref="api_clients")
    created_at = pw.DateTimeField(default=utcnow)
    revoked_at = pw.DateTimeField(null=True)
    revoked_by = pw.ForeignKeyField(Staff, null=True, on_delete="RESTRICT", backref="+")
    last_used_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "api_client"

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class InboxEntry(BaseModel):
    """One submission exactly as it arrived (bytes), written before anything else, with its outcome."""

    client = pw.ForeignKeyField(ApiClient, null=True, on_delete="RESTRICT", backref="inbox", index=False)
    source = pw.CharField(max_length=10, default="api")  # api, import
    received_at = pw.DateTimeField(default=utcnow)
    idempotency_key = pw.CharField(max_length=200, null=True)  # the Idempotency-Key header as sent
    portal_reference = pw.CharField(max_length=100, null=True)
    content_type = pw.CharField(max_length=200, default="")
    payload = pw.BlobField()
    status = pw.CharField(max_length=12, default="received")
    errors = pw.TextField(default="[]")  # JSON [{"field", "message"}] of a rejected payload
    response_status = pw.IntegerField(null=True)
    request = pw.ForeignKeyField(Request, null=True, on_delete="SET NULL", backref="inbox_entries")

    class Meta:
        table_name = "inbox"
        indexes = (
            (("client", "idempotency_key"), False),
            (("client", "id"), False),  # a client's submissions, newest first (the admin's page)
            (("status", "received_at"), False),
        )

    @property
    def error_list(self) -> list[dict]:
        return json.loads(self.errors or "[]")


class WebhookDelivery(BaseModel):
    """A status change to push to the client that submitted the request; written with the change itself."""

    client = pw.ForeignKeyField(ApiClient, on_delete="RESTRICT", backref="deliveries", index=False)
    request = pw.ForeignKeyField(Request, on_delete="CASCADE", backref="webhook_deliveries", index=False)
    history = pw.ForeignKeyField(HistoryEntry, null=True, on_delete="CASCADE", backref="+", index=False)
    event = pw.CharField(max_length=40)
    payload = pw.TextField()  # the JSON body, fixed when the change happened
    status = pw.CharField(max_length=12, default="pending")
    attempts = pw.IntegerField(default=0)
    next_attempt_at = pw.DateTimeField(default=utcnow)
    lease_until = pw.DateTimeField(null=True)  # a worker holds it while sending
    last_error = pw.TextField(default="")
    created_at = pw.DateTimeField(default=utcnow)
    delivered_at = pw.DateTimeField(null=True)

    @property
    def is_failed(self) -> bool:
        """Given up on after the last attempt: an administrator may send it again."""
        return self.status == "failed"

    class Meta:
        table_name = "webhook_delivery"
        indexes = (
            (("client", "history"), True),  # one delivery per change and client, whatever happens
            (("request", "id"), False),
            (("client", "id"), False),
            (("status", "next_attempt_at"), False),
        )


class WebhookAttempt(BaseModel):
    delivery = pw.ForeignKeyField(WebhookDelivery, on_delete="CASCADE", backref="attempt_rows")
    started_at = pw.DateTimeField(default=utcnow)
    duration_ms = pw.IntegerField(default=0)
    status_code = pw.IntegerField(null=True)
    error = pw.TextField(default="")

    class Meta:
        table_name = "webhook_attempt"


class ImportBatch(BaseModel):
    """A CSV or XLSX file of electronic requests uploaded by staff: kept whole, previewed, then imported."""

    uploaded_by = pw.ForeignKeyField(Staff, on_delete="RESTRICT", backref="imports")
    filename = pw.CharField(max_length=255)
    sha256 = pw.CharField(max_length=64, index=True)
    size = pw.IntegerField()
    content = pw.BlobField()
    status = pw.CharField(max_length=12, default="previewed")
    total_rows = pw.IntegerField(default=0)
    valid_rows = pw.IntegerField(default=0)
    processed = pw.IntegerField(default=0)
    imported = pw.IntegerField(default=0)
    existing = pw.IntegerField(default=0)  # rows whose request was already there (a file imported again)
    failed = pw.IntegerField(default=0)
    report = pw.TextField(default="[]")  # JSON [{"row", "field", "message"}]
    created_at = pw.DateTimeField(default=utcnow)
    started_at = pw.DateTimeField(null=True)
    finished_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "import_batch"

    @property
    def report_list(self) -> list[dict]:
        return json.loads(self.report or "[]")
