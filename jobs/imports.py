"""File import tasks: thin wrappers around `intranet.intake.imports.run`.

The batch row is the truth: `processed` says how far a run got, and each row's transaction advances it only from
the row's own position, so a second run of the same batch (a retry, the sweeper, two consumers) cannot import a row
twice, and a run that died is resumed where it stopped. A run leaves a beat in Huey's storage every second;
`sweep_imports` restarts a queued or running batch whose beat is older than `STALE_SECONDS` (a lost trigger, a
consumer killed mid-run).
"""
import time

from huey import crontab

from jobs import huey
from jobs.tasks import in_app_context

BEAT_KEY = "import-beat-{}"
STALE_SECONDS = 120


def beat(batch_id):
    huey.storage.put_data(BEAT_KEY.format(batch_id), str(time.time()).encode())


def last_beat(batch_id) -> float | None:
    value = huey.storage.peek_data(BEAT_KEY.format(batch_id))
    return float(value.decode()) if isinstance(value, bytes) else None


def trigger(batch_id, locale=None):
    """Enqueue the import of a batch already committed as queued."""
    beat(batch_id)
    run_import(batch_id, locale)


def _run(batch_id, locale):
    from intranet.intake.imports import run

    last = [0.0]

    def progress():
        if time.monotonic() - last[0] >= 1:
            last[0] = time.monotonic()
            beat(batch_id)

    try:
        return run(batch_id, locale, on_progress=progress)
    finally:
        huey.storage.pop_data(BEAT_KEY.format(batch_id))


@huey.task()
@in_app_context
def run_import(batch_id, locale=None):
    """Import a batch's valid rows."""
    return _run(batch_id, locale)


@huey.periodic_task(crontab(minute="*"))
@in_app_context
def sweep_imports():
    """Start again every unfinished batch whose run has shown no sign of life for a while."""
    from intranet.intake.imports import unfinished

    restarted = []
    for batch_id in unfinished():
        seen = last_beat(batch_id)
        if seen is None or time.time() - seen > STALE_SECONDS:
            trigger(batch_id)
            restarted.append(batch_id)
    return restarted
