"""Statistics tasks: count every day that is over, from history (idempotent: a day counted already is skipped,
and counting one again would write the same rows), then today up to the last full hour (the dashboard counts only
the rest of the day live) and the open work's rows at 0 tidied away. Hourly, so the office's midnight in any time
zone is soon followed by its count, and a consumer that was down catches up on its next run."""
from huey import crontab

from jobs import huey
from jobs.tasks import in_app_context


@huey.periodic_task(crontab(minute="5"))
@in_app_context
def count_days():
    from intranet.stats import figures, open_work

    days = [day.isoformat() for day in figures.close_missing()]
    figures.count_so_far()
    open_work.tidy()
    return days
