"""Automatic renewals (issue 17): every hour, the periodic benefits due (overdue first, then within 30 days) are
renewed and decided (intranet/automation/renewals.py). Each period is claimed once, so a run that overlaps another,
or starts again after one was killed, renews nothing twice; the next run decides what a killed one left pending.
On PostgreSQL, RENEWAL_PARTS > 1 splits a run into that many tasks, which the consumer's workers run side by side
(SQLite has one writer: one part)."""
from huey import crontab

from jobs import huey
from jobs.tasks import in_app_context


@huey.periodic_task(crontab(minute="20"))
@in_app_context
def renew_due():
    """RENEWAL_PARTS runs side by side (each its share of the benefits), or this one alone."""
    from intranet import triggers
    from intranet.automation import renewals
    from intranet.config import setting

    parts = setting("RENEWAL_PARTS")
    if parts == 1:
        return renewals.run()
    for part in range(parts):
        triggers.enqueue("renewals.renew_part", part, parts)
    return {"parts": parts}


@huey.task()
@in_app_context
def renew_part(part, parts):
    from intranet.automation import renewals

    return renewals.run(part=part, parts=parts)
