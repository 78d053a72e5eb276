"""The printed beneficiary card: one ID-1 page (85.60 x 53.98 mm, the size of a bank card) in Arabic and English at
once, with the card token as a QR code (segno) and a Code 128 barcode (python-barcode's encoder, drawn here as
inline SVG), and the token's digits under it for a person to read. Made by WeasyPrint as the receipts are, from
static/css/card.css, with nothing fetched from outside."""
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import segno
from barcode import Code128
from flask import current_app, render_template
from flask_babel import force_locale
from intranet.i18n import gettext as _
from markupsafe import Markup

from intranet.cards import tokens
from intranet.config import setting

LANGUAGES = ("ar", "en")


def qr_code(token: str) -> Markup:
    """The token as an inline SVG QR code (numeric mode, error correction M), sized by card.css."""
    return Markup(segno.make(token, error="m", micro=False).svg_inline(omitsize=True, svgclass="card-qr"))


def code128(token: str) -> Markup:
    """The token as an inline SVG Code 128 barcode: one unit per module, bars drawn as rectangles over the runs of
    dark modules, stretched to the width card.css gives it (the quiet zones are the card's margins)."""
    modules = Code128(token).build()[0]
    bars, start = [], None
    for position, module in enumerate(modules + "0"):
        if module == "1" and start is None:
            start = position
        elif module != "1" and start is not None:
            bars.append(f'<rect x="{start}" y="0" width="{position - start}" height="1"/>')
            start = None
    return Markup(f'<svg class="card-barcode" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {len(modules)} 1" '
                  f'preserveAspectRatio="none" aria-hidden="true">{"".join(bars)}</svg>')


def _labels(language: str) -> dict:
    with force_locale(language):
        return {"institution": _("Diwan"), "title": _("Beneficiary card"), "serial": _("Card number"),
                "issued": _("Issued on"), "note": _("Show this card at the reception desk or scan it at the kiosk.")}


def render_html(card) -> str:
    token = tokens.make(card)
    issued_on = card.issued_at.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo(setting("TIMEZONE"))).date()
    return render_template("cards/card.html", card=card, citizen=card.citizen, token=tokens.grouped(token),
                           issued_on=issued_on.isoformat(),
                           qr=qr_code(token), barcode=code128(token),
                           ar=_labels("ar"), en=_labels("en"))


def render_pdf(card) -> bytes:
    # imported here: WeasyPrint loads Pango and the fonts, which only the printed documents need
    from weasyprint import CSS, HTML
    from weasyprint.urls import URLFetcher

    source = HTML(string=render_html(card), url_fetcher=URLFetcher(allowed_protocols=()))
    return source.write_pdf(stylesheets=[CSS(filename=str(Path(current_app.static_folder) / "css" / "card.css"))])


def filename(card) -> str:
    return f"card-{card.citizen_id}-{card.serial}.pdf"
