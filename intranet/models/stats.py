"""Statistics kept for the supervisor's dashboard and the printed summaries: what happened on each local day,
counted from history once the day is over (the same figures however often it is counted again), and the open
items' time left at the end of each day."""
import peewee as pw

from intranet.db import BaseModel
from intranet.models.people import Department, Governorate, utcnow
from intranet.models.requests import RequestType

# what a history entry counts as: submit -> received; accept -> accepted (on to the next stage) or completed
# (the last stage); return, reject, resubmit
EVENTS = ("received", "accepted", "completed", "returned", "rejected", "resubmitted")


class DailyCount(BaseModel):
    day = pw.DateField()  # the office's local date
    department = pw.ForeignKeyField(Department, on_delete="RESTRICT", backref="+", index=False)
    request_type = pw.ForeignKeyField(RequestType, on_delete="RESTRICT", backref="+", index=False)
    channel = pw.CharField(max_length=12)
    governorate = pw.ForeignKeyField(Governorate, null=True, on_delete="RESTRICT", backref="+", index=False)
    event = pw.CharField(max_length=12)
    count = pw.IntegerField()

    class Meta:
        table_name = "daily_count"
        indexes = ((("day", "department"), False),)


class OpenSnapshot(BaseModel):
    """The open items at the end of a day, per department, type and clerk: how many, how many at risk and
    overdue (for the SLA chart over time and the printed summary of that day)."""
    day = pw.DateField()
    department = pw.ForeignKeyField(Department, on_delete="RESTRICT", backref="+", index=False)
    request_type = pw.ForeignKeyField(RequestType, on_delete="RESTRICT", backref="+", index=False)
    state = pw.CharField(max_length=10)
    count = pw.IntegerField()

    class Meta:
        table_name = "open_snapshot"
        indexes = ((("day", "department"), False),)


class CountedDay(BaseModel):
    """A day whose counts and snapshot are written (the job counts each day once it is over, and today up to its
    last full hour); `answers`: its answer counts too (days counted before migration 0014 have only their events,
    until the job adds them)."""
    day = pw.DateField(unique=True)
    counted_at = pw.DateTimeField(default=utcnow)
    answers = pw.BooleanField(default=False)
    # null: the whole day is counted; a time (naive UTC): today counted up to it (the hourly job's last full hour),
    # the rest of the day counted live by whoever reads it (0033)
    counted_to = pw.DateTimeField(null=True)

    class Meta:
        table_name = "counted_day"


class AnswerCount(BaseModel):
    """The requests answered (completed or rejected) on a local day, per department and type, by the clock days they
    took and whether that was within the target (`Request.answered_in_time`): the percentiles of any range are
    summed from these few rows instead of reading every answered request again."""
    day = pw.DateField()
    department = pw.ForeignKeyField(Department, on_delete="RESTRICT", backref="+", index=False)
    request_type = pw.ForeignKeyField(RequestType, on_delete="RESTRICT", backref="+", index=False)
    days = pw.IntegerField()
    in_time = pw.BooleanField()
    count = pw.IntegerField()

    class Meta:
        table_name = "answer_count"
        indexes = ((("day", "department"), False),)


class OpenWork(BaseModel):
    """The open requests counted as they change (issue 21: the dashboard at ten million requests): how many are
    open per department, type, stage, holder (0: nobody), local due day, local day received and whether the clock is
    paused, kept by `stats.open_work.moved` in the transaction of each workflow step that changes one of them, and
    recounted from the requests by `open_work.recount` (after a bulk load, `diwan stats recount-open-work`). Plain ids,
    no foreign keys: the hot path takes no lock on the rows they would name. Rows at 0 stay until the next recount
    or the hourly job's tidying."""
    department = pw.IntegerField(column_name="department_id")
    request_type = pw.IntegerField(column_name="request_type_id")
    stage = pw.IntegerField(column_name="stage_id")
    assignee = pw.IntegerField(column_name="assignee_id")  # 0: unassigned (a unique key treats NULLs as distinct)
    due_day = pw.DateField()
    received_day = pw.DateField()
    paused = pw.BooleanField()
    count = pw.IntegerField()

    class Meta:
        table_name = "open_work"


OpenWork.add_index(OpenWork.index(OpenWork.department, OpenWork.request_type, OpenWork.stage, OpenWork.assignee,
                                  OpenWork.due_day, OpenWork.received_day, OpenWork.paused, unique=True,
                                  name="open_work_key"))





# the printed documents (issue 8): the evening's daily summary and the twice-monthly statements, archived
REPORT_KINDS = ("daily_summary", "alert_statement", "execution_statement")


class ReportFile(BaseModel):
    """An archived PDF: which document, for which day, in which language; produced again for the same day it
    replaces the file (the same figures: they come from history)."""
    kind = pw.CharField(max_length=20)
    day = pw.DateField()
    language = pw.CharField(max_length=5, default="ar")
    path = pw.CharField(max_length=300)  # within REPORT_ARCHIVE_DIR
    sha256 = pw.CharField(max_length=64)
    size = pw.IntegerField()
    pages = pw.IntegerField(default=0)
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "report_file"
        indexes = ((("kind", "day", "language"), True),)


class ReportRequest(BaseModel):
    """A document asked for from the archive page, written before its job is started: the job claims it (a run at a
    time, `attempts` at most three) and marks it produced; the minute's sweeper starts again one whose job was
    lost or whose run died (intranet/reports/archive.py)."""
    kind = pw.CharField(max_length=20)
    day = pw.DateField()
    language = pw.CharField(max_length=5)
    created_at = pw.DateTimeField(default=utcnow)
    started_at = pw.DateTimeField(null=True)  # the running attempt's start (its claim)
    attempts = pw.IntegerField(default=0)
    produced_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "report_request"
        indexes = ((("produced_at",), False),)
