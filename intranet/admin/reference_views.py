"""The reference data pages (issue 20), administrators only on every route: departments, governorates and inquiry
subjects listed, added, edited and deleted (what is still used is refused, saying by what), and the banks' file
layouts shown as configured. A refusal is shown beside its field and nothing is saved."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from intranet.admin import reference as service
from intranet.auth import permissions
from intranet.i18n import localized
from intranet.payouts.bank_profiles import FIELDS as BANK_FIELDS

bp = Blueprint("reference", __name__, url_prefix="/admin/reference")


@bp.before_request
@login_required
def administrators_only():
    if not permissions.can_edit_reference_data(current_user):
        abort(403)


def _kind_or_404(kind: str) -> service.Kind:
    return service.KINDS.get(kind) or abort(404)


@bp.get("/")
def index():
    return render_template("admin/reference.html", kinds=service.KINDS.values(),
                           profiles=service.bank_profile_list(), bank_fields=BANK_FIELDS)


def _list_page(kind, errors=None, typed=None, status=200):
    rows, next_key = service.page(kind, request.args.get("after"))
    return render_template("admin/reference_list.html", kind=kind, rows=rows, next_key=next_key,
                           errors=errors or {}, typed=typed or {"active": "1"}, departments=service.departments(),
                           ), status


@bp.get("/<kind>/")
def rows(kind):
    return _list_page(_kind_or_404(kind))


@bp.post("/<kind>/")
def create(kind):
    kind = _kind_or_404(kind)
    try:
        row = service.create(current_user, kind, request.form)
    except service.Refused as refused:
        return _list_page(kind, refused.errors, request.form, 422)
    flash(_("%(name)s was added.", name=localized(row)), "success")
    return redirect(url_for("reference.rows", kind=kind.code), 303)


def _row_or_404(kind, row_id):
    return service.row_or_none(kind, row_id) or abort(404)


def _edit_page(kind, row, errors=None, typed=None, status=200):
    if typed is None:
        typed = service.as_dict(kind, row)
        typed["department"] = getattr(row, "department_id", None)
        typed["active"] = "1" if getattr(row, "active", False) else ""
    return render_template("admin/reference_edit.html", kind=kind, row=row, errors=errors or {}, typed=typed,
                           departments=service.departments()), status


@bp.route("/<kind>/<int:row_id>", methods=["GET", "POST"])
def edit(kind, row_id):
    kind = _kind_or_404(kind)
    row = _row_or_404(kind, row_id)
    if request.method != "POST":
        return _edit_page(kind, row)
    try:
        saved = service.update(current_user, kind, row, request.form)
    except service.Refused as refused:
        return _edit_page(kind, row, refused.errors, request.form, 422)
    flash(_("%(name)s was saved.", name=localized(saved)), "success")
    return redirect(url_for("reference.rows", kind=kind.code), 303)


@bp.post("/<kind>/<int:row_id>/delete")
def delete(kind, row_id):
    kind = _kind_or_404(kind)
    row = _row_or_404(kind, row_id)
    try:
        service.delete(current_user, kind, row)
    except service.Refused as refused:
        return _edit_page(kind, row, refused.errors, None, 409)
    flash(_("%(name)s was deleted.", name=localized(row)), "success")
    return redirect(url_for("reference.rows", kind=kind.code), 303)
