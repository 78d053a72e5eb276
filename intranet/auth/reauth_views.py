"""The password (and the one-time code of a supervisor or administrator) asked again before approving or exporting
payouts."""
from flask import Blueprint, redirect, render_template, request, url_for
from intranet.i18n import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional

from intranet.auth import reauth
from intranet.auth.redirects import safe_next

bp = Blueprint("reauth", __name__, url_prefix="/reauth")


class ReauthForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])
    code = StringField(_l("Code"), validators=[Optional(), Length(max=40)])  # asked of supervisors and admins
    next = HiddenField()


@bp.before_request
@login_required
def signed_in_only():
    """Only a signed-in person can confirm who they are."""


@bp.route("/", methods=["GET", "POST"])
def confirm():
    """Re-enter the password, then go back to the step that asked for it (`next`: a local path only)."""
    form = ReauthForm(next=safe_next(request.args.get("next")) or "")
    error = None
    status = 422 if request.method == "POST" else 200
    headers = {}
    if form.validate_on_submit():
        proven, error, status, headers = reauth.prove(current_user, form.password.data, form.code.data)
        if proven:
            return redirect(safe_next(form.next.data) or url_for("auth.index"), 303)
    return render_template("auth/reauth.html", form=form, error=error), status, headers
