"""Department queue pages, the request page, actions on a request, attachment downloads."""
from flask import Blueprint, abort, current_app, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from intranet import files, workflow
from intranet.auth import permissions
from intranet.htmx import render, wants_fragment
from intranet.models import Attachment, Department, RequestType
from intranet.queues import services
from intranet.queues.forms import ActionForm
from intranet.queues.labels import ACTION_LABELS

bp = Blueprint("queues", __name__)


@bp.before_request
@login_required
def signed_in_only():
    """Every page here needs a signed-in person; each view checks the object itself."""


@bp.route("/queues/")
def index():
    """A clerk goes to their department's queue; supervisors choose one."""
    if current_user.role == "clerk":
        return redirect(url_for("queues.queue", department_code=current_user.department.code))
    if current_user.role not in ("supervisor", "admin"):
        abort(403)
    departments = Department.select().order_by(Department.id)
    return render("queues/index.html", departments=departments)


@bp.route("/queues/<department_code>")
def queue(department_code):
    """The department's open requests, most urgent first, 25 at a time."""
    department = Department.get_or_none(Department.code == department_code) or abort(404)
    if not permissions.can_see_queue(current_user, department):
        abort(403)
    type_code = request.args.get("type") or None
    request_type = RequestType.get_or_none(RequestType.code == type_code) if type_code else None
    rows, next_after = services.queue_page(department, request_type, request.args.get("after", type=int),
                                           size=current_app.config["QUEUE_PAGE_SIZE"])
    return render("queues/queue.html", "queues/_queue_table.html", department=department, rows=rows,
                  next_after=next_after, request_type=request_type, type_code=type_code,
                  request_types=RequestType.select().order_by(RequestType.id))


def _load_visible(tracking_number):
    req = services.find_request(tracking_number) or abort(404)
    if not permissions.can_view(current_user, req):
        abort(403)
    return req


def _panel(req, form=None, error=None, status=200):
    return render("queues/request.html", "queues/_request_panel.html", status=status, req=req,
                  history=services.history_of(req), stages=services.stage_names(req),
                  actions=workflow.allowed_actions(req, current_user), form=form or ActionForm(formdata=None),
                  error=error)


@bp.route("/requests/<tracking_number>")
def request_page(tracking_number):
    """The request: its data, what may be done now, and its full history."""
    return _panel(_load_visible(tracking_number))


@bp.route("/requests/<tracking_number>/act", methods=["POST"])
def act(tracking_number):
    """Take an action (accept, return, reject, resubmit, comment, claim, release) on the version seen."""
    req = _load_visible(tracking_number)
    form = ActionForm()
    if not form.validate_on_submit():
        return _panel(req, form, _("The form is incomplete: reload the page and try again."), 422)
    try:
        outcome = workflow.act(current_user, req, form.action.data, form.version.data,
                               form.comment.data, form.attachments.data)
    except workflow.StaleRequest as stale:
        return _panel(services.find_request(tracking_number), form, stale.message, 409)
    except workflow.NotAllowed as refused:
        return _panel(req, form, refused.message, 403)
    except workflow.WorkflowError as refused:
        return _panel(req, form, refused.message, 422)
    flash(_("Done: %(action)s.", action=ACTION_LABELS[form.action.data]), "success")
    if form.view.data == "row" and wants_fragment():
        return render("queues/queue.html", "queues/_row_swap.html", row=services.find_request(tracking_number))
    if not wants_fragment():
        return redirect(url_for("queues.request_page", tracking_number=tracking_number), 303)
    return _panel(services.find_request(outcome.request.tracking_number))


@bp.route("/attachments/<int:attachment_id>")
def attachment(attachment_id):
    """Download an attachment of a request the person may see."""
    item = Attachment.get_or_none(Attachment.id == attachment_id) or abort(404)
    if not permissions.can_view(current_user, item.request):
        abort(403)
    return send_file(files.path_of(item.stored_name), mimetype=item.content_type, as_attachment=True,
                     download_name=item.original_name)
