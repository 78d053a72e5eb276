"""Straight-through processing (issue 17): the local registries' records, the automatic-decision rules (versioned:
a change is a new row, the old one kept), the controls (exceptions, pauses, spending ceilings) and the evidence of
every decision (AutoDecision: the rule row it used, the facts checked, the registry's answer as received)."""
import json

import peewee as pw

from intranet.db import BaseModel
from intranet.models.people import Citizen, Staff, utcnow
from intranet.models.requests import Request, RequestType

DECISIONS = ("accept_stage", "complete")
OUTCOMES = ("pending", "eligible", "ineligible", "skipped")
REVIEW_OUTCOMES = ("confirmed", "reversed")


class RegistryRecord(BaseModel):
    """A person known to a local registry (loaded from a CSV or XLSX file), with the facts the file gave."""
    registry = pw.CharField(max_length=40)
    national_id = pw.CharField(max_length=20)
    facts = pw.TextField(default="{}")  # JSON: flat {fact: true/false, number or text}
    loaded_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "registry_record"
        indexes = ((("registry", "national_id"), True),)

    @property
    def fact_values(self) -> dict:
        return json.loads(self.facts or "{}")


class AutoRule(BaseModel):
    """One version of a request type's automatic-decision rule; the active row is the one in force."""
    request_type = pw.ForeignKeyField(RequestType, backref="+", on_delete="RESTRICT")
    version = pw.IntegerField()
    active = pw.BooleanField(default=True)
    registry = pw.CharField(max_length=40)
    conditions = pw.TextField(default="[]")  # JSON [{"fact", "op", "value"}]
    amount_limit = pw.DecimalField(max_digits=14, decimal_places=3, null=True)  # the request's amount at most this
    decision = pw.CharField(max_length=20)  # accept_stage, complete
    created_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="RESTRICT")
    created_at = pw.DateTimeField(default=utcnow)
    note = pw.TextField(default="")

    class Meta:
        table_name = "auto_rule"
        indexes = ((("request_type", "version"), True),)

    @property
    def condition_list(self) -> list:
        return json.loads(self.conditions or "[]")


class AutoDecision(BaseModel):
    """A request's automatic decision, at most one (unique request): written "pending" when it is submitted, then
    eligible (acted on), ineligible (left to a person, the failed facts recorded) or skipped (with the reason)."""
    request = pw.ForeignKeyField(Request, unique=True, backref="+", on_delete="CASCADE")
    request_type = pw.ForeignKeyField(RequestType, backref="+", on_delete="RESTRICT")
    rule = pw.ForeignKeyField(AutoRule, null=True, backref="decisions", on_delete="RESTRICT")
    outcome = pw.CharField(max_length=12, default="pending")
    reason = pw.CharField(max_length=40, default="")  # why skipped or ineligible: a code (see engine.REASONS)
    checks = pw.TextField(default="[]")  # JSON [{"fact", "op", "expected", "value", "passed"}]
    registry = pw.CharField(max_length=40, default="")
    registry_raw = pw.TextField(default="")  # the registry's answer as received
    fetched_at = pw.DateTimeField(null=True)
    amount = pw.DecimalField(max_digits=14, decimal_places=3, null=True)
    sampled = pw.BooleanField(default=False)
    reviewed_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="RESTRICT")
    review_outcome = pw.CharField(max_length=12, null=True)  # confirmed, reversed
    review_reason = pw.TextField(default="")
    reviewed_at = pw.DateTimeField(null=True)
    created_at = pw.DateTimeField(default=utcnow)
    decided_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "auto_decision"

    @property
    def check_list(self) -> list:
        return json.loads(self.checks or "[]")


# the sweeper's list of decisions never made, and the money committed per type and day
AutoDecision.add_index(AutoDecision.index(AutoDecision.id, name="auto_decision_pending",
                                          where=AutoDecision.outcome == "pending"))
AutoDecision.add_index(AutoDecision.index(AutoDecision.request_type, AutoDecision.decided_at,
                                          name="auto_decision_committed", where=AutoDecision.outcome == "eligible"))


class AutoException(BaseModel):
    """A citizen or a request type never decided automatically (while not removed), with the reason."""
    citizen = pw.ForeignKeyField(Citizen, null=True, backref="+", on_delete="RESTRICT")
    request_type = pw.ForeignKeyField(RequestType, null=True, backref="+", on_delete="RESTRICT")
    reason = pw.TextField()
    added_by = pw.ForeignKeyField(Staff, backref="+", on_delete="RESTRICT")
    created_at = pw.DateTimeField(default=utcnow)
    removed_at = pw.DateTimeField(null=True)
    removed_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="RESTRICT")

    class Meta:
        table_name = "auto_exception"


class AutoPause(BaseModel):
    """Automation paused for a request type from `paused_at` until resumed (a row per pause)."""
    request_type = pw.ForeignKeyField(RequestType, backref="+", on_delete="RESTRICT")
    paused_by = pw.ForeignKeyField(Staff, backref="+", on_delete="RESTRICT")
    paused_at = pw.DateTimeField(default=utcnow)
    resumed_at = pw.DateTimeField(null=True)
    resumed_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="RESTRICT")

    class Meta:
        table_name = "auto_pause"


class AutoCeiling(BaseModel):
    """What automation may commit for a request type per office day and per month (None: no ceiling); `alerted`
    keeps the last period supervisors were told it was reached ("d:2026-12-03", "m:2026-12"), so they are told once."""
    request_type = pw.ForeignKeyField(RequestType, unique=True, backref="+", on_delete="RESTRICT")
    per_day = pw.DecimalField(max_digits=14, decimal_places=3, null=True)
    per_month = pw.DecimalField(max_digits=14, decimal_places=3, null=True)
    set_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="RESTRICT")
    set_at = pw.DateTimeField(default=utcnow)
    alerted_day = pw.CharField(max_length=10, default="")
    alerted_month = pw.CharField(max_length=7, default="")

    class Meta:
        table_name = "auto_ceiling"
