"""Automatic renewals (issue 17): every hour, the periodic benefits due (overdue first, then within 30 days) are
renewed and decided (intranet/automation/renewals.py). Each period is claimed once, so a run that overlaps another,
or starts again after one was killed, renews nothing twice; the next run decides what a killed one left pending."""
from huey import crontab

from jobs import huey
from jobs.tasks import in_app_context


@huey.periodic_task(crontab(minute="20"))
@in_app_context
def renew_due():
    from intranet.automation import renewals

    return renewals.run()
