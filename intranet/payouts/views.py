"""The supervisor's payout approval screen: pending payouts with filters, the total of what is ticked, and
approve or reject many at once (the service decides who may; a fresh password is asked for first)."""
import datetime as dt
from decimal import Decimal, InvalidOperation

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from peewee import fn

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


def _number(value):
    try:
        return Decimal(value) if value not in (None, "") else None
    except InvalidOperation:
        return None


def _filters(args) -> dict:
    """Only known values: anything else is ignored, as on the queue page."""
    chosen = {"status": args.get("status") if args.get("status") in STATUS_TABS else "pending"}
    for key in ("type", "department", "governorate", "age"):
        if str(args.get(key, "")).isdigit():
            chosen[key] = int(args[key])
    for key in ("min", "max"):
        if (amount := _number(args.get(key))) is not None and amount >= 0:
            chosen[key] = amount
    return chosen


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
        query = query.where(Payout.created_at <= utcnow() - dt.timedelta(days=chosen["age"]))
    return query


@bp.get("/")
def index():
    chosen = _filters(request.args)
    query = _query(chosen)
    count, total = query.select(fn.COUNT(Payout.id), fn.SUM(Payout.amount)).scalar(as_tuple=True)
    after = request.args.get("after", type=int)
    page = (query.select(Payout, Citizen, RequestType, Request.tracking_number).join(Citizen).switch(Payout)
            .join(RequestType).switch(Payout).join(Request).order_by(Payout.id))
    if after:
        page = page.where(Payout.id > after)
    rows = list(page.limit(PAGE + 1))
    approvals = dict(PayoutApproval.select(PayoutApproval.payout, fn.COUNT(PayoutApproval.id))
                     .where(PayoutApproval.payout.in_([row.id for row in rows]) & PayoutApproval.voided_at.is_null())
                     .group_by(PayoutApproval.payout).tuples())
    return render("payouts/index.html", "payouts/_payout_table.html", rows=rows[:PAGE],
                  next_after=rows[PAGE - 1].id if len(rows) > PAGE else None, chosen=chosen, count=count,
                  total=Decimal(total or 0), types=RequestType.select().where(RequestType.is_money == True),  # noqa: E712
                  departments=Department.select().order_by(Department.id),
                  governorates=Governorate.select().order_by(Governorate.id), fresh=reauth.fresh(user=current_user),
                  may_decide=current_user.role == "supervisor", approvals=approvals, banks=batches.profiles())


@bp.post("/selection")
def selection():
    """The number and sum of the ticked payouts (htmx, as the boxes change)."""
    ids = [int(value) for value in request.form.getlist("ids") if value.isdigit()]
    count, total = (Payout.select(fn.COUNT(Payout.id), fn.SUM(Payout.amount)).where(Payout.id.in_(ids))
                    .scalar(as_tuple=True)) if ids else (0, 0)
    return render("payouts/_selection.html", "payouts/_selection.html", count=count, total=Decimal(total or 0))


@bp.post("/decide")
def decide():
    """Approve or reject the ticked payouts; every refusal is reported with its reason."""
    ids = [int(value) for value in request.form.getlist("ids") if value.isdigit()]
    back = url_for("payouts.index", **{k: v for k, v in request.args.items() if k != "after"})
    if (first := ask_first(ids, back, _("Tick the payouts to decide on first."),
                           _("Enter your password again, then decide."))) is not None:
        return first
    try:
        if request.form.get("decision") == "reject":
            decision = service.reject(current_user, ids, request.form.get("reason", ""), True)
        else:
            decision = service.approve(current_user, ids, True, request.form.get("override_reason", ""))
    except service.PayoutRefused as refused:
        flash(refused.message, "error")
        return redirect(back, 303)
    flash_decision(decision, _("Decided: %(n)d payout(s).", n=len(decision.done)))
    return redirect(back, 303)


def ask_first(ids, back: str, nothing_ticked: str, password_again: str):
    """The answer when nothing is ticked, or when the password must be entered again first; None to go on."""
    if not ids:
        flash(nothing_ticked, "error")
        return redirect(back, 303)
    if not reauth.fresh(user=current_user):
        flash(password_again, "info")
        return redirect(url_for("reauth.confirm", next=back), 303)
    return None


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
