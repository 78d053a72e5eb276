"""A document as HTML (to print from the browser) and as a PDF (WeasyPrint), in Arabic or English."""
import datetime as dt
import re
from pathlib import Path

from flask import current_app, render_template
from flask_babel import force_locale
from intranet.i18n import gettext as _
from intranet.i18n import ngettext
from markupsafe import Markup

from intranet import chain
from intranet.reports import past_state, statements, summary

LANGUAGES = ("ar", "en")
TEMPLATES = {"daily_summary": "reports/daily.html", "alert_statement": "reports/alert.html",
             "execution_statement": "reports/execution.html"}
SLUGS = {"daily": "daily_summary", "alert": "alert_statement", "execution": "execution_statement"}  # in URLs
KIND_SLUGS = {kind: slug for slug, kind in SLUGS.items()}


def build(kind: str, day: dt.date):
    """The document's figures (the same in every language)."""
    return summary.build(day) if kind == "daily_summary" else statements.build(kind, day)


def render_html(kind: str, day: dt.date, language: str, pdf: bool = False, doc=None) -> str:
    """The document's page in `language`, whoever reads it; `pdf`: for WeasyPrint (the stylesheet given apart)."""
    doc = doc if doc is not None else build(kind, day)
    with force_locale(language):
        return render_template(TEMPLATES[kind], doc=doc, kind=kind, slug=KIND_SLUGS[kind], day=day,
                               language=language, pdf=pdf, type_names=past_state.type_names(language),
                               page_counter=page_counter(), wait_text=wait_text,
                               audit_anchor=chain.printed() if kind == "daily_summary" else None)


def css_string(text: str) -> Markup:
    """`text` as a quoted CSS string (for the margin boxes' content)."""
    escaped = "".join(ch if ch.isalnum() or ch in " .,:;·-/()،" or ord(ch) > 127 else f"\\{ord(ch):x} "
                      for ch in str(text))
    return Markup(f'"{escaped}"')


def page_counter() -> Markup:
    """'Page X of Y' in the reader's language as CSS content, the numbers being the page counters."""
    text = _("Page %(page)s of %(pages)s", page="\x01", pages="\x02")
    parts = []
    for piece in re.split("(\x01|\x02)", text):
        if piece == "\x01":
            parts.append("counter(page)")
        elif piece == "\x02":
            parts.append("counter(pages)")
        elif piece:
            parts.append(css_string(piece))
    return Markup(" ".join(parts))


def wait_text(delta) -> str:
    """An average waiting time in whole minutes, or a dash when nobody waited."""
    if delta is None:
        return "—"
    minutes = round(delta.total_seconds() / 60)
    return ngettext("%(num)d minute", "%(num)d minutes", minutes)


def stylesheet_path() -> Path:
    return Path(current_app.static_folder) / "css" / "report.css"


def render_pdf(kind: str, day: dt.date, language: str, doc=None) -> tuple[bytes, int]:
    """(the PDF, its number of pages)."""
    return html_to_pdf(render_html(kind, day, language, pdf=True, doc=doc))


def html_to_pdf(html: str) -> tuple[bytes, int]:
    """A printed document's page (rendered with `pdf=True`) as (the PDF, its number of pages), with report.css:
    the summaries, the statements and the letters to ministries are made here."""
    # imported here: WeasyPrint loads Pango and the fonts, which only the documents need
    from weasyprint import CSS, HTML
    from weasyprint.urls import URLFetcher

    # nothing from outside: the stylesheet is read from disk, the page has no images
    source = HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=()))
    document = source.render(stylesheets=[CSS(filename=str(stylesheet_path()))])
    return document.write_pdf(), len(document.pages)
