"""The directory sync (issue 18): every DIRECTORY_SYNC_MINUTES (0: never on schedule, only when an administrator
asks on the staff page), read the directory and let its changes take effect (`intranet.staff.sync.run`).

Huey's scheduler asks every minute; the run is due when the minutes since midnight (UTC) divide by the setting, so
every consumer of a deployment agrees on the minute. A run that finds the directory unreachable is recorded with its
error and changes nothing; the next minute due tries again.
"""
from functools import cache

from jobs import huey
from jobs.tasks import in_app_context


@cache
def _every() -> int:
    # the environment's settings, read without building the app: the scheduler asks every minute
    from intranet.config import load
    return load()["DIRECTORY_SYNC_MINUTES"]


def is_sync_minute(timestamp, every: int) -> bool:
    """True in the minutes a sync is due: every `every` minutes of the day (0 or less: never)."""
    return every > 0 and (timestamp.hour * 60 + timestamp.minute) % every == 0


def _due(timestamp) -> bool:
    return is_sync_minute(timestamp, _every())


@huey.periodic_task(_due)
@in_app_context
def sync_directory():
    from intranet.staff import sync
    run = sync.run()
    return {"id": run.id, "changes": run.changes, "error": run.error}
