"""Department queue pages, take-next and reassignment, the request page, actions, attachment downloads."""
from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from intranet.i18n import gettext as _
from intranet.i18n import ngettext
from flask_login import current_user, login_required

from intranet import downloads, errors, files, params, request_substance, workflow
from intranet.auth import permissions
from intranet.htmx import render, wants_fragment
from intranet.i18n import locale_code, ltr
from intranet.models import (
    Attachment,
    Department,
    Staff,
)
from intranet.notify import staff as staff_notices
from intranet.queues import services
from intranet.queues.filters import QueueFilters
from intranet.queues.forms import ActionForm, AssignForm
from intranet.queues.labels import ACTION_LABELS
from intranet.reception import walk_in

bp = Blueprint("queues", __name__)


@bp.before_request
@login_required
def signed_in_only():
    """Every page here needs a signed-in person; each view checks the object itself."""


def _queue_or_abort(department_code):
    department = services.by_code(Department, department_code) or abort(404)
    if not permissions.can_see_queue(current_user, department):
        abort(403)
    return department


@bp.route("/queues/")
def index():
    """A clerk goes to their department's queue; supervisors choose one."""
    if permissions.works_one_queue(current_user):
        return redirect(url_for("queues.queue", department_code=current_user.department.code))
    if not permissions.sees_every_queue(current_user):
        abort(403)
    return render("queues/index.html", departments=Department.select().order_by(Department.id))


def _assign_form(department):
    form = AssignForm(formdata=None)
    form.clerk.choices = [(c.id, c.full_name) for c in services.clerks_of(department)]
    return form


@bp.route("/queues/<department_code>")
def queue(department_code):
    """The department's open requests in tabs, filtered and searched, 25 at a time by key."""
    department, user = _queue_or_abort(department_code), signed_in()
    if permissions.has_queue_badge(user) and user.department_id == department.id \
            and not wants_fragment():
        staff_notices.mark_queue_seen(user)  # the new-items badge counts from this visit
    filters = QueueFilters.from_args(request.args)
    rows, next_after, counts = services.queue_page(department, filters, user, params.arg_id("after"),
                                                   size=current_app.config["QUEUE_PAGE_SIZE"], counts=True)
    return render("queues/queue.html", "queues/_queue_results.html", department=department, rows=rows,
                  next_after=next_after, filters=filters, counts=counts,
                  filter_choices=services.filter_choices_of(department, locale_code()),
                  assign_form=_assign_form(department) if permissions.can_reassign(user) else None,
                  clerk=Staff.get_or_none(Staff.id == params.to_id(filters.clerk)) if filters.clerk else None)


@bp.route("/queues/<department_code>/counts")
def counts(department_code):
    """The tab counts alone, polled while the page is open."""
    department = _queue_or_abort(department_code)
    filters = QueueFilters.from_args(request.args)
    return render("queues/_queue_tabs.html", department_code=department.code, filters=filters,
                  counts=services.tab_counts(department, current_user), tabs_oob=False)


@bp.route("/queue-badge")
def badge():
    """The clerk's new-items count beside the Queues link, polled every minute."""
    if not permissions.has_queue_badge(current_user):
        abort(404)
    return render("queues/_queue_badge.html", count=staff_notices.new_in_queue(current_user))


@bp.route("/queues/<department_code>/take-next", methods=["POST"])
def take_next(department_code):
    """Give me the most urgent unassigned request and open it."""
    department = _queue_or_abort(department_code)
    try:
        outcome = workflow.take_next(current_user, department)
    except workflow.NotAllowed:
        abort(403)
    if outcome is None:
        flash(_("Nothing is waiting to be taken in this queue."), "info")
        return redirect(url_for("queues.queue", department_code=department.code), 303)
    flash(_("Request %(number)s is yours now.", number=ltr(outcome.request.tracking_number)), "success")
    return redirect(url_for("queues.request_page", tracking_number=outcome.request.tracking_number), 303)


@bp.route("/queues/<department_code>/assign", methods=["POST"])
def assign(department_code):
    """Supervisor: give the selected requests to a clerk of the department."""
    department = _queue_or_abort(department_code)
    if not permissions.can_reassign(current_user):
        abort(403)
    form = AssignForm()
    form.clerk.choices = [(c.id, c.full_name) for c in services.clerks_of(department)]
    back = url_for("queues.queue", department_code=department.code, **QueueFilters.from_args(request.args).args())
    if not form.validate_on_submit():
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors), "error")
        return redirect(back, 303)
    clerk = next(c for c in services.clerks_of(department) if c.id == form.clerk.data)
    done = workflow.assign(current_user, form.request_ids.data, clerk)
    flash(ngettext("%(num)d request assigned to %(name)s.", "%(num)d requests assigned to %(name)s.", len(done),
                   name=clerk.full_name), "success")
    return redirect(back, 303)


def signed_in():
    """The person signed in, not flask-login's proxy of them: the rules and queries of a page read their id, role
    and department some dozens of times (intranet/context.py)."""
    return current_user._get_current_object()


def _load_visible(tracking_number):
    req = services.find_request(tracking_number) or abort(404)
    if not permissions.can_view(signed_in(), req):
        abort(403)
    return req


def _correction(req, actions, submitted=False):
    """The correction of the type's fields and documents, inside the action form while it may be resubmitted."""
    return walk_in.correction_form(req, locale_code(), submitted) if "resubmit" in actions else None


def _with_changes(history, request_type, locale):
    """Each resubmission's recorded difference, labelled and typed for the page."""
    names = {doc["code"]: doc.get(f"name_{locale}") or doc["code"] for doc in request_type.document_list()}
    for entry in history:
        info = entry.info
        entry.changes = request_substance.change_rows(request_type, info.get("changes"), locale)
        entry.arrived = [names.get(code, code) for code in info.get("arrived") or []]
    return history


def _panel(req, form=None, error=None, status=200, queue=None, correction=None):
    locale, user = locale_code(), signed_in()
    history = _with_changes(services.history_of(req), req.definition, locale)
    last_return, since_return = services.since_last_return(history)
    queue_department = Department.get_or_none(Department.code == queue) if queue else None
    actions = workflow.allowed_actions(req, user)
    documents, other_attachments = request_substance.documents(
        req, [item for entry in history for item in entry.files], locale)
    return render("queues/request.html", "queues/_request_panel.html", status=status, req=req, history=history,
                  stages=services.stage_names(req), actions=actions,
                  fields=request_substance.field_rows(req.definition, request_substance.data_of(req), locale),
                  documents=documents, other_attachments=other_attachments, origin=request_substance.origin(req),
                  correction=correction or _correction(req, actions),
                  form=form, error=error, last_return=last_return,
                  since_return=since_return, queue_department=queue_department,
                  notifications=staff_notices.timeline_notifications(req),
                  counts=services.tab_counts(queue_department, user) if queue_department else None)


@bp.route("/requests/<tracking_number>")
def request_page(tracking_number):
    """The request: its data, what may be done now, and its full history."""
    return _panel(_load_visible(tracking_number), queue=params.arg_text("queue") or None)


@bp.route("/requests/<tracking_number>/act", methods=["POST"])
def act(tracking_number):
    """Take an action (accept, return, reject, resubmit, comment, claim, release) on the version seen."""
    req = _load_visible(tracking_number)
    form = ActionForm()
    form.missing.choices = [d["code"] for d in req.definition.document_list()]
    queue = form.queue.data or None
    if not form.validate_on_submit():
        return _panel(req, form, _("The form is incomplete: reload the page and try again."), 422, queue)
    correction = _correction(req, workflow.allowed_actions(req, current_user), submitted=True)
    uploads, data = list(form.attachments.data or []), None
    if correction is not None:
        uploads = walk_in.document_uploads(correction) + uploads
        if form.action.data == "resubmit":
            if not correction.validate():
                return _panel(req, form, _("Some fields of the correction are not valid: see below."), 422, queue,
                              correction)
            data = walk_in.corrected_data(correction)
    try:
        workflow.act(current_user, req, form.action.data, form.version.data, form.comment.data,
                     uploads, form.missing.data, data)
    except workflow.StaleRequest as stale:
        return _panel(services.find_request(tracking_number), form, stale.message, 409, queue)
    except workflow.NotAllowed as refused:
        return _panel(req, form, refused.message, 403, queue)
    except workflow.WorkflowError as refused:
        return _panel(req, form, refused.message, 422, queue, correction)
    flash(_("Done: %(action)s.", action=ACTION_LABELS[form.action.data]), "success")
    if form.view.data == "row" and wants_fragment():
        return render("queues/queue.html", "queues/_row_swap.html", row=services.find_request(tracking_number),
                      counts=services.tab_counts(req.department, current_user), department=req.department,
                      filters=QueueFilters.from_args(request.args))
    if not wants_fragment():
        return redirect(url_for("queues.request_page", tracking_number=tracking_number), 303)
    return _panel(services.find_request(tracking_number), queue=queue)


@bp.route("/requests/<tracking_number>/interview", methods=["POST"])
def schedule_interview(tracking_number):
    """Set or move an interview request's interview (templates/queues/_interview.html): `workflow.schedule_interview`
    checks who, when and where; the citizen is told by SMS."""
    req = _load_visible(tracking_number)
    version = params.arg_id("version", request.form)
    if version is None:
        return errors.answer(400, message=_("The form is incomplete: reload the page and try again."))
    try:
        workflow.schedule_interview(current_user, req, version, request.form.get("at", ""),
                                    request.form.get("place", ""), request.form.get("comment", ""))
    except workflow.StaleRequest as stale:
        return errors.answer(409, message=stale.message)
    except workflow.NotAllowed as refused:
        return errors.answer(403, message=refused.message)
    except workflow.WorkflowError as refused:
        return errors.answer(422, message=refused.message)
    flash(_("The interview is set: the citizen is told by SMS."), "success")
    if not wants_fragment():
        return redirect(url_for("queues.request_page", tracking_number=tracking_number), 303)
    return _panel(services.find_request(tracking_number), queue=request.form.get("queue") or None)


@bp.route("/attachments/<int:attachment_id>")
def attachment(attachment_id):
    """Download an attachment of a request the person may see."""
    item = Attachment.get_or_none(Attachment.id == attachment_id) or abort(404)
    if not permissions.can_view(current_user, item.request):
        abort(403)
    return downloads.download_path(files.path_of(item.stored_name), item.content_type, item.original_name)
