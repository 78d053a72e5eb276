"""Webhook delivery tasks: thin wrappers around `intranet.intake.webhooks.deliver_due`.

The rows in `webhook_delivery` are the truth; these tasks only carry them out, and any number may run at once
(deliveries are claimed in batches under a lease by `intranet.outbox`, the webhooks' channel being
`intranet.intake.webhooks`). Two ways in:

- `deliver_soon`: scheduled by `queue_for_change` once the change's transaction has committed
  (`intranet.triggers.soon`), a couple of seconds ahead (`WEBHOOK_TRIGGER_DELAY_SECONDS`) so that the changes of a
  burst share one run. Should it be lost (consumer killed, queue unreachable), the sweeper sends the row.
- `sweep_webhooks`: every minute, gives back deliveries whose worker stopped while sending (lease expired) and
  sends everything due: retries after back-off, and whatever a lost trigger left behind. It stops claiming after
  50 seconds so that sweeps do not pile up behind a slow portal.
"""
import logging

from huey import crontab

from jobs import huey
from jobs.tasks import in_app_context

log = logging.getLogger(__name__)


@huey.task()
@in_app_context
def deliver_soon():
    from intranet.intake.webhooks import deliver_due
    counts = deliver_due(limit=200, time_budget=50)
    log.info("webhooks delivered soon after a change: %s", counts)
    # no return value: huey would keep a result nobody reads for every trigger


@huey.periodic_task(crontab(minute="*"))
@in_app_context
def sweep_webhooks():
    from intranet.intake.webhooks import deliver_due
    return deliver_due(limit=1000, time_budget=50)
