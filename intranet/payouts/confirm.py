"""The password prompt before a decision on ticked payouts and the messages after it, shared by the approval
screen (approve, reject) and the failed payouts page (put back for batching)."""
from decimal import Decimal

from flask import flash, redirect, render_template, request
from intranet.i18n import gettext as _
from flask_login import current_user

from intranet.auth import permissions, reauth
from intranet.payouts import queries, service


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
    rows = queries.with_tracking_numbers(ids, permissions.visible_payouts(current_user))
    return render_template("payouts/password_again.html", title=title, action=action, back=back, carried=carried,
                           ids=ids, rows=rows, error=error,
                           total=sum((row.amount for row in rows), Decimal(0))), status, headers


def flash_decision(decision: service.Decision, done_message: str):
    """What was done, then each refusal with its reason."""
    if decision.done:
        flash(done_message, "success")
    for payout_id, why in decision.refused.items():
        flash(_("Payout %(id)d: %(why)s", id=payout_id, why=why), "error")
