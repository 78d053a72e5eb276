"""Automatic renewals (issue 17): a periodic benefit per citizen and renewable request type (the type's
`renewal_months`), made when a request of that type is completed, with the date its next renewal falls due; and one
Renewal row per benefit and period, written with the renewal request in the transaction that claims the period (the
unique (benefit, period) key: a period is renewed once, whatever runs twice)."""
import peewee as pw

from intranet.db import BaseModel
from intranet.models.people import Citizen, utcnow
from intranet.models.requests import Request, RequestType


class Benefit(BaseModel):
    """A citizen's periodic benefit: renewed by the scheduled job when `next_due` comes within 30 days (overdue
    first); `period` counts the renewals made (the claim is a conditional update on it)."""
    citizen = pw.ForeignKeyField(Citizen, backref="+", on_delete="RESTRICT", index=False)  # the unique pair leads
    request_type = pw.ForeignKeyField(RequestType, backref="+", on_delete="RESTRICT")
    every_months = pw.IntegerField()
    next_due = pw.DateField()
    period = pw.IntegerField(default=0)
    amount = pw.DecimalField(max_digits=14, decimal_places=3, null=True)  # each renewal's amount (a money type)
    subject = pw.CharField(max_length=300, default="")
    origin = pw.ForeignKeyField(Request, backref="+", on_delete="RESTRICT")  # the completed request it came from
    active = pw.BooleanField(default=True)
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "benefit"
        indexes = ((("citizen", "request_type"), True), (("next_due", "id"), False))  # the job's keyset order


class Renewal(BaseModel):
    """One period of a benefit renewed: the request made for it."""
    benefit = pw.ForeignKeyField(Benefit, backref="renewals", on_delete="CASCADE", index=False)
    period = pw.IntegerField()
    due_on = pw.DateField()
    request = pw.ForeignKeyField(Request, unique=True, backref="+", on_delete="CASCADE")
    created_at = pw.DateTimeField(default=utcnow, index=True)

    class Meta:
        table_name = "renewal"
        indexes = ((("benefit", "period"), True),)
