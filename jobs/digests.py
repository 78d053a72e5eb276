"""The staff's morning digests, queued at DIGEST_TIME on the institution's wall clock (TIMEZONE).

Huey's scheduler hands periodic tasks a naive UTC timestamp (`huey.utc` is True, the default of make_huey), so
crontab(hour=6, minute=30) would fire at 06:30 UTC, 09:30 in Qatar. The check below converts the timestamp
to TIMEZONE first, which also keeps the local hour across daylight-saving changes where a zone has them.
"""
import datetime as dt
from functools import cache
from zoneinfo import ZoneInfo

from jobs import huey
from jobs.tasks import in_app_context


def is_digest_time(timestamp: dt.datetime, digest_time: str, timezone: str, utc: bool = True) -> bool:
    """True in the minute `digest_time` ("HH:MM") of `timezone`, for a scheduler timestamp (naive: UTC when
    `utc`, else the machine's local time)."""
    moment = timestamp.replace(tzinfo=dt.timezone.utc) if utc else timestamp.astimezone()
    local = moment.astimezone(ZoneInfo(timezone))
    hour, minute = (int(part) for part in digest_time.split(":"))
    return (local.hour, local.minute) == (hour, minute)


@cache
def _schedule() -> tuple[str, str]:
    # the environment's settings, read without building the app: the scheduler asks every minute
    from intranet.config import load
    settings = load()
    return settings["DIGEST_TIME"], settings["TIMEZONE"]


def _at_digest_time(timestamp) -> bool:
    return is_digest_time(timestamp, *_schedule(), utc=huey.utc)


@huey.periodic_task(_at_digest_time, retries=3, retry_delay=600)
@in_app_context
def send_digests():
    """Queue today's digest e-mails; a retry or a second run the same day queues nothing twice."""
    from intranet.notify import digests
    return digests.send_all(digests.local_today())
