"""Local registries (issue 17): an administrator loads a registry's CSV or XLSX file (national_id and fact columns),
as `diwan registry load` does, and sees each registry's size and when it was last loaded."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from intranet.i18n import gettext as _

from intranet.auth import guard, permissions
from intranet.automation import registry_files, sources
from intranet.intake.imports import FileRefused

bp = Blueprint("registry", __name__)


# Administrators only: they configure where automatic decisions take their facts from.
guard.only(bp, permissions.can_edit_automation_rules)


@bp.route("/automation/registries")
def index():
    return render_template("automation/registries.html", registries=registry_files.summary(),
                           configured=sources.configured())


@bp.route("/automation/registries", methods=["POST"])
def load():
    upload = request.files.get("file")
    code = request.form.get("code", "").strip()
    try:
        if upload is None or not upload.filename:
            raise FileRefused(_("Choose the file to load."))
        kind = registry_files.kind_of(upload.filename)
        content = upload.read(registry_files.MAX_BYTES + 1)
        count = registry_files.load(code, content, kind)
    except FileRefused as refused:
        flash(str(refused.args[0]), "error")
    else:
        flash(_("%(count)s people loaded into the registry %(code)s.", count=f"{count:,}", code=code), "success")
    return redirect(url_for("registry.index"))
