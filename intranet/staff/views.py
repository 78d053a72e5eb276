"""The staff page (issue 18): who is who, their load, absences and delegations; one person's page with their
absences (marked by themselves, their supervisor or an administrator), handing their open items over in one action,
and the directory sync's last run with the administrators' "sync now"."""
from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from intranet.i18n import gettext as _
from intranet.i18n import ngettext
from flask_login import current_user, login_required

from intranet import params, workflow
from intranet.auth import permissions
from intranet.htmx import render
from intranet.models import Staff
from intranet.staff import absence, queries, sync

bp = Blueprint("staff", __name__)


@bp.before_request
@login_required
def signed_in_only():
    """Every page here needs a signed-in person; each view checks whom it shows."""


@bp.route("/staff/")
def index():
    """Everyone the person may see, by id a page at a time; the directory sync's last run."""
    if not permissions.can_see_staff(current_user):
        return redirect(url_for("staff.person", staff_id=current_user.id))
    departments = queries.departments_for(current_user)
    department = params.arg_id("department")
    department = department if any(d.id == department for d in departments) else None
    everyone = params.arg_text("show", max_length=10) == "all"
    rows, next_after = queries.staff_page(current_user, params.arg_id("after"), department,
                                          current_app.config["QUEUE_PAGE_SIZE"], active_only=not everyone)
    return render("staff/index.html", rows=rows, next_after=next_after, departments=departments,
                  department=department, everyone=everyone, last_sync=sync.latest(),
                  expiring_days=queries.EXPIRING_DAYS)


@bp.route("/staff/me")
def mine():
    return redirect(url_for("staff.person", staff_id=current_user.id))


def _person_or_abort(staff_id):
    staff = queries.visible_person(current_user, staff_id)
    if staff is None:
        abort(404 if Staff.get_or_none(Staff.id == staff_id) is None else 403)
    return staff


@bp.route("/staff/<int:staff_id>")
def person(staff_id):
    staff = _person_or_abort(staff_id)
    colleagues = queries.colleagues_for(staff) if permissions.can_hand_over_work(current_user, staff) else []
    return render("staff/person.html", staff=staff, colleagues=colleagues, expiring=queries.expiring,
                  **queries.person(staff))


def _back(staff):
    return redirect(url_for("staff.person", staff_id=staff.id), 303)


@bp.route("/staff/<int:staff_id>/absences", methods=["POST"])
def mark_absence(staff_id):
    staff = _person_or_abort(staff_id)
    if not permissions.can_mark_absence(current_user, staff):
        abort(403)
    try:
        absence.mark(current_user, staff, request.form.get("starts_on"), request.form.get("ends_on"),
                     params.to_text(request.form.get("reason"), max_length=2000))
    except absence.AbsenceRefused as refused:
        flash(str(refused.message), "error")
        return _back(staff)
    flash(_("The absence of %(name)s is recorded: take-next and assignment skip them on those days.",
            name=staff.full_name), "success")
    return _back(staff)


@bp.route("/staff/<int:staff_id>/absences/<int:absence_id>/cancel", methods=["POST"])
def cancel_absence(staff_id, absence_id):
    staff = _person_or_abort(staff_id)
    if not permissions.can_mark_absence(current_user, staff):
        abort(403)
    try:
        absence.cancel(current_user, staff, absence_id)
    except absence.AbsenceRefused as refused:
        flash(str(refused.message), "error")
        return _back(staff)
    flash(_("The absence is cancelled."), "success")
    return _back(staff)


@bp.route("/staff/<int:staff_id>/hand-over", methods=["POST"])
def hand_over(staff_id):
    """All the person's open items to their queue (no colleague chosen) or to the colleague chosen."""
    staff = _person_or_abort(staff_id)
    if not permissions.can_hand_over_work(current_user, staff):
        abort(403)
    to = None
    if (chosen := request.form.get("to")):
        to = next((c for c in queries.colleagues_for(staff) if c.id == params.to_id(chosen)), None)
        if to is None:
            flash(_("Choose an active clerk."), "error")
            return _back(staff)
    try:
        done = workflow.hand_over(current_user, staff, to, params.to_text(request.form.get("comment"),
                                                                        max_length=1000))
    except workflow.WorkflowError as refused:
        flash(str(refused.message), "error")
        return _back(staff)
    released, assigned = len(done["released"]), len(done["assigned"])
    if not released + assigned:
        flash(_("%(name)s holds no open item.", name=staff.full_name), "info")
    if assigned:
        flash(ngettext("%(num)d item handed to %(name)s.", "%(num)d items handed to %(name)s.", assigned,
                       name=to.full_name), "success")
    if released:
        flash(ngettext("%(num)d item back in its queue.", "%(num)d items back in their queues.", released),
              "success")
    return _back(staff)


@bp.route("/staff/sync", methods=["POST"])
def sync_now():
    """An administrator runs the directory sync now; the page says what it changed, or why it changed nothing."""
    if not permissions.can_sync_directory(current_user):
        abort(403)
    run = sync.run(current_user._get_current_object())
    if run.failed:
        flash(_("The directory did not answer: nothing was changed. %(error)s", error=run.error), "error")
    else:
        flash(ngettext("The directory is read: %(num)d change applied.", "The directory is read: %(num)d changes "
                       "applied.", run.changes), "success")
    return redirect(url_for("staff.index"), 303)
