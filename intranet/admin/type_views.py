"""The request type editor (issue 20), administrators only, on every route: the types with their versions, a form to
create or edit one (names, owning department, money and currency, the target in days, fields, documents, stages),
"Preview" showing the intake form and the workflow diagram without saving, "Save" making a new version; retiring
and reopening a type; moving the open requests of an earlier version to the current one; the definitions file
downloaded and uploaded. A refusal is said, translated, and nothing is saved."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from intranet.i18n import gettext as _
from flask_login import current_user

from intranet import definitions, downloads
from intranet.admin import type_forms, types
from intranet.auth import guard, permissions
from intranet.i18n import localized, text_direction
from intranet.models import ROLES, Department, RequestType
from intranet.params import to_int

bp = Blueprint("type", __name__)
MAX_FILE_BYTES = 1_000_000  # a definitions file is a few kilobytes


guard.only(bp, permissions.can_administer)


def _type(type_id) -> RequestType:
    return RequestType.get_or_none(RequestType.id == type_id) or abort(404)


@bp.get("/admin/request-types")
def index():
    return render_template("admin/types.html", types=types.overview())


def _editor(rtype, spec, extra, refusals=(), preview=False, status=200):
    departments = list(Department.select().order_by(Department.id))
    return render_template("admin/type.html", request_type=rtype, form=type_forms.layout(spec, extra),
                           refusals=refusals, preview=preview, diagram=types.diagram(spec, text_direction() == "rtl") if preview else None,
                           departments=departments, roles=ROLES, kinds=types.KINDS, flags=types.flags(),
                           versions=types.versions(rtype) if rtype else [],
                           open_by_version=types.open_by_version(rtype) if rtype else {}), status


def _posted(rtype):
    """Preview, more rows or save, for a new type (`rtype` None) or an existing one."""
    spec = type_forms.read(request.form)
    if rtype is not None:
        spec["code"] = rtype.code  # the code names the type: it is not edited
    action = request.form.get("action")
    extra = type_forms.extra_rows(request.form)
    existing = RequestType.get_or_none(RequestType.code == spec["code"]) if rtype else None
    if action == "more":
        return _editor(rtype, spec, extra)
    refusals = types.refusals(spec, existing, creating=rtype is None)
    if refusals:
        return _editor(rtype, spec, extra, refusals, preview=action == "preview", status=422)
    if action == "preview":
        return _editor(rtype, spec, extra, preview=True)
    try:
        saved = types.save(current_user, spec, creating=rtype is None)
    except types.Refused as refused:  # changed between the check and the save
        return _editor(rtype, spec, extra, refused.messages, status=422)
    flash(_("%(type)s saved: version %(version)s is what new requests get.", type=localized(saved),
            version=saved.version), "success")
    return redirect(url_for("type.edit", type_id=saved.id))


@bp.route("/admin/request-types/new", methods=["GET", "POST"])
def create():
    if request.method == "POST":
        return _posted(None)
    return _editor(None, types.normalized({"stages": []}), type_forms.EXTRA_ROWS + 1)


@bp.route("/admin/request-types/<int:type_id>", methods=["GET", "POST"])
def edit(type_id):
    rtype = _type(type_id)
    if request.method == "POST":
        return _posted(rtype)
    return _editor(rtype, types.spec_of(rtype), type_forms.EXTRA_ROWS)


@bp.post("/admin/request-types/<int:type_id>/active")
def set_active(type_id):
    rtype = _type(type_id)
    active = request.form.get("active") == "1"
    types.set_active(current_user, rtype, active)
    flash(_("%(type)s takes new requests again.", type=localized(rtype)) if active else
          _("%(type)s is retired: no new requests; its open requests go on.", type=localized(rtype)), "success")
    return redirect(url_for("type.edit", type_id=rtype.id))


@bp.post("/admin/request-types/<int:type_id>/migrate")
def migrate(type_id):
    rtype = _type(type_id)
    version = to_int(request.form.get("from_version"))
    if version is None or not 1 <= version < rtype.version:
        flash(_("Choose an earlier version to move the open requests from."), "error")
        return redirect(url_for("type.edit", type_id=rtype.id))
    moved, refused = types.migrate(current_user, rtype, version)
    flash(_("%(count)d open requests moved from version %(old)s to version %(new)s.", count=moved, old=version,
            new=rtype.version), "success")
    for _number, reason in refused:
        flash(reason, "error")
    return redirect(url_for("type.edit", type_id=rtype.id))


@bp.get("/admin/request-types/definitions.toml")
def export():
    return downloads.download(definitions.dump().encode("utf-8"), "toml", "request_types.toml")


@bp.post("/admin/request-types/definitions")
def upload():
    sent = request.files.get("file")
    body = sent.read(MAX_FILE_BYTES + 1) if sent and sent.filename else b""
    if not body or len(body) > MAX_FILE_BYTES:
        flash(_("Choose a definitions file (TOML, at most 1 MB)."), "error")
        return redirect(url_for("type.index"))
    try:
        counts = definitions.load_text(body.decode("utf-8"), actor=current_user)
    except UnicodeDecodeError:
        flash(_("The file is not UTF-8 text."), "error")
    except definitions.DefinitionError as refused:
        flash(_("Nothing was loaded: %(reason)s", reason=str(refused)), "error")
    else:
        flash(_("Definitions loaded: %(count)d request types.", count=counts["request_types"]), "success")
    return redirect(url_for("type.index"))
