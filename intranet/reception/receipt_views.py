"""The receipt of a request, to print at the desk (80 mm roll or A5) or to send as a PDF."""
from flask import Blueprint, abort
from intranet.i18n import gettext as _

from intranet import downloads, errors, params
from intranet.auth import guard, permissions
from intranet.reception import receipts

bp = Blueprint("receipt", __name__)


# Receipts are handed over at the desk; supervisors and administrators may reprint them.
guard.only(bp, permissions.can_print_receipt)


def _request_and_layout(tracking_number):
    layout = params.arg_text("layout", "80mm")
    if layout not in receipts.LAYOUTS:
        abort(errors.answer(400, _("Unknown receipt layout"),
                            _("Choose the 80 mm receipt printer layout (layout=80mm) or the A5 page (layout=a5).")))
    return receipts.find(tracking_number) or abort(404), layout


@bp.route("/requests/<tracking_number>/receipt")
def receipt(tracking_number):
    """The receipt to hand to the citizen, in their language, with a print button."""
    return receipts.render_html(*_request_and_layout(tracking_number))


@bp.route("/requests/<tracking_number>/receipt.pdf")
def receipt_pdf(tracking_number):
    """The same receipt as a PDF, shown in the browser."""
    req, layout = _request_and_layout(tracking_number)
    return downloads.download(receipts.render_pdf(req, layout), "pdf", f"receipt-{req.tracking_number}.pdf",
                              inline=True)
