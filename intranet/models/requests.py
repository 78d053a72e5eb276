"""Requests and their workflow definition: request types, stages, requests, history, attachments.

The time rule of a request (its SLA state) lives here, once, for Python and for SQL: `sla_at` says where one
request stands at a moment, and `Request.sla_case` / `Request.sla_where` / `Request.answered_in_time` are the same
rule as peewee expressions, built from the same constants. Every screen and document asks these.
"""
import datetime as dt
import json
from typing import NamedTuple

import peewee as pw

from intranet.db import BaseModel, is_sqlite
from intranet.models.people import Citizen, Department, Governorate, Named, Staff, utcnow
from intranet.models.inquiries import InquirySubject
from intranet.models.tickets import VisitorTicket

CHANNELS = ("walk_in", "electronic")
# open: with the current stage; returned: sent back to an earlier stage for correction;
# awaiting_citizen: the first stage sent it back to the reception desk / the citizen
OPEN_STATUSES = ("open", "returned", "awaiting_citizen")
CLOSED_STATUSES = ("completed", "rejected")
# interview requests (issue 16): the stage at which the clerk sets the interview's date and place, and its length
INTERVIEW_STAGE = "interview"
INTERVIEW_PLACE_MAX_LENGTH = 200
STATUSES = OPEN_STATUSES + CLOSED_STATUSES

# --- the one time rule (issue 13) ---------------------------------------------------------------------------
AT_RISK_DAYS = 7  # seven days or fewer left is "at risk"; also the "will breach this week" window
AT_RISK = dt.timedelta(days=AT_RISK_DAYS)
# where an open request stands: its answer is not due within AT_RISK_DAYS, due within them, past due, or its clock
# is stopped because the citizen holds it (paused: never at risk nor overdue while it waits)
OPEN_SLA_STATES = ("on_track", "at_risk", "overdue", "paused")
# where a closed request stands: answered by its due date (moved on by the pauses) or after it
CLOSED_SLA_STATES = ("in_time", "late")
SLA_STATES = OPEN_SLA_STATES + CLOSED_SLA_STATES
_DAY = dt.timedelta(days=1)


def _days_past(delta: dt.timedelta) -> int:
    """Whole days past a due date, at least one: 2 hours late is 1 day late, 25 hours 1, 49 hours 2."""
    return max(1, delta // _DAY)


class Sla(NamedTuple):
    """Where a request stands: `state` (SLA_STATES) and `days`, never negative: the whole days left (on track, at
    risk), the whole days (at least one) since it fell due (overdue) or it was past due when answered (late); 0
    otherwise. A tuple: a kept queue row's key holds it (hashed and compared in C, not by a dataclass's methods)."""
    state: str
    days: int = 0

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_SLA_STATES


def clock_stopped_at(paused_at, closed_at):
    """When a closed request's clock stopped: when it was answered, or when it went to the citizen if it was closed
    while waiting for them (the clock did not run after that)."""
    return paused_at if paused_at is not None and paused_at <= closed_at else closed_at


def sla_at(due_at: dt.datetime, paused_at, closed_at, moment: dt.datetime) -> Sla:
    """THE rule, in Python, for one request at `moment` (naive UTC); `Request.sla_case` is the same in SQL.

    Closed by then: in time if its clock stopped by the due date, else late. Open: paused
    while the citizen holds it (paused by then); otherwise overdue once the due date has passed, at risk when it is
    AT_RISK_DAYS away or fewer, on track before that."""
    if closed_at is not None and closed_at <= moment:
        stopped = clock_stopped_at(paused_at, closed_at)
        return Sla("in_time") if stopped <= due_at else Sla("late", _days_past(stopped - due_at))
    if paused_at is not None and paused_at <= moment:
        return Sla("paused")
    if due_at < moment:
        return Sla("overdue", _days_past(moment - due_at))
    return Sla("at_risk" if due_at <= moment + AT_RISK else "on_track", (due_at - moment) // _DAY)


class RequestType(Named):
    sla_days = pw.IntegerField(default=45)
    is_money = pw.BooleanField(default=False)
    active = pw.BooleanField(default=True)
    fields = pw.TextField(default="[]")  # JSON list of the type's own fields (issue: intake forms)
    documents = pw.TextField(default="[]")  # JSON list of required documents
    renewal_months = pw.IntegerField(null=True)  # a periodic benefit renewed every so many months (issue 17)
    # issue 20: the target and the stage budgets count working days (weekends and public holidays skipped,
    # intranet/calendar.py) instead of calendar days
    working_days = pw.BooleanField(default=False)
    # issue 20: the current version (what new requests get; each request keeps the one it started with, its
    # `type_version`), the department that owns the type, the currency of its amounts (None: the institution's)
    version = pw.IntegerField(default=1)
    department = pw.ForeignKeyField(Department, null=True, backref="+", on_delete="RESTRICT", index=False)
    currency = pw.CharField(max_length=3, null=True)

    def as_of(self, number: int) -> "RequestType":
        """The type as it was at version `number` (its fields, documents, target and its counting of days), an unsaved
        copy; itself when `number` is the current version or no row of that version was kept."""
        if number == self.version:
            return self
        kept = RequestTypeVersion.get_or_none((RequestTypeVersion.request_type == self.id)
                                              & (RequestTypeVersion.number == number))
        if kept is None:
            return self
        spec = kept.spec
        copy = RequestType(**{**self.__data__, "version": number})
        copy.fields = json.dumps(spec.get("fields", []), ensure_ascii=False)
        copy.documents = json.dumps(spec.get("documents", []), ensure_ascii=False)
        copy.sla_days = spec.get("sla_days", self.sla_days)
        copy.working_days = bool(spec.get("working_days", False))  # kept before the calendar: calendar days
        return copy

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
    # the type's versions this stage belongs to (issue 20): from `first_version` to `last_version`, None while it is
    # in the current version; a stage changed or dropped is closed, never deleted, so the requests at it and the
    # history that names it keep it, and work is never routed to it again
    first_version = pw.IntegerField(default=1)
    last_version = pw.IntegerField(null=True)

    class Meta:
        indexes = ((("request_type", "first_version"), False),)

    def name(self, locale: str) -> str:
        return self.name_ar if locale == "ar" else self.name_en

    @classmethod
    def in_version(cls, number: int):
        """The stages of the type's version `number` (with a condition on the type)."""
        return (cls.first_version <= number) & (cls.last_version.is_null() | (cls.last_version >= number))


# only the current stages are one per position; earlier versions' stay for their requests (migration 0030)
Stage.add_index(Stage.index(Stage.request_type, Stage.position, unique=True, name="stage_current_position",
                            where=Stage.last_version.is_null()))


class RequestTypeVersion(BaseModel):
    """A request type's definition as saved at one version (the file's form: names, fields, documents, stages by
    code), kept for the requests started under it and for the editor's list of versions."""
    request_type = pw.ForeignKeyField(RequestType, backref="versions", on_delete="CASCADE", index=False)
    number = pw.IntegerField()
    definition = pw.TextField()  # JSON
    created_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="RESTRICT")
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "request_type_version"
        indexes = ((("request_type", "number"), True),)

    @property
    def spec(self) -> dict:
        return json.loads(self.definition or "{}")


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
    # an inquiry's subject (models/inquiries.py), which chose its department; null for other requests (0020)
    inquiry_subject = pw.ForeignKeyField(InquirySubject, null=True, backref="requests", on_delete="RESTRICT",
                                         index=False)
    # an interview request's interview, set by the clerk (workflow.schedule_interview): its moment in UTC and its
    # place; null until set and for every other request (0021, with a partial index for the reminders)
    interview_at = pw.DateTimeField(null=True)
    interview_place = pw.CharField(max_length=INTERVIEW_PLACE_MAX_LENGTH, null=True)
    # the version of its type the request started with (issue 20): its fields, documents and stages are that
    # version's until an administrator migrates it (workflow.migrate_version)
    type_version = pw.IntegerField(default=1)

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

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def definition(self) -> RequestType:
        """Its type as of the version it started with (fields, documents, target): what its pages and checks use."""
        return self.request_type.as_of(self.type_version)

    def sla(self, now: dt.datetime | None = None) -> Sla:
        """Where this request stands now (or at `now`): see `sla_at`."""
        return sla_at(self.due_at, self.paused_at, self.closed_at, now or utcnow())

    # --- the same rule in SQL (for requests open at `moment`: the caller says which are open) -----------------

    @classmethod
    def paused_by(cls, moment):
        return cls.paused_at.is_null(False) & (cls.paused_at <= moment)

    @classmethod
    def running_at(cls, moment):
        """The clock runs: not waiting for the citizen at `moment`."""
        return cls.paused_at.is_null() | (cls.paused_at > moment)

    @classmethod
    def sla_where(cls, state: str, moment):
        """The condition of one open state (OPEN_SLA_STATES) at `moment`, for requests open then."""
        running, soon = cls.running_at(moment), moment + AT_RISK
        return {
            "paused": cls.paused_by(moment),
            "overdue": running & (cls.due_at < moment),
            "at_risk": running & (cls.due_at >= moment) & (cls.due_at <= soon),
            "on_track": running & (cls.due_at > soon),
        }.get(state)

    @classmethod
    def needs_attention(cls, moment):
        """At risk or overdue at `moment` (for requests open then): the clock runs and the due date is at most
        AT_RISK_DAYS away, or past."""
        return cls.running_at(moment) & (cls.due_at <= moment + AT_RISK)

    @classmethod
    def sla_case(cls, moment):
        """The open state of each request open at `moment`, as a CASE (group by its position in the select list:
        PostgreSQL does not see two CASEs with parameters as one)."""
        return pw.Case(None, [(cls.paused_by(moment), "paused"), (cls.due_at < moment, "overdue"),
                              (cls.due_at <= moment + AT_RISK, "at_risk")], "on_track")

    @classmethod
    def clock_stopped(cls):
        """SQL of `clock_stopped_at`, for closed requests."""
        return pw.Case(None, [(cls.paused_at.is_null(False) & (cls.paused_at <= cls.closed_at), cls.paused_at)],
                       cls.closed_at)

    @classmethod
    def answered_in_time(cls):
        """For closed requests: answered by the due date (the `in_time` state of `sla_at`)."""
        return cls.clock_stopped() <= cls.due_at

    @classmethod
    def days_late(cls):
        """For closed requests: the whole days begun from the due date to when the clock stopped, an integer on
        SQLite and PostgreSQL: 0 or fewer is in time (`answered_in_time`), so a type's SLA days plus this is the
        days the clock ran, counted as a person counts "answered within 45 days" (44 days and 2 hours is 45)."""
        stopped = cls.clock_stopped()
        if is_sqlite():
            span = (pw.fn.julianday(stopped) - pw.fn.julianday(cls.due_at)) * 86400
        else:
            span = pw.fn.date_part("epoch", stopped - cls.due_at)
        seconds = pw.Cast(pw.fn.ROUND(span), "INTEGER")  # whole seconds: julianday's float error never adds a day
        # a ceiling in integers: both databases divide integers towards zero
        return pw.Case(None, [(seconds > 0, (seconds + 86399) / 86400)], seconds / 86400)


# what was closed after a moment (with what is still open: what was open then), for the end-of-day statistics;
# partial, so that the queries over open work (closed_at IS NULL) keep their own indexes
Request.add_index(Request.index(Request.closed_at, name="request_closed_since", where=Request.closed_at.is_null(False)))


class HistoryEntry(BaseModel):
    """One thing that happened to a request: who, when, what, why."""

    request = pw.ForeignKeyField(Request, backref="history", on_delete="RESTRICT", index=False)  # kept (0016)
    actor = pw.ForeignKeyField(Staff, null=True, backref="actions", on_delete="RESTRICT")
    action = pw.CharField(max_length=20)
    from_stage = pw.ForeignKeyField(Stage, null=True, on_delete="RESTRICT")
    to_stage = pw.ForeignKeyField(Stage, null=True, on_delete="RESTRICT")
    from_status = pw.CharField(max_length=20, null=True)
    to_status = pw.CharField(max_length=20, null=True)
    comment = pw.TextField(default="")
    details = pw.TextField(default="{}")  # JSON: e.g. the checklist of what is missing, on a return
    created_at = pw.DateTimeField(default=utcnow)
    # the row's keyed link in its request's chain (intranet/history_chain.py); "" on rows from before 0016
    hash = pw.CharField(max_length=32, default="")
    # the department holding the request when the step was taken (a submission: the one it was routed to); None on
    # rows from before 0024 (append-only: never filled in), counted under their stage's department (`counted_department`)
    department = pw.ForeignKeyField(Department, null=True, on_delete="RESTRICT", index=False)
    # the delegation the step was taken under (0027): the actor acted for its grantor; None: in their own right
    delegation = pw.DeferredForeignKey("Delegation", null=True, on_delete="RESTRICT", index=False)

    @property
    def info(self) -> dict:
        """`details` read, once for each value it takes (a request page reads each entry's a dozen times)."""
        details, held = self.details or "{}", self.__dict__.get("_info")
        if held is None or held[0] is not details:
            held = self.__dict__["_info"] = (details, json.loads(details))
        return held[1]

    # the steps that close a request as done: accepted at the last stage, or an inquiry answered
    COMPLETING_ACTIONS = ("accept", "answer")

    @classmethod
    def completed_it(cls):
        """The step completed its request (SQL): what the figures count as completed and the statements list as
        decided; one rule, so the two never disagree."""
        return cls.action.in_(cls.COMPLETING_ACTIONS) & (cls.to_status == "completed")

    @classmethod
    def counted_department(cls, stage_department):
        """The department a step counts under (SQL): the one its row recorded, else (a row from before 0024) the
        department of `stage_department`'s stage, joined by the caller."""
        return pw.fn.COALESCE(cls.department, stage_department)

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
    document = pw.CharField(max_length=40, null=True)  # the type's document code it satisfies (0019); None: other
