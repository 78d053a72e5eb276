"""The delegations page (issue 18): those a person holds and those they gave, a page at a time by key; the grant
form for supervisors, the head and administrators; revoking with a reason. Who may is asked of
`auth/permissions.py` on every route; the rules and the records are `auth/delegations.py`."""
from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from intranet.i18n import gettext as _
from flask_login import current_user, login_required

from intranet import params
from intranet.auth import delegations, permissions
from intranet.htmx import render

bp = Blueprint("delegation", __name__, url_prefix="/delegations")


@bp.before_request
@login_required
def signed_in_only():
    """The list is everyone's (what they hold); granting and revoking are checked route by route."""


def _lists():
    if permissions.sees_every_delegation(current_user):
        return delegations.LISTS
    if permissions.can_manage_delegations(current_user):
        return ("received", "given")
    return ("received",)


@bp.get("/")
def index():
    lists = _lists()
    which = params.arg_choice("list", lists, lists[-1] if len(lists) > 1 else lists[0])
    rows, next_after = delegations.listing(current_user, which, params.arg_id("after"),
                                           size=current_app.config["QUEUE_PAGE_SIZE"])
    return render("delegations/index.html", rows=rows, next_after=next_after, which=which, lists=lists,
                  today=delegations.local_today())


def _form(asked=None, error=None, status=200):
    return render("delegations/new.html", status=status, asked=asked, error=error,
                  grantors=delegations.grantors_to_choose(current_user),
                  delegates=delegations.delegates_to_choose(current_user), stages=delegations.stages_to_choose(),
                  departments=delegations.departments_to_choose(), form=request.form)


@bp.get("/new")
def new():
    if not permissions.can_manage_delegations(current_user):
        abort(403)
    return _form()


@bp.post("/new")
def create():
    if not permissions.can_manage_delegations(current_user):
        abort(403)
    asked = delegations.asked_from(current_user, request.form)
    try:
        made = delegations.grant(current_user, asked)
    except delegations.DelegationRefused as refused:
        return _form(asked, refused.message, 422)
    flash(_("Delegation %(number)s granted to %(name)s.", number=made.id, name=asked.delegate.full_name), "success")
    return redirect(url_for("delegation.index", list="given"), 303)


@bp.post("/<int:delegation_id>/revoke")
def revoke(delegation_id):
    delegation = delegations.find(delegation_id) or abort(404)
    if not permissions.can_revoke_delegation(current_user, delegation):
        abort(403)
    try:
        delegations.revoke(current_user, delegation, request.form.get("reason", ""))
    except delegations.DelegationRefused as refused:
        flash(refused.message, "error")
    else:
        flash(_("Delegation %(number)s revoked.", number=delegation.id), "success")
    return redirect(url_for("delegation.index"), 303)
