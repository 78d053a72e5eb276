"""The supervisor's payout approval screen: pending payouts with filters, the total of what is ticked, and
approve or reject many at once (the service decides who may; a fresh password is asked for first)."""
from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, request, url_for
from intranet.i18n import gettext as _
from flask_login import current_user

from intranet import params, workflow
from intranet.auth import guard, permissions, reauth
from intranet.htmx import render
from intranet.models.payouts import IbanChange
from intranet.payouts import batches, queries, service
from intranet.payouts.confirm import ask_first, flash_decision
from intranet.payouts.queries import filter_args, ticked_ids

bp = Blueprint("payouts", __name__, url_prefix="/payouts")
PAGE = 50


guard.only(bp, permissions.can_see_payouts)


def _list_url(chosen, ticked=()) -> str:
    """The list with these filters and these payouts ticked again."""
    return url_for("payouts.index", **filter_args(chosen), **({"ticked": list(ticked)} if ticked else {}))


@bp.get("/")
def index():
    chosen = queries.chosen_filters(request.args)
    # ticked again after a decision or the password prompt: only what this page shows (and so what it submits)
    found = queries.approval_page(chosen, params.arg_id("after"), PAGE, ticked_ids(request.args.getlist("ticked")),
                                  permissions.visible_payouts(current_user))
    return render("payouts/index.html", "payouts/_payout_table.html", rows=found.rows,
                  next_after=found.next_after, chosen=chosen, args=filter_args(chosen),
                  count=found.count, total=found.total, ticked={row.id for row in found.ticked},
                  ticked_count=len(found.ticked), ticked_total=sum((row.amount for row in found.ticked), Decimal(0)),
                  **queries.filter_choices(), fresh=reauth.fresh(user=current_user),
                  may_decide=service.may_decide(current_user), approvals=found.approvals, banks=batches.profiles())


@bp.post("/selection")
def selection():
    """The number and sum of the ticked payouts (htmx, as the boxes change): only what is ticked."""
    count, total = queries.selection_totals(ticked_ids(request.form.getlist("ids")),
                                            permissions.visible_payouts(current_user))
    return render("payouts/_selection.html", "payouts/_selection.html", ticked_count=count, ticked_total=total)


DECISIONS = ("approve", "reject")


@bp.post("/decide")
def decide():
    """Approve or reject the ticked payouts; every refusal is reported with its reason. Without a fresh password
    the prompt comes first and carries the ticked payouts, the decision and its reasons: confirming it completes
    the decision, and the list comes back with the same filters."""
    if not service.may_decide(current_user):
        abort(403)
    chosen = queries.chosen_filters(request.args)
    ids = ticked_ids(request.form.getlist("ids"))
    decision = request.form.get("decision")
    back = _list_url(chosen, ids)
    if decision not in DECISIONS:
        flash(_("Choose to approve or to reject the ticked payouts."), "error")
        return redirect(back, 303)
    reason, override_reason = request.form.get("reason", ""), request.form.get("override_reason", "")
    try:
        if ids and decision == "reject":
            service.check_reject_reason(reason)  # before the password: nothing to confirm without it
        if (first := ask_first(ids, back, _("Tick the payouts to decide on first."),
                               url_for("payouts.decide", **filter_args(chosen)),
                               {"decision": decision, "reason": reason, "override_reason": override_reason},
                               _("Approve these payouts") if decision == "approve" else _("Reject these payouts")
                               )) is not None:
            return first
        if decision == "reject":
            done = workflow.reject_payouts(current_user, ids, reason, True)
        else:
            done = service.approve(current_user, ids, True, override_reason)
    except service.PayoutRefused as refused:
        flash(refused.message, "error")
        return redirect(back, 303)
    flash_decision(done, _("Decided: %(n)d payout(s).", n=len(done.done)))
    return redirect(_list_url(chosen, [i for i in ids if i in done.refused]), 303)


@bp.get("/iban-changes")
def iban_changes():
    """New IBANs of citizens with payouts under way, waiting for a second person (not a delegate's page)."""
    if not permissions.can_see_payout_records(current_user):
        abort(403)
    return render("payouts/iban_changes.html", "payouts/iban_changes.html", changes=queries.pending_iban_changes(),
                  may_decide=lambda change: service.iban_change_refusal(current_user, change) is None)


@bp.post("/iban-changes/<int:change_id>")
def decide_iban_change(change_id):
    if not permissions.can_see_payout_records(current_user):
        abort(403)
    change = IbanChange.get_or_none(IbanChange.id == change_id) or abort(404)
    try:
        if request.form.get("decision") == "refuse":
            service.refuse_iban_change(current_user, change, request.form.get("reason", ""))
            flash(_("The IBAN change was refused."), "success")
        else:
            affected = service.confirm_iban_change(current_user, change)
            flash(_("The new IBAN applies; %(n)d payout(s) await approval again.", n=affected), "success")
    except service.PayoutRefused as refused:
        flash(refused.message, "error")
    return redirect(url_for("payouts.iban_changes"), 303)
