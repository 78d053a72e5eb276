"""Payout export tasks: thin wrappers around `intranet.payouts.batches.export`.

The batch row is the truth: a run claims it with a lease and a token, and only the holder of the token can
release it, so a retry, a second trigger or two consumers cannot release a batch twice. `sweep_exports` starts
again every exporting batch that nobody holds (a lost trigger, a consumer killed mid-export).
"""
import logging

from huey import crontab

from jobs import huey
from jobs.tasks import in_app_context

log = logging.getLogger(__name__)


def _export(batch_id):
    from intranet.payouts.batches import export

    outcome = export(batch_id)
    log.info("payout batch %s: %s", batch_id, outcome)
    return outcome


@huey.task()
@in_app_context
def export_batch(batch_id):
    """Write, check and release a batch's bank files."""
    return _export(batch_id)


@huey.periodic_task(crontab(minute="*"))
@in_app_context
def sweep_exports():
    """Start again every exporting batch whose run has let its lease run out."""
    from intranet.payouts.batches import stalled

    restarted = stalled()
    for batch_id in restarted:
        export_batch(batch_id)
    return restarted
