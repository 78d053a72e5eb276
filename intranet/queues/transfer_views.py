"""The transfer of a misrouted request to another department, from the form beside its actions
(templates/queues/_transfer.html); the change is `workflow.transfer`."""
from flask import Blueprint, abort, flash, make_response, redirect, request, url_for
from intranet.i18n import gettext as _
from flask_login import current_user, login_required

from intranet import errors, params, workflow
from intranet.auth import permissions
from intranet.htmx import wants_fragment
from intranet.i18n import localized, ltr
from intranet.queues import services, transfers

bp = Blueprint("transfer", __name__)


@bp.before_request
@login_required
def signed_in_only():
    """Every action here needs a signed-in person; the workflow checks the request itself."""


def _go(url):
    """To `url`: a full page load after an htmx post too (the panel's request may now be out of sight)."""
    if wants_fragment():
        return make_response("", 204, {"HX-Redirect": url})
    return redirect(url, 303)


@bp.route("/requests/<tracking_number>/transfer", methods=["POST"])
def transfer(tracking_number):
    """Send the request to the department chosen, with the reason; a clerk who no longer sees it goes back to
    their queue."""
    req = services.find_request(tracking_number) or abort(404)
    if not permissions.can_view(current_user, req):
        abort(403)
    version = params.arg_id("version", request.form)
    if version is None:
        return errors.answer(400, message=_("The form is incomplete: reload the page and try again."))
    department = transfers.target(req, params.arg_id("department", request.form))
    try:
        outcome = workflow.transfer(current_user, req, version, department, request.form.get("reason", ""))
    except workflow.StaleRequest as stale:
        return errors.answer(409, message=stale.message)
    except workflow.NotAllowed as refused:
        return errors.answer(403, message=refused.message)
    except workflow.WorkflowError as refused:
        return errors.answer(422, message=refused.message)
    flash(_("Request %(number)s was sent to %(department)s.", number=ltr(tracking_number),
            department=localized(department)), "success")
    if permissions.can_view(current_user, outcome.request):
        return _go(url_for("queues.request_page", tracking_number=tracking_number))
    return _go(url_for("queues.index"))
