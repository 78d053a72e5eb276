"""The bank's return files: import one for a released batch, read its report; the failed payouts to fix.

Thin: `returns` reads and applies the file, reconciles and puts failed payouts back; these views check who may,
read the forms and ask for the password again before payouts go back for batching.
"""
from flask import Blueprint, abort, flash, redirect, request, url_for
from intranet.i18n import gettext as _
from intranet.i18n import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired

from intranet import downloads, params
from intranet.auth import guard, permissions, reauth
from intranet.htmx import render
from intranet.models import Staff
from intranet.models.payouts import BankReturn, PayoutBatch
from intranet.payouts import returns
from intranet.payouts.service import PayoutRefused
from intranet.payouts.confirm import ask_first, flash_decision
from intranet.payouts.queries import ticked_ids

bp = Blueprint("bank_return", __name__, url_prefix="/payouts")
PAGE = 50


class ReturnForm(FlaskForm):
    file = FileField(_l("The bank's return file (CSV)"),
                     validators=[FileRequired(_l("Choose the bank's return file."))])


guard.only(bp, permissions.can_see_payout_records)  # not a payout delegate's (issue 18)


def _batch(batch_id) -> PayoutBatch:
    return PayoutBatch.get_or_none(PayoutBatch.id == batch_id) or abort(404)


def _refused(batch, message, problems=(), total=0):
    return render("payouts/return.html", status=422, batch=batch, bank_return=None, refusal=message,
                  problems=problems, total=total, **returns.context(batch))


@bp.post("/batches/<int:batch_id>/returns")
def upload(batch_id):
    """Import the bank's return file; a file with any malformed line is refused whole, and nothing changes."""
    batch = _batch(batch_id)
    if not returns.may_import(current_user):
        abort(403)
    form = ReturnForm()
    if not form.validate_on_submit():
        return _refused(batch, " ".join(str(e) for e in form.file.errors) or _("Choose the bank's return file."))
    upload = form.file.data
    try:
        imported = returns.import_file(current_user, batch, upload.filename or "", upload.read(returns.MAX_BYTES + 1))
    except returns.FileRefused as refused:
        return _refused(batch, refused.message, refused.problems, refused.total)
    flash(_("The bank's return file was imported: %(paid)s paid, %(failed)s failed, %(already)s already known, "
            "%(unknown)s unknown, %(conflicts)s in conflict.", paid=imported.paid, failed=imported.failed,
            already=imported.already, unknown=imported.unknown, conflicts=imported.conflicts), "success")
    return redirect(url_for("bank_return.report", return_id=imported.id), 303)


@bp.get("/returns/<int:return_id>")
def report(return_id):
    """An imported return file: its counts and totals, the lines not applied, and the batch's reconciliation."""
    found = (BankReturn.select(BankReturn, Staff).join(Staff, on=(BankReturn.imported_by == Staff.id))
             .where(BankReturn.id == return_id).first()) or abort(404)
    batch = PayoutBatch.get_by_id(found.batch_id)
    earlier = (BankReturn.select().where((BankReturn.batch == batch.id) & (BankReturn.sha256 == found.sha256)
                                         & (BankReturn.id < found.id)).order_by(BankReturn.id).first())
    return render("payouts/return.html", batch=batch, bank_return=found, earlier=earlier, refusal=None,
                  problems=found.problems, **returns.context(batch))


@bp.get("/batches/<int:batch_id>/returns/example.csv")
def example(batch_id):
    """An example return file with this batch's end-to-end ids, the status left for the bank to fill in."""
    batch = _batch(batch_id)
    return downloads.download(returns.example(batch), "csv", f"return-example-{batch.reference}.csv")


@bp.get("/failed")
def failed():
    """Payouts the bank did not pay: why, and where to fix them; supervisors put them back for batching."""
    rows, next_after = returns.failed_page(params.arg_id("after"), PAGE)
    return render("payouts/failed.html", rows=rows, next_after=next_after, fresh=reauth.fresh(user=current_user),
                  may_put_back=permissions.can_put_back_failed_payouts(current_user))


@bp.post("/failed/put-back")
def put_back():
    """Put the ticked failed payouts back for batching, after the password again; each refusal says why."""
    ids = ticked_ids(request.form.getlist("ids"))
    back = url_for("bank_return.failed")
    if not permissions.can_put_back_failed_payouts(current_user):
        abort(403)
    if (first := ask_first(ids, back, _("Tick the failed payouts to put back first."),
                           url_for("bank_return.put_back"), {}, _("Put these payouts back for batching"))) is not None:
        return first
    try:
        decision = returns.put_back(current_user, ids, True)
    except PayoutRefused as refused:
        flash(refused.message, "error")
        return redirect(back, 303)
    flash_decision(decision, _("Put back for batching: %(n)d payout(s).", n=len(decision.done)))
    return redirect(back, 303)
