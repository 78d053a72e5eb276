"""Letters to ministries (issue 16): a ministry-letter request's outgoing letter, its register number, and the
ministry's replies. The letter's life (drafted, sent, replied) changes only through intranet/workflow.py."""
import peewee as pw

from intranet.db import BaseModel
from intranet.models.people import Staff, utcnow
from intranet.models.requests import Attachment, Request

LETTER_STATUSES = ("draft", "sent", "replied")


class LetterSequence(BaseModel):
    """The outgoing register's last number of each year. A row, not a PostgreSQL sequence: a register has no gaps,
    and a number taken by a transaction that rolls back is given again (letters are few; the row lock is short)."""
    year = pw.IntegerField(primary_key=True)
    last_value = pw.IntegerField(default=0)


class MinistryLetter(BaseModel):
    request = pw.ForeignKeyField(Request, backref="letters", unique=True, on_delete="RESTRICT")
    reference = pw.CharField(max_length=30, null=True, unique=True)  # OUT/2026/000123, given when it is sent
    ministry = pw.CharField(max_length=200)
    subject = pw.CharField(max_length=300)
    body = pw.TextField(default="")
    status = pw.CharField(max_length=10, default="draft")
    sent_on = pw.DateField(null=True)  # the office's day it left
    reply_due = pw.DateField(null=True)  # the reply is awaited by this day
    drafted_by = pw.ForeignKeyField(Staff, null=True, on_delete="RESTRICT")
    sent_by = pw.ForeignKeyField(Staff, null=True, on_delete="RESTRICT")
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)
    version = pw.IntegerField(default=1)

    class Meta:
        table_name = "ministry_letter"


# letters waiting for a reply, by the day it was due: the list of letters awaiting a reply reads only these
MinistryLetter.add_index(MinistryLetter.index(MinistryLetter.reply_due, MinistryLetter.id, name="letter_awaiting_reply",
                                              where=MinistryLetter.status == "sent"))


class LetterReply(BaseModel):
    letter = pw.ForeignKeyField(MinistryLetter, backref="replies", on_delete="RESTRICT")
    received_on = pw.DateField()
    reference = pw.CharField(max_length=100)  # the ministry's own number on its reply
    summary = pw.TextField()
    attachment = pw.ForeignKeyField(Attachment, null=True, on_delete="SET NULL")
    recorded_by = pw.ForeignKeyField(Staff, on_delete="RESTRICT")
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "letter_reply"
