"""Delegations (issue 18): a member of staff (the grantor) lets another (the delegate) do one named thing of theirs
for a period: act on one stage of one request type ("stage"), decide payouts up to an amount ("payouts"), work one
department's queue ("queue"), or approve as the head while the head is away ("head"). Several to one and one to
several. A delegation applies from its first to its last day (the office's dates, `starts_on`..`ends_on`), while it
is not revoked and its grantor is still active; nothing marks it at its end: it is read at use time. Revoking keeps
the row (who, when, why): history rows written under it point at it (`history.delegation_id`, migration 0027)."""
import peewee as pw

from intranet.db import BaseModel
from intranet.models.people import Department, Staff, utcnow
from intranet.models.requests import RequestType, Stage

SCOPES = ("stage", "payouts", "queue", "head")
REASON_MAX_LENGTH = 1000


class Delegation(BaseModel):
    grantor = pw.ForeignKeyField(Staff, backref="delegations_given", on_delete="RESTRICT")
    delegate = pw.ForeignKeyField(Staff, backref="delegations_received", on_delete="RESTRICT")
    scope = pw.CharField(max_length=20)
    request_type = pw.ForeignKeyField(RequestType, null=True, on_delete="RESTRICT", index=False)  # "stage"
    stage = pw.ForeignKeyField(Stage, null=True, on_delete="RESTRICT", index=False)  # "stage"
    # "queue": the department whose queue; "stage": the stage's; "payouts": the grantor's (None: every department)
    department = pw.ForeignKeyField(Department, null=True, on_delete="RESTRICT", index=False)
    amount_limit = pw.DecimalField(max_digits=14, decimal_places=3, null=True)  # "payouts": up to and including
    starts_on = pw.DateField()
    ends_on = pw.DateField()
    reason = pw.TextField()
    created_by = pw.ForeignKeyField(Staff, on_delete="RESTRICT", index=False)
    created_at = pw.DateTimeField(default=utcnow)
    revoked_at = pw.DateTimeField(null=True)
    revoked_by = pw.ForeignKeyField(Staff, null=True, on_delete="RESTRICT", index=False)
    revoke_reason = pw.TextField(default="")

    class Meta:
        table_name = "delegation"

    # --- what one delegation covers (no query: the caller read the row) ---------------------------------------

    def covers_request(self, req) -> bool:
        """The request's current stage is within the scope: that stage; that department's queue (stages that
        require no role); or a stage that requires the head."""
        if self.scope == "stage":
            return self.stage_id == req.stage_id
        if self.scope == "queue":
            return self.department_id == req.department_id and req.stage.role is None
        return self.scope == "head" and req.stage.role == "head"

    def covers_department(self, department_id) -> bool:
        """The department's queue (its list, take-next) is within the scope."""
        return self.scope == "queue" and self.department_id == department_id

    def covers_payout(self, payout) -> bool:
        """Deciding the payout is within the scope: its amount up to the limit, in the delegation's department."""
        return (self.scope == "payouts" and self.amount_limit is not None and payout.amount <= self.amount_limit
                and (self.department_id is None or self.department_id == payout.department_id))

    def applies_on(self, day) -> bool:
        return self.revoked_at is None and self.starts_on <= day <= self.ends_on

    # --- queries --------------------------------------------------------------------------------------------------

    @classmethod
    def live(cls, day):
        """Not revoked and within its period on `day` (the office's date), as a condition."""
        return cls.revoked_at.is_null() & (cls.starts_on <= day) & (cls.ends_on >= day)

    @classmethod
    def active_for(cls, staff_id, day) -> list:
        """The delegations `staff_id` acts under on `day`, whose grantor is still active, with their grantor, stage
        and department (one indexed query on the delegate)."""
        grantor = Staff.alias()
        return list(cls.select(cls, grantor, Stage, Department)
                    .join_from(cls, grantor, on=(cls.grantor == grantor.id))
                    .join_from(cls, Stage, pw.JOIN.LEFT_OUTER)
                    .join_from(cls, Department, pw.JOIN.LEFT_OUTER)
                    .where((cls.delegate == staff_id) & cls.live(day) & (grantor.active == True))  # noqa: E712
                    .order_by(cls.id))
