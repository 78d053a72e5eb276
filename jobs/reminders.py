"""Reminder tasks: the day-before reminders of interviews (intranet/notify/reminders.py writes them; the delivery
job sends them, holding SMS in quiet hours). Hourly: idempotent, so an interview set today for tomorrow, or a
consumer that was down, is caught up on the next run."""
from huey import crontab

from jobs import huey
from jobs.tasks import in_app_context


@huey.periodic_task(crontab(minute="20"))
@in_app_context
def remind_interviews():
    from intranet.notify import reminders

    return reminders.queue_reminders()
