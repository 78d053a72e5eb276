"""File imports of electronic requests: upload and preview, confirm, watch the progress, read the report."""

from flask import Blueprint, abort, flash, redirect, url_for
from intranet.i18n import gettext as _
from flask_login import current_user

from intranet import downloads, params
from intranet.auth import guard, permissions
from intranet.htmx import render, wants_fragment
from intranet.i18n import locale_code
from intranet.intake import import_files, imports
from intranet.intake.import_forms import RunForm, UploadForm
from intranet.triggers import enqueue

bp = Blueprint("file_import", __name__, url_prefix="/imports")

PAGE_SIZE = 25
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


guard.only(bp, permissions.can_import_requests)


def _index_page(form, status=200, refusal=None):
    batches, next_after = imports.batches_page(current_user, params.arg_id("after"), PAGE_SIZE)
    return render("imports/index.html", status=status, form=form, refusal=refusal, batches=batches,
                  next_after=next_after, **imports.file_columns(), max_rows=imports.MAX_ROWS,
                  max_mb=imports.MAX_BYTES // 2**20)


@bp.get("/")
def index():
    """The upload form, the file's columns, and the batches imported so far."""
    return _index_page(UploadForm(formdata=None))


@bp.post("/")
def upload():
    """Check the file row by row and show the preview; a file that cannot be read is refused whole."""
    form = UploadForm()
    if not form.validate_on_submit():
        return _index_page(form, 422)
    upload = form.file.data
    try:
        batch = imports.preview(current_user, upload.filename or "", upload.read(imports.MAX_BYTES + 1))
    except imports.FileRefused as refused:
        form.file.errors = [refused.message]
        return _index_page(form, 422, refusal=refused.message)
    return redirect(url_for("file_import.batch", batch_id=batch.id), 303)


@bp.get("/template.<any(csv, xlsx):kind>")
def template(kind):
    """An empty file with every column, to fill in."""
    return downloads.download(import_files.template(kind), kind, f"diwan-import-template.{kind}")


def _visible_or_404(batch_id):
    return imports.summary(batch_id, current_user) or abort(404)


def _status_context(batch) -> dict:
    """What the batch's status region shows: while the import runs only the counts (it is polled every second);
    otherwise the report, a page of rows with errors at a time, and before the import the file's first rows."""
    if batch.status in imports.UNFINISHED:
        return {"batch": batch, "errors": [], "next_after": None, "after": 0, "first_rows": []}
    full = imports.full(batch.id)
    after = params.arg_id("after") or 0
    errors, next_after = imports.error_page(full, after)
    return {"batch": full, "errors": errors, "next_after": next_after, "after": after,
            "first_rows": imports.first_rows(full) if full.status == "previewed" else []}


@bp.get("/<int:batch_id>")
def batch(batch_id):
    """The preview (totals, first rows, errors) before the import; the progress or the report after it."""
    found = _visible_or_404(batch_id)
    return render("imports/batch.html", earlier=imports.earlier_imports(found), form=RunForm(formdata=None),
                  **_status_context(found))


@bp.post("/<int:batch_id>/run")
def run(batch_id):
    """Start importing the batch's valid rows as a job."""
    found = _visible_or_404(batch_id)
    if not RunForm().validate_on_submit():
        abort(400)
    if found.valid_rows and imports.queue(found):
        enqueue("imports.trigger", found.id, locale_code())  # committed as queued: else sweep_imports
    elif found.valid_rows:
        flash(_("This file is already being imported."), "info")
    else:
        flash(_("This file has no valid row to import."), "info")
    return redirect(url_for("file_import.batch", batch_id=found.id), 303)


@bp.get("/<int:batch_id>/status")
def status(batch_id):
    """The status region alone, polled every second while the import runs; it stops polling once done."""
    found = _visible_or_404(batch_id)
    if not wants_fragment():  # only htmx polls it: a person who opens the address gets the whole page
        return redirect(url_for("file_import.batch", batch_id=found.id), 303)
    return render("imports/batch.html", "imports/_status.html", form=RunForm(formdata=None),
                  **_status_context(found))


@bp.get("/<int:batch_id>/failed.csv")
def failed_rows(batch_id):
    """The rows that were not imported, with their reasons, as CSV to correct and upload again."""
    _visible_or_404(batch_id)
    return downloads.download(import_files.failed_rows(imports.full(batch_id)), "csv",
                              f"import-{batch_id}-not-imported.csv")
