"""Automatic decisions on the request page (issue 17): a supervisor confirms or reverses a sampled decision (the
form is in templates/queues/_automation.html)."""
from flask import Blueprint, abort, flash, redirect, request, url_for
from intranet.i18n import gettext as _
from flask_login import current_user, login_required

from intranet.auth import permissions
from intranet.automation import review
from intranet.models.automation import AutoDecision

bp = Blueprint("automation", __name__)


@bp.before_request
@login_required
def signed_in_only():
    """Every page here needs a signed-in person; each view checks the permission itself."""


@bp.route("/automation/decisions/<int:decision_id>/review", methods=["POST"])
def review_decision(decision_id):
    """Confirm or reverse a sampled automatic decision, then back to its request."""
    if not permissions.can_review_automation(current_user):
        abort(403)
    decision = AutoDecision.get_or_none(AutoDecision.id == decision_id) or abort(404)
    outcome = request.form.get("outcome", "")
    try:
        review.review(current_user, decision.id, outcome, request.form.get("reason", ""))
    except review.ReviewRefused as refused:
        flash(str(refused.args[0]), "error")
    else:
        flash(_("The automatic decision is confirmed.") if outcome == "confirmed"
              else _("The automatic decision is reversed: the request is open again."), "success")
    return redirect(url_for("queues.request_page", tracking_number=decision.request.tracking_number) + "#automation")
