"""The reference data pages (issue 20), administrators only on every route: departments, governorates and inquiry
subjects listed, added, edited and deleted (what is still used is refused, saying by what); the banks' file layouts
likewise (`bank_layouts.py`: one a batch names is retired, not deleted); reception services and desks are linked
(their page: `reception/booking_views.py`). A refusal is shown beside its field and nothing is saved."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from intranet.i18n import gettext as _
from flask_login import current_user

from intranet.admin import bank_layouts
from intranet.admin import reference as service
from intranet.auth import guard, permissions
from intranet.i18n import localized
from intranet.payouts import bank_profiles

bp = Blueprint("reference", __name__, url_prefix="/admin/reference")


guard.only(bp, permissions.can_edit_reference_data)


def _kind_or_404(kind: str) -> service.Kind:
    return service.KINDS.get(kind) or abort(404)


@bp.get("/")
def index():
    layouts, _next = bank_layouts.page()  # the first page here; all of them on their own page
    return render_template("admin/reference.html", kinds=service.KINDS.values(), layouts=layouts)


# --- the banks' file layouts ----------------------------------------------------------------------------------------

def _layout_form(template, errors=None, typed=None, status=200, **context):
    return render_template(template, errors=errors or {}, typed=typed, fields=bank_profiles.FIELDS,
                           encodings=bank_profiles.ENCODINGS, delimiters=bank_layouts.DELIMITER_LABELS,
                           **context), status


def _layouts_page(errors=None, typed=None, status=200):
    rows, next_key = bank_layouts.page(request.args.get("after"))
    return _layout_form("admin/bank_profiles.html", errors, typed or {"active": "1", "header": "1",
                                                                       "delimiter": "comma", "encoding": "utf-8-sig"},
                        status, rows=rows, next_key=next_key, profile_of=bank_profiles.of_row)


@bp.get("/bank-profiles/")
def bank_profile_list():
    return _layouts_page()


@bp.post("/bank-profiles/")
def create_bank_profile():
    try:
        row = bank_layouts.create(current_user, request.form)
    except service.Refused as refused:
        return _layouts_page(refused.errors, request.form, 422)
    flash(_("The bank file layout %(code)s was added.", code=row.code), "success")
    return redirect(url_for("reference.bank_profile_list"), 303)


def _layout_or_404(row_id):
    return bank_layouts.row_or_none(row_id) or abort(404)


@bp.route("/bank-profiles/<int:row_id>", methods=["GET", "POST"])
def bank_profile(row_id):
    row = _layout_or_404(row_id)
    if request.method != "POST":
        return _layout_form("admin/bank_profile_edit.html", typed=bank_layouts.typed(row), row=row)
    try:
        bank_layouts.update(current_user, row, request.form)
    except service.Refused as refused:
        return _layout_form("admin/bank_profile_edit.html", refused.errors, request.form, 422, row=row)
    flash(_("The bank file layout %(code)s was saved.", code=row.code), "success")
    return redirect(url_for("reference.bank_profile_list"), 303)


@bp.post("/bank-profiles/<int:row_id>/delete")
def delete_bank_profile(row_id):
    row = _layout_or_404(row_id)
    try:
        bank_layouts.delete(current_user, row)
    except service.Refused as refused:
        return _layout_form("admin/bank_profile_edit.html", refused.errors, bank_layouts.typed(row), 409, row=row)
    flash(_("The bank file layout %(code)s was deleted.", code=row.code), "success")
    return redirect(url_for("reference.bank_profile_list"), 303)


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
