"""The head's home: the requests awaiting their approval, across departments (intranet/queues/approvals.py)."""
from flask import Blueprint, abort, current_app
from flask_login import current_user, login_required

from intranet import params
from intranet.auth import permissions
from intranet.htmx import render
from intranet.queues import approvals

bp = Blueprint("approval", __name__)


@bp.route("/approvals/")
@login_required
def index():
    """Open requests at the stages that require the person's role, most urgent first, 25 at a time by key."""
    if not permissions.has_approval_list(current_user):
        abort(403)
    role = permissions.approval_role(current_user)  # the head's own, or theirs under a delegation (issue 18)
    rows, next_after = approvals.awaiting(role, params.arg_id("after"), size=current_app.config["QUEUE_PAGE_SIZE"])
    return render("queues/approvals.html", rows=rows, next_after=next_after, total=approvals.count_awaiting(role))
