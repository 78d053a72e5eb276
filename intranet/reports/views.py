"""The archive of printed documents, their print views (HTML for the browser's print, PDF) and the form that
produces a past day's document on demand; the archive page then shows the document's state, polled by htmx every
two seconds until the file is ready (the fragment comes back without its trigger then, which stops the polling)."""
import datetime as dt

from flask import Blueprint, abort, redirect, render_template, url_for
from intranet.i18n import gettext as _

from intranet import downloads, params
from intranet.auth import guard, permissions
from intranet.htmx import render
from intranet.i18n import locale_code
from intranet.models.stats import REPORT_KINDS, ReportFile
from intranet.reports import archive, pdf
from intranet.reports.forms import ProduceForm
from intranet.stats import figures as stats

bp = Blueprint("reports", __name__, url_prefix="/reports")
SLUG = "<any(daily, alert, execution):slug>"


# The printed documents are for supervisors and administrators.
guard.only(bp, permissions.can_see_statistics)


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        abort(404)


def _language() -> str:
    return params.arg_choice("lang", pdf.LANGUAGES) or params.arg_choice("language", pdf.LANGUAGES) or locale_code()


@bp.route("/")
def index():
    """The archived PDFs, the latest first, and the form to produce one."""
    return _index(ProduceForm(day=None))


def _index(form, status=200):
    rows, next_after = archive.listing(params.arg_id("after"))
    return render_template("reports/index.html", rows=rows, next_after=next_after, form=form,
                           today=stats.local_today(), asked=_asked()), status


def _asked() -> dict | None:
    """The document asked for that the page waits for ({kind, day, language, newer_than, report}), read from the
    URL; None when the URL asks for none or for something that is not a document."""
    kind, language = params.arg_choice("kind", REPORT_KINDS), params.arg_choice("language", pdf.LANGUAGES)
    day, newer_than = params.arg_date("day"), params.arg_int("newer_than", minimum=0)
    if None in (kind, language, day, newer_than):
        return None
    return {"kind": kind, "day": day, "language": language, "newer_than": newer_than,
            "report": archive.produced_after(kind, day, language, newer_than)}


@bp.route("/produce", methods=["POST"])
def produce():
    """Produce a document for a past day in the background; the archive page says when it is ready."""
    form = ProduceForm()
    if not form.validate_on_submit():
        return _index(form, 400)
    newer_than = archive.latest_id()
    archive.ask(form.kind.data, form.day.data, form.language.data)
    return redirect(url_for("reports.index", kind=form.kind.data, day=form.day.data.isoformat(),
                            language=form.language.data, newer_than=newer_than), 303)


@bp.route("/produce/status")
def produce_status():
    """The state of the document asked for: polled every two seconds until it is ready."""
    asked = _asked()
    if asked is None:
        abort(404)
    return render("reports/index.html", "reports/_produce_status.html", asked=asked)


@bp.route(f"/{SLUG}/<day>")
def document(slug, day):
    """A document as a page to print from the browser (no navigation: only the sheets)."""
    return pdf.render_html(pdf.SLUGS[slug], _day(day), _language())


@bp.route(f"/{SLUG}/<day>.pdf")
def document_pdf(slug, day):
    """The same document as a PDF, made now from the same figures."""
    kind, when, language = pdf.SLUGS[slug], _day(day), _language()
    content, _pages = pdf.render_pdf(kind, when, language)
    return _pdf_response(content, archive.relative_path(kind, when, language).rpartition("/")[2])


@bp.route("/files/<int:report_id>")
def open_file(report_id):
    """An archived PDF as it was written (checked against its SHA-256)."""
    report = ReportFile.get_or_none(ReportFile.id == report_id) or abort(404)
    try:
        content = archive.read(report)
    except archive.ArchiveError:
        return render_template("errors/error.html", status=409, title=_("This file cannot be opened"),
                               message=_("The archived file is missing or no longer matches what was written. "
                                         "Produce the document again with the form on the archive page.")), 409
    return _pdf_response(content, archive.file_name(report))


def _pdf_response(content: bytes, name: str):
    return downloads.download(content, "pdf", name, inline=True)
