"""Flask extensions created once and bound in create_app; per-request database connections."""
from flask import g, redirect, request, url_for
from flask_login import LoginManager
from flask_wtf import CSRFProtect
from htmx_flask import Htmx

from intranet.db import database

csrf = CSRFProtect()
login_manager = LoginManager()
htmx_ext = Htmx()


@login_manager.user_loader
def load_staff(staff_id):
    """The person only while the cookie's session is live on the server (intranet/auth/sessions.py)."""
    from intranet.auth import sessions
    return sessions.load(staff_id)


@login_manager.unauthorized_handler
def to_login():
    """Send the person to sign in, and back here afterwards; htmx requests are redirected as a whole page."""
    target = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
    if request.headers.get("HX-Request"):
        return "", 401, {"HX-Redirect": target}
    return redirect(target)


def init_app(app):
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    htmx_ext.init_app(app)

    @app.before_request
    def open_connection():
        # close at teardown only what this request opened (a test or a job may hold the connection)
        g.opened_connection = database.connect(reuse_if_open=True)

    @app.teardown_request
    def close_connection(exc):
        if g.pop("opened_connection", False) and not database.is_closed():
            database.close()
