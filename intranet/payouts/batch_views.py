"""Batches of approved payouts: gather, export to the bank's files (a job), watch the progress, download.

Thin: `batches` decides who may do what and keeps every step exactly once; these views read the forms, ask for
the password again before an export, and log every download with who and when.
"""
import logging

from flask import Blueprint, abort, flash, redirect, request, url_for
from intranet.i18n import gettext as _
from flask_login import current_user

from intranet import downloads, params
from intranet.auth import guard, permissions, reauth
from intranet.db import transaction
from intranet.htmx import render
from intranet.i18n import locale_code
from intranet.models import Staff
from intranet.models.payouts import ExportDownload, ExportFile, PayoutBatch
from intranet.payouts import audit, batches, files, queries
from intranet.payouts.labels import FILE_LABELS
from intranet.payouts.service import PayoutRefused
from intranet.triggers import enqueue

bp = Blueprint("batch", __name__, url_prefix="/payouts/batches")
log = logging.getLogger(__name__)
PAGE = 50
MAX_BATCH = 200_000  # payouts in one batch ("all matching the filters")

MEDIA_TYPES = {"pain001": "application/xml", "csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


guard.only(bp, permissions.can_see_payout_records)  # not a payout delegate's (issue 18)


def _supervisor_only():
    if not permissions.can_manage_payout_batches(current_user):
        abort(403)


@bp.get("/")
def index():
    """Every batch, newest first, a page at a time."""
    rows, next_before = queries.batches_page(params.arg_id("before"), PAGE)
    return render("payouts/batches.html", rows=rows, next_before=next_before)


@bp.post("/")
def create():
    """A draft batch of the ticked approved payouts, or of all approved payouts the filters select."""
    _supervisor_only()
    chosen = queries.chosen_filters(request.args) | {"status": "approved"}
    back = url_for("payouts.index", **{k: v for k, v in request.args.items() if k != "after"})
    if request.form.get("scope") == "filtered":
        ids = queries.filtered_ids(chosen, MAX_BATCH + 1)
        if len(ids) > MAX_BATCH:
            flash(_("More than %(n)s payouts match: narrow the filters.", n=MAX_BATCH), "error")
            return redirect(back, 303)
    else:
        ids = params.arg_ids("ids", request.form)
    try:
        batch = batches.create(current_user, ids, request.form.get("bank", ""), locale_code())
    except PayoutRefused as refused:
        flash(refused.message, "error")
        return redirect(back, 303)
    flash(_("Batch %(reference)s made with %(n)s payouts. Check it, then export it.", reference=batch.reference,
            n=batch.item_count), "success")
    return redirect(url_for("batch.batch", batch_id=batch.id), 303)


def _found(batch_id) -> PayoutBatch:
    return PayoutBatch.get_or_none(PayoutBatch.id == batch_id) or abort(404)


def _status_context(batch) -> dict:
    return {"batch": batch, "exported": queries.exported_files(batch), "FILE_LABELS": FILE_LABELS,
            "fresh": reauth.fresh(user=current_user), "may_act": permissions.can_manage_payout_batches(current_user),
            "bank_label": getattr(batches.profile(batch.bank), "title", batch.bank)}


@bp.get("/<int:batch_id>")
def batch(batch_id):
    """The batch: its state (and the export's progress), its files, who downloaded them, its payouts, the bank's
    answers."""
    from intranet.payouts import returns

    found = _found(batch_id)
    after = params.arg_id("after") or 0
    items, next_after = queries.batch_items_page(found, after, PAGE)
    creator = Staff.get_or_none(Staff.id == found.created_by_id)
    return render("payouts/batch.html", items=items, downloads=queries.batch_downloads(found), creator=creator,
                  next_after=next_after, after=after,
                  **returns.context(found), **_status_context(found))


@bp.get("/<int:batch_id>/status")
def status(batch_id):
    """The state region alone: polled every second while the export runs."""
    return render("payouts/_export_status.html", "payouts/_export_status.html", **_status_context(_found(batch_id)))


@bp.post("/<int:batch_id>/export")
def export(batch_id):
    """Start the export once: the password first, then one click wins, the others are told."""
    _supervisor_only()
    found = _found(batch_id)
    here = url_for("batch.batch", batch_id=found.id)
    if not reauth.fresh(user=current_user):
        flash(_("Enter your password again, then export."), "info")
        return redirect(url_for("reauth.confirm", next=here), 303)
    try:
        started = batches.start_export(current_user, found.id, params.arg_int("version", 0, source=request.form), True)
    except PayoutRefused as refused:
        flash(refused.message, "error")
        return redirect(here, 303)
    if started:
        enqueue("payouts.export_batch", found.id)  # committed as exporting: else sweep_exports
        flash(_("The export has started: the files are written and checked in the background."), "success")
    else:
        flash(_("This batch was exported or started already: nothing was done twice."), "info")
    return redirect(here, 303)


@bp.post("/<int:batch_id>/retry")
def retry(batch_id):
    _supervisor_only()
    found = _found(batch_id)
    if batches.retry(current_user, found.id):
        enqueue("payouts.export_batch", found.id)  # committed as exporting: else sweep_exports
        flash(_("The export was started again."), "success")
    return redirect(url_for("batch.batch", batch_id=found.id), 303)


@bp.post("/<int:batch_id>/cancel")
def cancel(batch_id):
    _supervisor_only()
    found = _found(batch_id)
    try:
        batches.cancel(current_user, found.id)
        flash(_("The batch was cancelled; its payouts are approved again, free for another batch."), "success")
    except PayoutRefused as refused:
        flash(refused.message, "error")
    return redirect(url_for("batch.batch", batch_id=found.id), 303)


@bp.get("/<int:batch_id>/files/<any(pain001, csv, xlsx):kind>")
def download(batch_id, kind):
    """A released file, checked against its recorded SHA-256 first; every download is logged."""
    _supervisor_only()
    exported = ExportFile.get_or_none((ExportFile.batch == batch_id) & (ExportFile.kind == kind)) or abort(404)
    path = batches.file_path(exported)
    if not path.is_file() or files.sha256_of(path) != exported.sha256:
        log.error("export file %s of batch %s is missing or changed on disk", kind, batch_id)
        abort(409, _("The archived file does not match its recorded SHA-256: it was not sent. Tell the "
                     "administrator."))
    with transaction():
        ExportDownload.create(file=exported.id, staff=current_user.id, address=request.remote_addr or "")
        audit.append(current_user, "file_downloaded", None, batch=batch_id, kind=kind, sha256=exported.sha256)
    return downloads.download_path(path, MEDIA_TYPES[kind], exported.name)

