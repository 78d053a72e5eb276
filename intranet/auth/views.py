"""Sign-in (the password, then for supervisors and administrators a one-time code: intranet/auth/mfa.py),
sign-out and the language switch."""
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from intranet.i18n import gettext as _
from intranet.i18n import ngettext
from flask_login import current_user, login_required

from intranet.auth import mfa, permissions, sessions, throttle
from intranet.auth.forms import CodeForm, LanguageForm, LoginForm
from intranet.auth.redirects import safe_next
from intranet.auth.signin import SignInRefused, sign_in

bp = Blueprint("auth", __name__)

NO_STORE = {"Cache-Control": "no-store"}  # the code pages: a secret, recovery codes, a half-signed-in person


def home_for(user) -> str:
    """Where each role starts its day."""
    if user.role == "reception":
        return url_for("reception.index")
    if permissions.has_approval_list(user):  # the head of the institution: what awaits their decision
        return url_for("approval.index")
    return url_for("queues.index")


@bp.route("/")
@login_required
def index():
    """The person's starting page."""
    return redirect(home_for(current_user))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with the directory user name and password; wrong passwords are counted (auth/throttle.py)."""
    form = LoginForm(next=safe_next(request.args.get("next")) or "")
    error = None
    status = 400 if request.method == "POST" else 200
    headers = {}
    if form.validate_on_submit():
        address = sessions.client_address()
        wait = throttle.wait_seconds(form.username.data, address)
        if wait:
            error, status, headers = throttle.refusal(wait), 429, {"Retry-After": str(wait)}
        else:
            try:
                staff = sign_in(form.username.data, form.password.data)
            except SignInRefused as refused:
                error, status = refused.message, 401
                if refused.wrong_password:
                    throttle.failed(form.username.data, address, "login")
            else:
                if mfa.required(staff):  # the password alone grants nothing: the code first (its count stays)
                    mfa.hold(staff, safe_next(form.next.data) or "")
                    return redirect(url_for("auth.second_factor"), 303)
                throttle.succeeded(form.username.data)
                sessions.begin(staff)
                return redirect(safe_next(form.next.data) or home_for(staff))
    return render_template("auth/login.html", form=form, error=error), status, headers


def _held_or_restart():
    """The person who passed the password step on this browser, or a redirect to the sign-in page."""
    staff = mfa.held()
    if staff is None:
        if mfa.release():
            flash(_("Sign in again: the time to enter the code has run out."), "info")
        return None, redirect(url_for("auth.login"), 303)
    return staff, None


def _code_attempt(staff, form, attempt):
    """Throttle around a code: (result of attempt() or None, error, status, headers)."""
    address = sessions.client_address()
    if wait := throttle.wait_seconds(staff.username, address):
        return None, throttle.refusal(wait), 429, {"Retry-After": str(wait)}
    result = attempt(staff, form.code.data)
    if not result:
        throttle.failed(staff.username, address, "login", staff=staff)
        return None, _("The code is wrong, or it has already been used."), 401, {}
    throttle.succeeded(staff.username)
    return result, None, 200, {}


@bp.route("/login/code", methods=["GET", "POST"])
def second_factor():
    """The second step of sign-in: the code from the authenticator app, or a recovery code."""
    staff, restart = _held_or_restart()
    if restart:
        return restart
    if not mfa.enrolled(staff):
        return redirect(url_for("auth.enrol"), 303)
    form = CodeForm()
    error, status, headers = None, (400 if request.method == "POST" else 200), {}
    if form.validate_on_submit():
        how, error, status, headers = _code_attempt(staff, form, mfa.check)
        if how:
            next_url = safe_next(mfa.held_next())
            sessions.begin(staff)  # signed in only now; the pending state goes with the old cookie
            if how == "recovery":
                left = mfa.recovery_codes_left(staff)
                flash(ngettext("You signed in with a recovery code. %(num)d recovery code is left.",
                               "You signed in with a recovery code. %(num)d recovery codes are left.", left), "info")
            return redirect(next_url or home_for(staff), 303)
    return render_template("auth/second_factor.html", form=form, error=error, staff=staff), status, \
        {**headers, **NO_STORE}


@bp.route("/login/enrol", methods=["GET", "POST"])
def enrol():
    """The first sign-in of a supervisor or administrator: scan the QR code (or type the key), enter a code, and
    keep the recovery codes shown once."""
    staff, restart = _held_or_restart()
    if restart:
        return restart
    secret = mfa.enrolment_secret(staff)
    if secret is None:  # already enrolled (another tab): the ordinary code step
        return redirect(url_for("auth.second_factor"), 303)
    form = CodeForm()
    error, status, headers = None, (400 if request.method == "POST" else 200), {}
    if form.validate_on_submit():
        codes, error, status, headers = _code_attempt(staff, form, mfa.confirm_enrolment)
        if codes:
            next_url = safe_next(mfa.held_next()) or home_for(staff)
            sessions.begin(staff)
            return render_template("auth/recovery_codes.html", codes=codes, next_url=next_url), 200, NO_STORE
    qr = mfa.qr_data_uri(mfa.provisioning_uri(staff, secret))
    return render_template("auth/enrol.html", form=form, error=error, staff=staff, qr=qr, secret=mfa.grouped(secret),
                           pending_minutes=mfa.PENDING_MINUTES), status, {**headers, **NO_STORE}


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out: this session ends on the server too, so a copy of the cookie no longer works."""
    sessions.finish()
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
def language():
    """Switch the interface language and stay on the same page."""
    form = LanguageForm()
    if form.validate_on_submit() and form.lang.data in ("ar", "en"):
        session["lang"] = form.lang.data
    return redirect(safe_next(form.next.data) or url_for("auth.index"))
