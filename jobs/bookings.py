"""Appointments at reception (issue 19; intranet/reception/bookings.py): every minute, unconfirmed bookings past
their code's life expire and give their seat back, and confirmed ones whose time passed without a check-in are
counted as no-shows; every hour, the SMS of tomorrow's bookings (idempotent: one per booking and slot)."""
from huey import crontab

from jobs import huey
from jobs.tasks import in_app_context


@huey.periodic_task(crontab(minute="*"))
@in_app_context
def expire_bookings():
    from intranet.reception import bookings

    return bookings.expire_due()


@huey.periodic_task(crontab(minute="25"))
@in_app_context
def remind_bookings():
    from intranet.reception import bookings

    return bookings.queue_reminders()
