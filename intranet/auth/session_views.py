"""Sign-in sessions: a person's own (and "sign out everywhere"), and the administrators' page of everyone's live
sessions, ending them, resetting a person's sign-in codes (intranet/auth/mfa.py), and the security events (lockouts
after wrong passwords, sessions ended, sign-in codes set up, used and reset)."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from intranet.i18n import gettext as _
from flask_login import current_user, login_required

from intranet import params
from intranet.auth import mfa, permissions, sessions
from intranet.models import Staff

bp = Blueprint("session", __name__)

PAGE_SIZE = 25




@bp.route("/account/sessions")
@login_required
def mine():
    """The person's own live sessions, with "sign out everywhere"."""
    rows, next_after = sessions.live_sessions(current_user.id, params.arg_text("after"), PAGE_SIZE)
    return render_template("auth/sessions_mine.html", rows=rows, next_after=next_after)


@bp.route("/account/sessions/end-all", methods=["POST"])
@login_required
def end_mine():
    """Sign out on every device, this one included."""
    sessions.end_everywhere(current_user._get_current_object())
    sessions.finish("everywhere")
    flash(_("You are signed out on every device."), "success")
    return redirect(url_for("auth.login"), 303)


def _administrators_only():
    if not permissions.can_manage_sessions(current_user):
        abort(403)


@bp.route("/admin/sessions/")
@login_required
def overview():
    """Who has live sessions (by person, a page at a time), a user name to look up, and the security events."""
    _administrators_only()
    username = params.arg_text("username", max_length=100)
    if username:
        person = Staff.get_or_none(Staff.username == username)
        if person is not None:
            return redirect(url_for("session.person", staff_id=person.id))
        flash(_("No member of staff has signed in with this user name."), "error")
    people, next_after = sessions.people_with_sessions(params.arg_id("after"), PAGE_SIZE)
    events, next_before = sessions.security_events(params.arg_id("events_before"), PAGE_SIZE)
    return render_template("auth/sessions_admin.html", people=people, next_after=next_after, events=events,
                           next_before=next_before, username=username)


@bp.route("/admin/sessions/<int:staff_id>")
@login_required
def person(staff_id):
    """One person's live sessions, each with a button that ends it, and one that ends them all."""
    _administrators_only()
    staff = Staff.get_or_none(Staff.id == staff_id) or abort(404)
    rows, next_after = sessions.live_sessions(staff.id, params.arg_text("after"), PAGE_SIZE)
    return render_template("auth/sessions_person.html", staff=staff, rows=rows, next_after=next_after,
                           factor=mfa.status(staff))


@bp.route("/admin/sessions/<int:staff_id>/second-factor/reset", methods=["POST"])
@login_required
def reset_second_factor(staff_id):
    """Remove the person's sign-in codes (a lost phone): their sessions end and their next sign-in enrols anew."""
    _administrators_only()
    staff = Staff.get_or_none(Staff.id == staff_id) or abort(404)
    if mfa.reset(staff, current_user._get_current_object()):
        flash(_("The sign-in codes of %(name)s are reset: they set them up again at their next sign-in.",
                name=staff.full_name), "success")
    else:
        flash(_("This person has no sign-in codes to reset."), "error")
    return redirect(url_for("session.person", staff_id=staff.id), 303)


@bp.route("/admin/sessions/<int:staff_id>/end", methods=["POST"])
@login_required
def end(staff_id):
    """End one session of the person (`session`) or all of them (`all`)."""
    _administrators_only()
    staff = Staff.get_or_none(Staff.id == staff_id) or abort(404)
    if request.form.get("all"):
        count = sessions.end_everywhere(staff, actor=current_user._get_current_object())
        flash(_("Sessions ended: %(n)d.", n=count), "success")
    elif sessions.end_one(staff, params.arg_text("session", max_length=64, source=request.form),
                          current_user._get_current_object()):
        flash(_("The session is ended."), "success")
    else:
        flash(_("This session had already ended."), "error")
    return redirect(url_for("session.person", staff_id=staff.id), 303)
