"""Automatic decisions (issue 17): the request's decision, started after its submission commits (the pending
AutoDecision row is written first, in the submission's transaction), and the sweeper that decides every minute what
a lost job left pending. Deciding is idempotent: a request is decided once, whatever runs twice."""
from huey import crontab

from jobs import huey
from jobs.tasks import in_app_context


@huey.task()
@in_app_context
def decide(request_id):
    from intranet.automation import engine

    row = engine.decide(request_id)
    return row.outcome if row is not None else None


@huey.periodic_task(crontab(minute="*"))
@in_app_context
def sweep_pending():
    from intranet.automation import engine

    return engine.sweep(older_than=30)  # a request just submitted is its own job's
