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
from flask_babel import gettext as _
from peewee import fn

from intranet.db import transaction
from intranet.models import Staff, utcnow
from intranet.models.stats import REPORT_KINDS, ReportFile
from intranet.notify import events
from intranet.reports import pdf
from intranet.stats import figures as stats

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
    query = ReportFile.select().order_by(ReportFile.id.desc())
    if after:
        query = query.where(ReportFile.id < after)
    rows = list(query.limit(size + 1))
    return rows[:size], (rows[size - 1].id if len(rows) > size else None)


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
