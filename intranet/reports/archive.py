"""The archive of printed documents: produce one (figures, PDF, file, row), e-mail it to the supervisors, list
and open what is kept.

A document of the same kind, day and language produced again replaces the file and its row (the figures come
from history, so they are the same). The file is written beside its final name and renamed over it, so a reader
never sees half a PDF; the row, committed after, carries the SHA-256 a download is checked against.
"""
import datetime as dt
import hashlib
import os
from pathlib import Path

from flask import current_app
from flask_babel import force_locale, format_date
from intranet.i18n import gettext as _
from peewee import fn

from intranet import paging
from intranet.db import transaction
from intranet.models import Staff, utcnow
from intranet.models.stats import REPORT_KINDS, ReportFile, ReportRequest
from intranet.notify import events
from intranet.reports import pdf
from intranet.stats import figures as stats
from intranet.triggers import enqueue

MAIL_LANGUAGE = "ar"  # the institution's language: the evening's PDF and its e-mail
PAGE_SIZE = 25


class ArchiveError(Exception):
    """An archived file is missing or no longer what was written."""


def root() -> Path:
    return Path(current_app.config["REPORT_ARCHIVE_DIR"])


def relative_path(kind: str, day: dt.date, language: str) -> str:
    return f"{kind}/{day:%Y}/{kind}-{day.isoformat()}-{language}.pdf"


def produce(kind: str, day: dt.date, language: str = MAIL_LANGUAGE) -> ReportFile:
    """Count the days not counted yet, build the document of `day`, write its PDF and (re)place its row."""
    if kind not in REPORT_KINDS or language not in pdf.LANGUAGES:
        raise ValueError((kind, language))
    stats.close_missing()
    content, pages = pdf.render_pdf(kind, day, language)
    relative = relative_path(kind, day, language)
    target = root() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    partial.write_bytes(content)
    os.replace(partial, target)
    with transaction():
        ReportFile.delete().where((ReportFile.kind == kind) & (ReportFile.day == day)
                                  & (ReportFile.language == language)).execute()
        return ReportFile.create(kind=kind, day=day, language=language, path=relative,
                                 sha256=hashlib.sha256(content).hexdigest(), size=len(content), pages=pages,
                                 created_at=utcnow())


# --- a document asked for from the archive page -----------------------------------------------------------------

ASKED_STALE_SECONDS = 600  # a run claimed this long ago that has not finished died (producing takes seconds)
ASKED_MAX_ATTEMPTS = 3


def ask(kind: str, day: dt.date, language: str) -> ReportRequest:
    """Produce a document in the background: the request row first, its job once the row is committed; a job lost
    (the queue was down, a consumer killed) is started again by the minute's sweeper (`unproduced`)."""
    if kind not in REPORT_KINDS or language not in pdf.LANGUAGES:
        raise ValueError((kind, language))
    with transaction():
        asked = ReportRequest.create(kind=kind, day=day, language=language, created_at=utcnow())
        enqueue("reports.produce_report", asked.id)
    return asked


def produce_asked(request_id: int) -> ReportFile | None:
    """The asked document, produced once: a run claims the request (a conditional UPDATE: not produced, no live
    run, attempts left), produces it and marks it produced; None when there is nothing to do."""
    now = utcnow()
    R = ReportRequest
    with transaction():
        claimed = R.update(started_at=now, attempts=R.attempts + 1).where(
            (R.id == request_id) & R.produced_at.is_null() & (R.attempts < ASKED_MAX_ATTEMPTS)
            & (R.started_at.is_null() | (R.started_at < now - dt.timedelta(seconds=ASKED_STALE_SECONDS)))).execute()
    if not claimed:
        return None
    asked = R.get_by_id(request_id)
    try:
        report = produce(asked.kind, asked.day, asked.language)
    except BaseException:
        with transaction():  # this run is over: the next attempt (a retry, the sweeper) need not wait for its claim
            R.update(started_at=None).where((R.id == request_id) & (R.started_at == now)).execute()
        raise
    with transaction():
        R.update(produced_at=utcnow()).where(R.id == request_id).execute()
    return report


def unproduced(now: dt.datetime | None = None, grace_seconds: int = 60) -> list[int]:
    """The asked documents whose job never came or whose run died: not produced, attempts left, asked more than
    `grace_seconds` ago (its job may still be waiting in the queue) and not claimed by a live run."""
    now = now or utcnow()
    R = ReportRequest
    return [row.id for row in R.select(R.id).where(
        R.produced_at.is_null() & (R.attempts < ASKED_MAX_ATTEMPTS)
        & (R.created_at < now - dt.timedelta(seconds=grace_seconds))
        & (R.started_at.is_null() | (R.started_at < now - dt.timedelta(seconds=ASKED_STALE_SECONDS))))
        .order_by(R.id)]


def send(report: ReportFile) -> int:
    """Queue the document's e-mail, with the PDF attached, to every active supervisor with an address; once per
    supervisor, kind and day (a second run queues nothing). Returns how many were queued."""
    queued = 0
    with force_locale(MAIL_LANGUAGE):
        context = {"day": format_date(report.day, "full"), "items": _items(report)}
    for staff in (Staff.select().where((Staff.role == "supervisor") & (Staff.active == True)  # noqa: E712
                                       & Staff.email.is_null(False) & (Staff.email != "")).order_by(Staff.id)):
        key = f"{report.kind}:{staff.id}:{report.day.isoformat()}"
        row = events.queue_staff_email(staff, report.kind, MAIL_LANGUAGE, {**context, "staff_name": staff.full_name},
                                       key, attachment=str(root() / report.path))
        queued += row is not None
    return queued


def _items(report) -> str:
    return _("%(pages)d pages, attached as %(name)s", pages=report.pages, name=Path(report.path).name)


def listing(after: int | None = None, size: int = PAGE_SIZE) -> tuple[list[ReportFile], int | None]:
    """A page of the archive, the latest produced first (a file produced again comes first), and the key of
    the next page."""
    return paging.page(ReportFile.select(), ReportFile.id, after, size, descending=True)


def latest_id() -> int:
    """The newest archive row's id (0 when empty): a document asked for now is ready once its row is newer."""
    return ReportFile.select(fn.MAX(ReportFile.id)).scalar() or 0


def produced_after(kind: str, day: dt.date, language: str, newer_than: int) -> ReportFile | None:
    """The document of `kind`, `day` and `language` if it was (re)produced after the row `newer_than`."""
    return ReportFile.get_or_none((ReportFile.kind == kind) & (ReportFile.day == day)
                                  & (ReportFile.language == language) & (ReportFile.id > newer_than))


def read(report: ReportFile) -> bytes:
    """The archived PDF, checked against the SHA-256 recorded when it was written."""
    try:
        content = (root() / report.path).read_bytes()
    except OSError:
        raise ArchiveError("missing") from None
    if hashlib.sha256(content).hexdigest() != report.sha256:
        raise ArchiveError("changed")
    return content


def file_name(report: ReportFile) -> str:
    return Path(report.path).name
