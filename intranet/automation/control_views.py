"""The supervisors' automation controls (issue 17): per request type its rule in force, the pause switch (effective at
once), the spending ceilings with the money committed this day and month; and the exceptions list (citizens or
types never decided automatically). Every change is a POST that comes back to the page."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from intranet.i18n import gettext as _
from flask_login import current_user

from intranet import params
from intranet.i18n import localized
from intranet.auth import guard, permissions
from intranet.automation import controls
from intranet.models import RequestType

bp = Blueprint("control", __name__)


# Supervisors only: they answer for what automation decides and spends.
guard.only(bp, permissions.can_control_automation)


def _type(type_id):
    return RequestType.get_or_none(RequestType.id == type_id) or abort(404)


def _back(anchor=""):
    return redirect(url_for("control.index") + anchor)


@bp.route("/automation/controls")
def index():
    exceptions, next_after = controls.exceptions_page(params.arg_id("after"))
    return render_template("automation/controls.html", types=controls.overview(), exceptions=exceptions,
                           next_after=next_after)


@bp.route("/automation/controls/<int:type_id>/pause", methods=["POST"])
def pause(type_id):
    request_type = _type(type_id)
    if request.form.get("action") == "resume":
        controls.resume(current_user, request_type)
        flash(_("Automation resumed for %(type)s.", type=localized(request_type)), "success")
    else:
        controls.pause(current_user, request_type)
        flash(_("Automation paused for %(type)s: its requests go to people from now on.",
                type=localized(request_type)), "success")
    return _back(f"#type-{type_id}")


@bp.route("/automation/controls/<int:type_id>/ceiling", methods=["POST"])
def ceiling(type_id):
    request_type = _type(type_id)
    try:
        controls.set_ceiling(current_user, request_type, request.form.get("per_day", "").strip(),
                             request.form.get("per_month", "").strip())
    except controls.ControlRefused as refused:
        flash(str(refused.args[0]), "error")
    else:
        flash(_("Ceilings saved for %(type)s.", type=localized(request_type)), "success")
    return _back(f"#type-{type_id}")


@bp.route("/automation/exceptions", methods=["POST"])
def add_exception():
    national_id = request.form.get("national_id", "").strip()
    type_id = params.to_id(request.form.get("request_type"))
    citizen = controls.citizen_by_national_id(national_id) if national_id else None
    if national_id and citizen is None:
        flash(_("No citizen has this national ID."), "error")
        return _back("#exceptions")
    request_type = RequestType.get_or_none(RequestType.id == type_id) if type_id and not national_id else None
    try:
        controls.add_exception(current_user, request.form.get("reason", ""), citizen=citizen,
                               request_type=request_type)
    except controls.ControlRefused as refused:
        flash(str(refused.args[0]), "error")
    else:
        flash(_("Added to the exceptions list."), "success")
    return _back("#exceptions")


@bp.route("/automation/exceptions/<int:exception_id>/remove", methods=["POST"])
def remove_exception(exception_id):
    if controls.remove_exception(current_user, exception_id):
        flash(_("Removed from the exceptions list."), "success")
    return _back("#exceptions")

