"""The receipt of a request, to print at the desk (80 mm roll or A5) or to send as a PDF."""
from flask import Blueprint, abort, make_response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from intranet.auth import permissions
from intranet.reception import receipts

bp = Blueprint("receipts", __name__)


@bp.before_request
@login_required
def desk_and_supervisors_only():
    """Receipts are handed over at the desk; supervisors and administrators may reprint them."""
    if not permissions.can_print_receipt(current_user):
        abort(403)


def _request_and_layout(tracking_number):
    layout = request.args.get("layout", "80mm")
    if layout not in receipts.LAYOUTS:
        abort(make_response(render_template(
            "errors/error.html", status=400, title=_("Unknown receipt layout"),
            message=_("Choose the 80 mm receipt printer layout (layout=80mm) or the A5 page (layout=a5).")), 400))
    return receipts.find(tracking_number) or abort(404), layout


@bp.route("/requests/<tracking_number>/receipt")
def receipt(tracking_number):
    """The receipt to hand to the citizen, in their language, with a print button."""
    return receipts.render_html(*_request_and_layout(tracking_number))


@bp.route("/requests/<tracking_number>/receipt.pdf")
def receipt_pdf(tracking_number):
    """The same receipt as a PDF, shown in the browser."""
    req, layout = _request_and_layout(tracking_number)
    response = make_response(receipts.render_pdf(req, layout))
    response.content_type = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="receipt-{req.tracking_number}.pdf"'
    return response
