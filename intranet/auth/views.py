"""Sign-in, sign-out and the language switch."""
from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from intranet.auth.forms import LanguageForm, LoginForm
from intranet.auth.signin import SignInRefused, sign_in
from intranet.i18n import safe_next

bp = Blueprint("auth", __name__)


def home_for(user) -> str:
    """Where each role starts its day."""
    if user.role == "reception":
        return url_for("reception.index")
    return url_for("queues.index")


@bp.route("/")
@login_required
def index():
    """The person's starting page."""
    return redirect(home_for(current_user))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with the directory user name and password."""
    form = LoginForm(next=request.args.get("next", ""))
    error = None
    if form.validate_on_submit():
        try:
            staff = sign_in(form.username.data, form.password.data)
        except SignInRefused as refused:
            error = refused.message
        else:
            login_user(staff)
            return redirect(safe_next(form.next.data) or home_for(staff))
    status = 200 if request.method == "GET" else (401 if error else 400)
    return render_template("auth/login.html", form=form, error=error), status


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out and return to the sign-in page."""
    logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
def language():
    """Switch the interface language and stay on the same page."""
    form = LanguageForm()
    if form.validate_on_submit() and form.lang.data in ("ar", "en"):
        session["lang"] = form.lang.data
    return redirect(safe_next(form.next.data) or url_for("auth.index"))
