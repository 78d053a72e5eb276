"""The start of an automatic decision (issue 17): when a request of a type with a rule in force is submitted, its
AutoDecision row is written "pending" in the submission's transaction, and the job that decides it is started after
commit (`automation.decide`, jobs/automation.py). The row is the truth: the job may never come (a consumer killed),
and the periodic sweeper decides what is left pending. Imported by the workflow: it imports no workflow."""
from intranet import reference, triggers
from intranet import db
from intranet.db import insert_row
from intranet.models import Staff, utcnow
from intranet.models.automation import AutoDecision


SYSTEM_USERNAME = "system:automation"  # no directory uid has a colon: nobody signs in as it


def system_actor() -> Staff:
    """The member of staff automatic decisions are made by: a row that never signs in (inactive, a role no
    permission grants anything), so that the history and a payout's maker name automation, not a person. Written
    the first time; kept with the reference rows once the transaction that read or wrote it has committed (a row
    rolled back is never kept)."""
    actor = reference.known("system_actor", SYSTEM_USERNAME)
    if actor is None:
        insert_row(Staff, {"username": SYSTEM_USERNAME, "full_name": "Automation", "role": "automation",
                           "active": False, "created_at": utcnow()}, ignore_conflict=True)
        actor = Staff.get(Staff.username == SYSTEM_USERNAME)
        if not db.database.in_transaction() or db.in_managed_transaction():
            db.after_commit(lambda: reference.remember("system_actor", SYSTEM_USERNAME, actor))
    return actor


def has_rule(type_id: int) -> bool:
    """The type has a rule in force (asked at every submission: the SQL is written out, not built each time)."""
    return db.database.execute_sql(
        f'SELECT 1 FROM "auto_rule" WHERE "request_type_id" = {db.database.param} AND "active" LIMIT 1',
        (type_id,)).fetchone() is not None


def queue_for(req, start_job: bool = True) -> int | None:
    """Inside the submission's transaction: the pending decision and its job (unless the caller decides it itself:
    `start_job=False`), when the request's type has a rule in force; the decision's id when queued (None: no rule,
    or already queued)."""
    if not has_rule(req.request_type_id):
        return None
    new_id = insert_row(AutoDecision, {"request": req.id, "request_type": req.request_type_id, "outcome": "pending",
                                       "amount": req.amount, "created_at": utcnow()}, ignore_conflict=True)
    if new_id is not None and start_job:
        triggers.enqueue("automation.decide", req.id)
    return new_id
