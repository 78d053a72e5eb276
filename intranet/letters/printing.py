"""The printed letter to a ministry: the institution's head (the printed documents' own), the outgoing reference and
date, the addressee, the subject, the text and the signature block, as a PDF in Arabic or English made by the
printed documents' machinery (intranet/reports/pdf.py)."""
from flask import render_template
from flask_babel import force_locale

from intranet.reports import pdf
from intranet.stats.figures import local_today

LANGUAGES = pdf.LANGUAGES


def render_html(letter, language: str) -> str:
    with force_locale(language):
        return render_template("letters/letter.html", letter=letter, language=language, pdf=True,
                               day=letter.sent_on or local_today(), page_counter=pdf.page_counter())


def render_pdf(letter, language: str) -> bytes:
    """The letter as a PDF in `language` (ar or en)."""
    body, _pages = pdf.html_to_pdf(render_html(letter, language))
    return body


def filename(letter, language: str) -> str:
    number = (letter.reference or f"draft-{letter.id}").replace("/", "-")
    return f"letter-{number}-{language}.pdf"
