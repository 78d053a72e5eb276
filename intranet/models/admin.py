"""The administration record (issue 20): every change an administrator makes to request types, the calendar and
the reference data, one row each: who, when, what (a subject such as "request_type", "holiday", "department" and
the key of the thing within it) and the thing as it was before and after (JSON; None where it did not exist)."""
import json

import peewee as pw

from intranet.db import BaseModel
from intranet.models.people import Staff, utcnow


class AdminChange(BaseModel):
    actor = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="RESTRICT")  # None: a command (CLI import)
    created_at = pw.DateTimeField(default=utcnow)
    subject = pw.CharField(max_length=40)
    key = pw.CharField(max_length=200)
    before = pw.TextField(null=True)  # JSON of the thing before the change; null when it was created
    after = pw.TextField(null=True)  # JSON after the change; null when it was removed

    class Meta:
        table_name = "admin_change"
        indexes = ((("subject", "id"), False),)  # the history page filtered by subject, newest first

    @property
    def before_value(self):
        return None if self.before is None else json.loads(self.before)

    @property
    def after_value(self):
        return None if self.after is None else json.loads(self.after)
