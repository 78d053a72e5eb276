"""The receipt a citizen takes home: built in the citizen's language, printed from the browser or as a PDF."""
import json
from dataclasses import dataclass
from pathlib import Path

import peewee as pw
import segno
from flask import current_app, render_template
from flask_babel import force_locale
from markupsafe import Markup

from intranet.models import Citizen, Request, RequestType, Staff

LAYOUTS = ("80mm", "a5")
# a receipt roll has no page height: lay the receipt out on a long strip, then cut the page where it ends
ROLL_STRIP = "@page receipt-roll { size: 80mm 1000mm !important; }"
ROLL_PAGE = "@page receipt-roll {{ size: 80mm {height:.2f}px !important; }}"
ROLL_BOTTOM_MARGIN_PX = 16  # the 4 mm bottom margin of the roll page in receipt.css, in CSS pixels
END_ANCHOR = "receipt-end"


@dataclass(frozen=True)
class Receipt:
    """What the receipt shows, already in the citizen's language where the data has two."""

    req: Request
    language: str
    request_type_name: str
    documents: list[str]
    facilitator: str | None
    qr_svg: Markup


def find(tracking_number: str) -> Request | None:
    """The request with its citizen, type and the member of staff who entered it."""
    Facilitator = Staff.alias()
    return (Request.select(Request, Citizen, RequestType, Facilitator)
            .join_from(Request, Citizen).join_from(Request, RequestType)
            .join_from(Request, Facilitator, on=(Request.entered_by == Facilitator.id), join_type=pw.JOIN.LEFT_OUTER,
                       attr="entered_by")
            .where(Request.tracking_number == tracking_number.strip()).first())


def documents_received(req: Request, language: str) -> list[str]:
    """Names of the documents the desk received (codes stored at intake), in `language`; unknown codes as they are."""
    codes = json.loads(req.data or "{}").get("documents_received") or []
    names = {doc["code"]: doc.get(f"name_{language}") or doc["code"] for doc in req.definition.document_list()}
    return [names.get(code, code) for code in codes]


def qr_code(text: str) -> Markup:
    """An inline SVG QR code without a size of its own: receipt.css sizes it for the paper (WeasyPrint lets the
    svg's width and height attributes win over CSS)."""
    return Markup(segno.make(text, micro=False).svg_inline(omitsize=True, svgclass="qr-code"))


def build(req: Request) -> Receipt:
    language = req.citizen.preferred_language if req.citizen.preferred_language in ("ar", "en") else "ar"
    return Receipt(req=req, language=language, request_type_name=req.request_type.name(language),
                   documents=documents_received(req, language),
                   facilitator=req.entered_by.full_name if req.entered_by_id else None,
                   qr_svg=qr_code(req.tracking_number))


def render_html(req: Request, layout: str, pdf: bool = False) -> str:
    """The receipt page in the citizen's language, whoever prints it."""
    receipt = build(req)
    with force_locale(receipt.language):
        return render_template("receipts/receipt.html", receipt=receipt, req=req, layout=layout, pdf=pdf)


def render_pdf(req: Request, layout: str) -> bytes:
    """The receipt as a PDF: A5, or an 80 mm roll page exactly as long as the receipt."""
    # imported here: WeasyPrint loads Pango and the fonts, which only this needs (not the workers, not the CLI)
    from weasyprint import CSS, HTML
    from weasyprint.urls import URLFetcher

    # the receipt needs nothing from outside: its stylesheet is read from disk and its QR code is inline
    source = HTML(string=render_html(req, layout, pdf=True), url_fetcher=URLFetcher(allowed_protocols=()))
    stylesheet = CSS(filename=str(Path(current_app.static_folder) / "css" / "receipt.css"))
    if layout != "80mm":
        return source.write_pdf(stylesheets=[stylesheet])
    strip = source.render(stylesheets=[stylesheet, CSS(string=ROLL_STRIP)])
    if len(strip.pages) > 1:  # longer than the strip (never seen): print it as it is
        return strip.write_pdf()
    end = strip.pages[0].anchors[END_ANCHOR][1] + ROLL_BOTTOM_MARGIN_PX
    return source.render(stylesheets=[stylesheet, CSS(string=ROLL_PAGE.format(height=end))]).write_pdf()
