"""The password asked again before approving or exporting payouts."""
from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField
from wtforms.validators import DataRequired

from intranet.auth import reauth
from intranet.i18n import safe_next

bp = Blueprint("reauth", __name__, url_prefix="/reauth")


class ReauthForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])
    next = HiddenField()


@bp.before_request
@login_required
def signed_in_only():
    """Only a signed-in person can confirm who they are."""


@bp.route("/", methods=["GET", "POST"])
def confirm():
    """Re-enter the password, then go back to the step that asked for it."""
    form = ReauthForm(next=safe_next(request.args.get("next")) or "")
    error = None
    if form.validate_on_submit():
        if reauth.confirm(current_user, form.password.data):  # DirectoryUnavailable: errors.py answers 503
            return redirect(safe_next(form.next.data) or url_for("auth.index"), 303)
        error = _("The password is wrong.")
    status = 200 if request.method == "GET" else 422
    return render_template("auth/reauth.html", form=form, error=error), status
