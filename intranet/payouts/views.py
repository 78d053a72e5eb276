"""The supervisor's payout approval screen: pending payouts with filters, the total of what is ticked, and
approve or reject many at once (the service decides who may; a fresh password is asked for first)."""
import datetime as dt
from decimal import Decimal, InvalidOperation

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from peewee import fn

from intranet import params
from intranet.auth import permissions, reauth
from intranet.htmx import render
from intranet.models import Citizen, Department, Governorate, Request, RequestType, Staff, utcnow
from intranet.models.payouts import IbanChange, Payout, PayoutApproval
from intranet.payouts import batches, service

bp = Blueprint("payouts", __name__, url_prefix="/payouts")
PAGE = 50
STATUS_TABS = ("pending", "approved")


@bp.before_request
@login_required
def supervisors_only():
    if not permissions.can_see_payouts(current_user):
        abort(403)


MAX_TICKED = 1000  # more ids than a page shows are ignored, not looked up
MAX_ID = params.ID_MAX  # the ids' column type: a larger number is no payout (and no database error)
MAX_AMOUNT = Decimal("1e12")


def ticked_ids(values) -> list[int]:
    """The payout ids of a form or URL: ASCII digits within the id range, each once, at most MAX_TICKED;
    anything else is ignored."""
    return params.to_ids(values, MAX_TICKED)


def _number(value):
    try:
        amount = Decimal(value) if value not in (None, "") else None
    except InvalidOperation:
        return None
    return amount if amount is not None and amount.is_finite() and 0 <= amount <= MAX_AMOUNT else None


def _filters(args) -> dict:
    """Only known values: anything else is ignored, as on the queue page."""
    chosen = {"status": params.arg_choice("status", STATUS_TABS, "pending", source=args)}
    for key in ("type", "department", "governorate", "age"):
        if (value := params.arg_int(key, minimum=0, source=args)) is not None:
            chosen[key] = value
    for key in ("min", "max"):
        if (amount := _number(args.get(key))) is not None:
            chosen[key] = amount
    return chosen


def money_sum(total) -> Decimal:
    """A SUM of amounts as the exact Decimal of the column's scale (SQLite sums DECIMAL columns as floats)."""
    return Decimal(str(total or 0)).quantize(Decimal("0.001"))


def filter_args(chosen) -> dict:
    """The chosen filters as URL arguments (validated values only: what links and forms carry on)."""
    return {key: str(value) for key, value in chosen.items()}


def _query(chosen):
    query = Payout.select().where(Payout.status == chosen["status"])
    conditions = {"type": Payout.request_type, "department": Payout.department, "governorate": Payout.governorate}
    for key, column in conditions.items():
        if key in chosen:
            query = query.where(column == chosen[key])
    if "min" in chosen:
        query = query.where(Payout.amount >= chosen["min"])
    if "max" in chosen:
        query = query.where(Payout.amount <= chosen["max"])
    if "age" in chosen:
        query = query.where(Payout.created_at <= utcnow() - dt.timedelta(days=min(chosen["age"], 36500)))
    return query


def _list_url(chosen, ticked=()) -> str:
    """The list with these filters and these payouts ticked again."""
    return url_for("payouts.index", **filter_args(chosen), **({"ticked": list(ticked)} if ticked else {}))


@bp.get("/")
def index():
    chosen = _filters(request.args)
    query = _query(chosen)
    count, total = query.select(fn.COUNT(Payout.id), fn.SUM(Payout.amount)).scalar(as_tuple=True)
    after = params.arg_id("after")
    page = (query.select(Payout, Citizen, RequestType, Request.tracking_number).join(Citizen).switch(Payout)
            .join(RequestType).switch(Payout).join(Request).order_by(Payout.id))
    if after and 0 < after <= MAX_ID:
        page = page.where(Payout.id > after)
    rows = list(page.limit(PAGE + 1))
    shown = rows[:PAGE]
    # ticked again after a decision or the password prompt: only what this page shows (and so what it submits)
    wanted = set(ticked_ids(request.args.getlist("ticked")))
    ticked = [row for row in shown if row.id in wanted]
    approvals = dict(PayoutApproval.select(PayoutApproval.payout, fn.COUNT(PayoutApproval.id))
                     .where(PayoutApproval.payout.in_([row.id for row in shown]) & PayoutApproval.voided_at.is_null())
                     .group_by(PayoutApproval.payout).tuples())
    return render("payouts/index.html", "payouts/_payout_table.html", rows=shown,
                  next_after=rows[PAGE - 1].id if len(rows) > PAGE else None, chosen=chosen, args=filter_args(chosen),
                  count=count, total=money_sum(total), ticked={row.id for row in ticked},
                  ticked_count=len(ticked), ticked_total=sum((row.amount for row in ticked), Decimal(0)),
                  types=RequestType.select().where(RequestType.is_money == True),  # noqa: E712
                  departments=Department.select().order_by(Department.id),
                  governorates=Governorate.select().order_by(Governorate.id), fresh=reauth.fresh(user=current_user),
                  may_decide=service.may_decide(current_user), approvals=approvals, banks=batches.profiles())


@bp.post("/selection")
def selection():
    """The number and sum of the ticked payouts (htmx, as the boxes change): only what is ticked."""
    ids = ticked_ids(request.form.getlist("ids"))
    count, total = (Payout.select(fn.COUNT(Payout.id), fn.SUM(Payout.amount)).where(Payout.id.in_(ids))
                    .scalar(as_tuple=True)) if ids else (0, 0)
    return render("payouts/_selection.html", "payouts/_selection.html", ticked_count=count,
                  ticked_total=money_sum(total))


DECISIONS = ("approve", "reject")


@bp.post("/decide")
def decide():
    """Approve or reject the ticked payouts; every refusal is reported with its reason. Without a fresh password
    the prompt comes first and carries the ticked payouts, the decision and its reasons: confirming it completes
    the decision, and the list comes back with the same filters."""
    if not service.may_decide(current_user):
        abort(403)
    chosen = _filters(request.args)
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
            done = service.reject(current_user, ids, reason, True)
        else:
            done = service.approve(current_user, ids, True, override_reason)
    except service.PayoutRefused as refused:
        flash(refused.message, "error")
        return redirect(back, 303)
    flash_decision(done, _("Decided: %(n)d payout(s).", n=len(done.done)))
    return redirect(_list_url(chosen, [i for i in ids if i in done.refused]), 303)


def ask_first(ids, back: str, nothing_ticked: str, action: str, carried: dict, title: str):
    """The answer when nothing is ticked, or the password prompt when it must be entered again first (it posts
    the ticked ids and the `carried` fields back to `action`, a path of this site, with the password); None to go
    on: the password is fresh, or was just entered right."""
    if not ids:
        flash(nothing_ticked, "error")
        return redirect(back, 303)
    if reauth.fresh(user=current_user):
        return None
    error, status, headers = None, 200, {}
    if "password" in request.form:  # the prompt's answer
        proven, error, status, headers = reauth.prove(current_user, request.form["password"], request.form.get("code"))
        if proven:
            return None
    rows = list(Payout.select(Payout, Request.tracking_number).join(Request).where(Payout.id.in_(ids))
                .order_by(Payout.id))
    return render_template("payouts/password_again.html", title=title, action=action, back=back, carried=carried,
                           ids=ids, rows=rows, error=error,
                           total=sum((row.amount for row in rows), Decimal(0))), status, headers


def flash_decision(decision: service.Decision, done_message: str):
    """What was done, then each refusal with its reason."""
    if decision.done:
        flash(done_message, "success")
    for payout_id, why in decision.refused.items():
        flash(_("Payout %(id)d: %(why)s", id=payout_id, why=why), "error")


@bp.get("/iban-changes")
def iban_changes():
    """New IBANs of citizens with payouts under way, waiting for a second person."""
    changes = (IbanChange.select(IbanChange, Citizen, Staff).join(Citizen).switch(IbanChange)
               .join(Staff, on=(IbanChange.requested_by == Staff.id)).where(IbanChange.status == "pending")
               .order_by(IbanChange.id).limit(200))  # one query: the citizen and who asked, for every row
    return render("payouts/iban_changes.html", "payouts/iban_changes.html", changes=list(changes),
                  may_decide=lambda change: service.iban_change_refusal(current_user, change) is None)


@bp.post("/iban-changes/<int:change_id>")
def decide_iban_change(change_id):
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
