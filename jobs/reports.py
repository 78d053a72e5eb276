"""The printed documents' tasks: the daily summary every evening at DAILY_SUMMARY_TIME, the statements on their
days of the month (checked each morning at STATEMENT_TIME), and a document asked for on the archive page (a
`report_request` row; `sweep_reports` starts again one whose job was lost or whose run died).

Huey's scheduler hands periodic tasks a naive UTC timestamp (`huey.utc`, the default of make_huey), and its
`crontab(hour=20)` would test that UTC time: 20:00 UTC is 23:00 in Qatar. So the schedule is a function that
converts the timestamp to TIMEZONE first (jobs/digests.py does the same for the digests).
"""
import datetime as dt
from functools import cache

from huey import crontab

from jobs import huey
from jobs.digests import is_digest_time
from jobs.tasks import in_app_context

STATEMENT_TIME = "07:00"  # the statements of the day, before the office opens: figures as at its start


@cache
def _schedule() -> tuple[str, str]:
    # the environment's settings, read without building the app: the scheduler asks every minute
    from intranet.config import load
    settings = load()
    return settings["DAILY_SUMMARY_TIME"], settings["TIMEZONE"]


def _at_summary_time(timestamp) -> bool:
    time, zone = _schedule()
    return is_digest_time(timestamp, time, zone, utc=huey.utc)


def _at_statement_time(timestamp) -> bool:
    return is_digest_time(timestamp, STATEMENT_TIME, _schedule()[1], utc=huey.utc)


def _produce_and_send(kind: str, day: dt.date) -> dict:
    from intranet.reports import archive
    report = archive.produce(kind, day)
    return {"kind": kind, "day": day.isoformat(), "pages": report.pages, "queued": archive.send(report)}


@huey.periodic_task(_at_summary_time, retries=2, retry_delay=300)
@in_app_context
def produce_daily_summary():
    """Today's summary as a PDF, archived (replacing an earlier one of today) and e-mailed once to each
    supervisor. First the audit chains' heads are anchored outside the database (intranet/chain.py): the summary
    prints that anchor."""
    from intranet import anchors
    from intranet.stats.figures import local_today
    anchors.write_anchor()
    return _produce_and_send("daily_summary", local_today())


@huey.periodic_task(_at_statement_time, retries=2, retry_delay=300)
@in_app_context
def produce_statements():
    """The alert and execution statements whose day of the month is today (none on other days)."""
    from intranet.reports import statements
    from intranet.stats.figures import local_today
    today = local_today()
    return [_produce_and_send(kind, today) for kind in statements.KINDS if statements.is_due(kind, today)]


@huey.task(retries=1, retry_delay=60)
@in_app_context
def produce_report(request_id: int):
    """A document asked for on the archive page (a `report_request` row; no e-mail)."""
    from intranet.reports import archive
    report = archive.produce_asked(request_id)
    return report.id if report is not None else None


@huey.periodic_task(crontab(minute="*"))
@in_app_context
def sweep_reports():
    """Start again every asked document whose job was lost (the queue was down) or whose run died."""
    from intranet.reports import archive
    restarted = archive.unproduced()
    for request_id in restarted:
        produce_report(request_id)
    return restarted
