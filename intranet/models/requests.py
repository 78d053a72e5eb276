"""Requests and their workflow definition: request types, stages, requests, history, attachments."""
import json

import peewee as pw

from intranet.db import BaseModel
from intranet.models.people import Citizen, Department, Governorate, Named, Staff, utcnow
from intranet.models.tickets import VisitorTicket

CHANNELS = ("walk_in", "electronic")
# open: with the current stage; returned: sent back to an earlier stage for correction;
# awaiting_citizen: the first stage sent it back to the reception desk / the citizen
OPEN_STATUSES = ("open", "returned", "awaiting_citizen")
CLOSED_STATUSES = ("completed", "rejected")
STATUSES = OPEN_STATUSES + CLOSED_STATUSES


class RequestType(Named):
    sla_days = pw.IntegerField(default=45)
    is_money = pw.BooleanField(default=False)
    active = pw.BooleanField(default=True)
    fields = pw.TextField(default="[]")  # JSON list of the type's own fields (issue: intake forms)
    documents = pw.TextField(default="[]")  # JSON list of required documents

    def ordered_stages(self):
        return self.stages.order_by(Stage.position)

    def field_list(self) -> list[dict]:
        """The type's own intake fields: [{"name", "kind", "required", "label_ar", "label_en"}]."""
        return json.loads(self.fields or "[]")

    def document_list(self) -> list[dict]:
        """The documents this type needs: [{"code", "name_ar", "name_en"}], the return checklist."""
        return json.loads(self.documents or "[]")


class Stage(BaseModel):
    request_type = pw.ForeignKeyField(RequestType, backref="stages", on_delete="CASCADE")
    position = pw.IntegerField()
    code = pw.CharField(max_length=40)
    name_ar = pw.CharField(max_length=200)
    name_en = pw.CharField(max_length=200)
    department = pw.ForeignKeyField(Department, backref="stages", on_delete="RESTRICT")
    role = pw.CharField(max_length=20, null=True)  # None: any clerk of the department
    budget_days = pw.IntegerField()

    class Meta:
        indexes = ((("request_type", "position"), True),)

    def name(self, locale: str) -> str:
        return self.name_ar if locale == "ar" else self.name_en


class TrackingSequence(BaseModel):
    year = pw.IntegerField(primary_key=True)
    last_value = pw.IntegerField(default=0)


class Request(BaseModel):
    tracking_number = pw.CharField(max_length=20, unique=True)
    citizen = pw.ForeignKeyField(Citizen, backref="requests", on_delete="RESTRICT", index=False)
    request_type = pw.ForeignKeyField(RequestType, backref="requests", on_delete="RESTRICT")
    channel = pw.CharField(max_length=12)
    governorate = pw.ForeignKeyField(Governorate, null=True, on_delete="RESTRICT", index=False)
    stage = pw.ForeignKeyField(Stage, backref="requests", on_delete="RESTRICT")
    department = pw.ForeignKeyField(Department, backref="requests", on_delete="RESTRICT", index=False)
    status = pw.CharField(max_length=20)
    assignee = pw.ForeignKeyField(Staff, null=True, backref="assigned", on_delete="SET NULL")
    returned_from = pw.ForeignKeyField(Stage, null=True, on_delete="RESTRICT")
    subject = pw.CharField(max_length=300)
    details = pw.TextField(default="")
    data = pw.TextField(default="{}")  # JSON of the type's own fields
    amount = pw.DecimalField(max_digits=14, decimal_places=3, null=True)
    received_at = pw.DateTimeField(default=utcnow)
    due_at = pw.DateTimeField()  # the one 45-day clock shared by all stages; moved on by pauses
    stage_due_at = pw.DateTimeField(null=True)  # the current stage's budget
    paused_at = pw.DateTimeField(null=True)  # the clock stops while the request waits for the citizen
    closed_at = pw.DateTimeField(null=True)
    updated_at = pw.DateTimeField(default=utcnow)
    version = pw.IntegerField(default=1)
    entered_by = pw.ForeignKeyField(Staff, null=True, backref="entered", on_delete="RESTRICT")
    submission_token = pw.CharField(max_length=64, null=True, unique=True)  # idempotent intake
    # the visitor ticket being served when the desk entered it (walk-in intake)
    visitor_ticket = pw.ForeignKeyField(VisitorTicket, null=True, backref="requests", on_delete="SET NULL")

    class Meta:
        table_name = "request"
        # plus the partial indexes over open work (closed_at IS NULL) of migration 0002
        indexes = (
            (("citizen", "received_at"), False),
            (("status", "due_at"), False),
        )

    @classmethod
    def open_work(cls):
        """Requests not yet closed; the condition the partial indexes of migration 0002 are built on."""
        return cls.closed_at.is_null()

    @classmethod
    def in_queue(cls, department):
        """Open work of a department, most urgent first (unexecuted, for views to narrow and page)."""
        return cls.select().where((cls.department == department) & cls.open_work()).order_by(cls.due_at, cls.id)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def days_left(self) -> int:
        """Whole days until the answer is due (negative once overdue), counted from now."""
        return (self.due_at - utcnow()).days


# what was closed after a moment (with what is still open: what was open then), for the end-of-day statistics;
# partial, so that the queries over open work (closed_at IS NULL) keep their own indexes
Request.add_index(Request.index(Request.closed_at, name="request_closed_since", where=Request.closed_at.is_null(False)))


class HistoryEntry(BaseModel):
    """One thing that happened to a request: who, when, what, why."""

    request = pw.ForeignKeyField(Request, backref="history", on_delete="CASCADE", index=False)
    actor = pw.ForeignKeyField(Staff, null=True, backref="actions", on_delete="RESTRICT")
    action = pw.CharField(max_length=20)
    from_stage = pw.ForeignKeyField(Stage, null=True, on_delete="RESTRICT")
    to_stage = pw.ForeignKeyField(Stage, null=True, on_delete="RESTRICT")
    from_status = pw.CharField(max_length=20, null=True)
    to_status = pw.CharField(max_length=20, null=True)
    comment = pw.TextField(default="")
    details = pw.TextField(default="{}")  # JSON: e.g. the checklist of what is missing, on a return
    created_at = pw.DateTimeField(default=utcnow)

    @property
    def info(self) -> dict:
        return json.loads(self.details or "{}")

    class Meta:
        table_name = "history"
        indexes = ((("request", "id"), False), (("created_at",), False))  # a day's history, for the statistics


class Attachment(BaseModel):
    request = pw.ForeignKeyField(Request, backref="attachments", on_delete="CASCADE")
    history = pw.ForeignKeyField(HistoryEntry, null=True, backref="attachments", on_delete="CASCADE")
    uploaded_by = pw.ForeignKeyField(Staff, null=True, on_delete="RESTRICT")
    original_name = pw.CharField(max_length=255)
    stored_name = pw.CharField(max_length=80, unique=True)
    content_type = pw.CharField(max_length=100)
    size = pw.IntegerField()
    sha256 = pw.CharField(max_length=64)
    created_at = pw.DateTimeField(default=utcnow)
