"""The staff lifecycle (issue 18): each run of the directory sync with what it found, and staff absences.

A sync run is a row written before the directory is read and completed after: when it ran, who asked for it (None:
the schedule), how many people it checked, the changes it applied (JSON, one entry per person) or the error that
kept it from changing anything (an unreachable directory). An absence is a period of local days, both ends
included, during which take-next and assignment skip the person; a cancelled absence keeps its row.
"""
import json

import peewee as pw

from intranet.db import BaseModel
from intranet.models.people import Staff, utcnow

SYNC_TRIGGERS = ("schedule", "admin")
# what the sync found about a person who had signed in: left the directory, lost every intranet role (or, a clerk,
# their department), another role, another department
CHANGE_KINDS = ("removed", "disabled", "role", "department")


class DirectorySync(BaseModel):
    started_at = pw.DateTimeField(default=utcnow)
    finished_at = pw.DateTimeField(null=True)
    trigger = pw.CharField(max_length=10, default="schedule")
    requested_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL", index=False)
    checked = pw.IntegerField(default=0)  # people of the intranet compared with the directory
    changes = pw.IntegerField(default=0)
    details = pw.TextField(default="[]")  # JSON [{"staff", "username", "kind", "before", "after", "released"}]
    error = pw.TextField(default="")  # why nothing changed (the directory did not answer)

    class Meta:
        table_name = "directory_sync"

    @property
    def changed(self) -> list[dict]:
        return json.loads(self.details or "[]")

    @property
    def failed(self) -> bool:
        return bool(self.error)


class Absence(BaseModel):
    staff = pw.ForeignKeyField(Staff, backref="absences", on_delete="CASCADE", index=False)
    starts_on = pw.DateField()
    ends_on = pw.DateField()
    reason = pw.CharField(max_length=300, default="")
    recorded_by = pw.ForeignKeyField(Staff, backref="+", on_delete="RESTRICT", index=False)
    created_at = pw.DateTimeField(default=utcnow)
    cancelled_at = pw.DateTimeField(null=True)
    cancelled_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="RESTRICT", index=False)

    class Meta:
        table_name = "absence"
        # a person's absences by their end (is the person away today, their page); everyone away today
        indexes = ((("staff", "ends_on"), False), (("ends_on", "starts_on"), False))
