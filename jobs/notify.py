"""Notification delivery tasks: thin wrappers around `intranet.notify.delivery.deliver_due`.

The `notification` rows are the truth; these tasks only carry them out, and any number may run at once (rows are
claimed in batches under a lease by `intranet.outbox`, the notifications' channel being `intranet.notify.delivery`).
Two ways in:

- `deliver_soon`: scheduled by `delivery.trigger_soon()` once the change's transaction has committed
  (`intranet.triggers.soon`), a couple of seconds ahead (`NOTIFY_TRIGGER_DELAY_SECONDS`) so that the changes of a
  burst share one run. When its first batch comes back full it asks `NOTIFY_WORKERS - 1` more workers to help
  (default: the second worker of `huey_consumer -w 2`; helpers ask nobody), and when it stops at its limit or time budget with
  rows still due it schedules its own continuation. Should a trigger be lost (consumer killed, queue
  unreachable), the sweeper sends.
- `sweep_notifications`: every minute, gives back rows whose worker stopped while sending (lease expired), holds
  SMS in quiet hours and sends everything due: retries after back-off, the end of quiet hours, lost triggers.
  It stops claiming after 50 seconds so that sweeps do not pile up behind a slow gateway.
"""
import logging

from huey import crontab

from jobs import huey
from jobs.tasks import in_app_context

log = logging.getLogger(__name__)

LIMIT = 5000
TIME_BUDGET = 50


def _helpers() -> int:
    from flask import current_app
    if huey.immediate:
        return 0  # tasks run inline (tests): no one to help, and no recursion
    return max(0, int(current_app.config["NOTIFY_WORKERS"]) - 1)


def _run(helper: bool) -> dict:
    """One run; the main one (not a helper) asks for help on a backlog and continues it if it remains."""
    from intranet.notify.delivery import deliver_due
    helpers = 0 if helper else _helpers()

    def ask_for_help():
        for _ in range(helpers):
            deliver_soon(helper=True)

    counts = deliver_due(limit=LIMIT, time_budget=TIME_BUDGET, on_busy=ask_for_help if helpers else None)
    if counts["more"] and not helper and not huey.immediate:
        deliver_soon()  # the backlog goes on without waiting for the minute's sweep
    return counts


@huey.task()
@in_app_context
def deliver_soon(helper: bool = False):
    counts = _run(helper)
    log.info("notifications delivered soon after a change: %s", counts)
    # no return value: huey would keep a result nobody reads for every trigger


@huey.periodic_task(crontab(minute="*"))
@in_app_context
def sweep_notifications():
    return _run(helper=False)
