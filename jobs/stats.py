"""Statistics tasks: count every day that is over, from history (idempotent: a day counted already is skipped,
and counting one again would write the same rows). Hourly, so the office's midnight in any time zone is soon
followed by its count, and a consumer that was down catches up on its next run."""
from huey import crontab

from jobs import huey
from jobs.tasks import in_app_context


@huey.periodic_task(crontab(minute="5"))
@in_app_context
def count_days():
    from intranet.stats import figures

    return [day.isoformat() for day in figures.close_missing()]
