"""Delegations (issue 18): a member of staff (the grantor) lets another (the delegate) do one named thing of theirs
for a period: act on one stage of one request type ("stage", in every version of the type that keeps it:
`stage_rows`), decide payouts up to an amount ("payouts"), work one department's queue ("queue"), or approve as
the head while the head is away ("head"). Several to one and one to several. A delegation applies from its first to
its last day (the office's dates, `starts_on`..`ends_on`), while it is not revoked and its grantor is still active;
nothing marks it at its end: it is read at use time. Revoking keeps the row (who, when, why): history rows written
under it point at it (`history.delegation_id`, migration 0027)."""
import peewee as pw

from intranet.db import BaseModel, select
from intranet.models.payouts import Payout
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

    # "stage": the stage rows the delegation covers, one per version of the type that has the stage as it was
    # delegated (`stage_rows`); set for every row `active_for` reads, asked of the database otherwise
    stage_ids = None

    def covers_request(self, req) -> bool:
        """The request's current stage is within the scope: that stage of that type, in whichever version the
        request is on (`stage_rows`); that department's queue (stages that require no role); or a stage that
        requires the head."""
        if self.scope == "stage":
            return req.stage_id in self.covered_stages()
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

    def payout_condition(self):
        """`covers_payout` as a condition on Payout (the payouts the delegate's lists show)."""
        if self.scope != "payouts" or self.amount_limit is None:
            return Payout.id.is_null()  # nothing: ids are never null
        within = Payout.amount <= self.amount_limit
        return within if self.department_id is None else within & (Payout.department == self.department_id)

    def applies_on(self, day) -> bool:
        return self.revoked_at is None and self.starts_on <= day <= self.ends_on

    # --- queries --------------------------------------------------------------------------------------------------

    @classmethod
    def live(cls, day):
        """Not revoked and within its period on `day` (the office's date), as a condition."""
        return cls.revoked_at.is_null() & (cls.starts_on <= day) & (cls.ends_on >= day)

    @classmethod
    def held_by(cls, staff_id, day):
        """Whether `staff_id` (a value or a column) is the delegate of a delegation live on `day`, as a condition:
        true whenever `active_for` finds one (it also asks that the grantor be active). The sign-in check reads it
        with the session row, so a person who holds none is not asked again (auth/permissions.none_held)."""
        return pw.fn.EXISTS(cls.select(pw.SQL("1")).where((cls.delegate == staff_id) & cls.live(day)))

    def covered_stages(self) -> frozenset:
        """The ids of the stage rows a "stage" delegation covers (`stage_rows`; empty for another scope)."""
        if self.stage_ids is None:
            self.stage_ids = stage_rows([self]).get(self.stage_id, frozenset())
        return self.stage_ids

    @classmethod
    def active_for(cls, staff_id, day) -> list:
        """The delegations `staff_id` acts under on `day`, whose grantor is still active, with their grantor, stage
        and department (one indexed query on the delegate), and the stage rows each "stage" one covers
        (`stage_rows`: one more query, when they hold one)."""
        def build(staff_id, day):  # asked on every page (the permission rules, the layout): its SQL made once
            grantor = Staff.alias()
            return (cls.select(cls, grantor, Stage, Department)
                    .join_from(cls, grantor, on=(cls.grantor == grantor.id))
                    .join_from(cls, Stage, pw.JOIN.LEFT_OUTER)
                    .join_from(cls, Department, pw.JOIN.LEFT_OUTER)
                    .where((cls.delegate == staff_id) & cls.live(day) & (grantor.active == True))  # noqa: E712
                    .order_by(cls.id))

        found = list(select("delegations_active_for", build, staff_id, day))
        covered = stage_rows(found)
        for delegation in found:
            delegation.stage_ids = covered.get(delegation.stage_id, frozenset())
        return found


def stage_rows(delegations) -> dict:
    """For the "stage" delegations among these, the stage rows each covers, by the id of the row it was granted on
    (one query): a new version of a type closes a changed stage and opens a new row for it (admin/types.py), so a
    delegation is of "that stage of that type", not of one row. It covers the row it was granted on and, version
    after version both ways without a break, the rows of the same code that keep its department and required role:
    a budget or a name changed carries it on; a version that drops the stage, or moves it to another department or
    role (no longer what the grantor handed on), ends the run, and a stage of that code brought back later is
    something new that it does not reach."""
    origins = {d.stage_id: d.stage for d in delegations if d.scope == "stage" and d.stage_id is not None}
    if not origins:
        return {}
    same = {}
    for row in Stage.select().where(Stage.request_type.in_({row.request_type_id for row in origins.values()})
                                    & Stage.code.in_({row.code for row in origins.values()})):
        same.setdefault((row.request_type_id, row.code, row.department_id, row.role), []).append(row)
    covered = {}
    for origin in origins.values():
        run = sorted(same[(origin.request_type_id, origin.code, origin.department_id, origin.role)],
                     key=lambda row: row.first_version)
        first = last = next(n for n, row in enumerate(run) if row.id == origin.id)
        while first > 0 and run[first - 1].last_version == run[first].first_version - 1:
            first -= 1
        while (last + 1 < len(run) and run[last].last_version is not None
               and run[last + 1].first_version == run[last].last_version + 1):
            last += 1
        covered[origin.id] = frozenset(row.id for row in run[first:last + 1])
    return covered
