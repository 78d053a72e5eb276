"""The start of an automatic decision (issue 17): when a request of a type with a rule in force is submitted, its
AutoDecision row is written "pending" in the submission's transaction, and the job that decides it is started after
commit (`automation.decide`, jobs/automation.py). The row is the truth: the job may never come (a consumer killed),
and the periodic sweeper decides what is left pending. Imported by the workflow: it imports no workflow."""
from intranet import triggers
from intranet.db import insert_row
from intranet.models import Staff, utcnow
from intranet.models.automation import AutoDecision, AutoRule


SYSTEM_USERNAME = "system:automation"  # no directory uid has a colon: nobody signs in as it


def system_actor() -> Staff:
    """The member of staff automatic decisions are made by: a row that never signs in (inactive, a role no
    permission grants anything), so that the history and a payout's maker name automation, not a person."""
    insert_row(Staff, {"username": SYSTEM_USERNAME, "full_name": "Automation", "role": "automation",
                       "active": False, "created_at": utcnow()}, ignore_conflict=True)
    return Staff.get(Staff.username == SYSTEM_USERNAME)


def has_rule(type_id: int) -> bool:
    return AutoRule.select().where((AutoRule.request_type == type_id) & AutoRule.active).exists()


def queue_for(req, start_job: bool = True) -> bool:
    """Inside the submission's transaction: the pending decision and its job (unless the caller decides it itself:
    `start_job=False`), when the request's type has a rule in force; True when queued (False: no rule, or already
    queued)."""
    if not has_rule(req.request_type_id):
        return False
    new_id = insert_row(AutoDecision, {"request": req.id, "request_type": req.request_type_id, "outcome": "pending",
                                       "amount": req.amount, "created_at": utcnow()}, ignore_conflict=True)
    if new_id is None:
        return False
    if start_job:
        triggers.enqueue("automation.decide", req.id)
    return True
