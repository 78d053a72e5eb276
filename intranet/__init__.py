"""Diwan: the citizen-affairs intranet. create_app() wires configuration, extensions and blueprints."""
from inspect import iscoroutinefunction

from flask import Flask

from intranet import config as config_module


class Diwan(Flask):
    """Flask, with the answer to "is this hook a coroutine function?" kept: Flask asks inspect again for each view
    and hook of every request (some twenty a page, issue 21). The app has no async views or hooks, but one added
    later is still run as Flask runs it."""

    def ensure_sync(self, func):
        known = self.__dict__.setdefault("_sync_functions", {})
        if func not in known:
            known[func] = self.async_to_sync(func) if iscoroutinefunction(func) else func
        return known[func]


def create_app(config: dict | None = None) -> Flask:
    app = Diwan(__name__, template_folder="../templates", static_folder="../static")
    app.config.from_mapping(config_module.load(config))
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    from intranet import db, errors, extensions, htmx, i18n, params
    from intranet import security_headers, templating
    from intranet.ops import logs, metrics
    from intranet.admin import calendar_views, change_views, reference_views, type_views
    from intranet.auth import delegation_views, reauth_views, session_views, throttle
    from intranet.auth import views as auth_views
    from intranet.automation import control_views, decision_views, registry_views, rule_views
    from intranet.automation import views as automation_views
    from intranet.health import bp as health_bp
    from intranet.intake import api, file_import_views, portal_client_views
    from intranet.cards import views as card_views
    from intranet.letters import views as letter_views
    from intranet.lookup import views as lookup_views
    from intranet.notify import delivery_report_views, unreachable_views, wording_views
    from intranet.payouts import audit_views as payout_audit_views
    from intranet.payouts import batch_views as payout_batch_views
    from intranet.payouts import bank_return_views as payout_return_views
    from intranet.payouts import views as payout_views
    from intranet.reports import views as report_views
    from intranet.stats import dashboard_views
    from intranet.stats import views as stats_views
    from intranet.queues import views as queue_views
    from intranet.queues import approval_views, transfer_views
    from intranet.reception import booking_api, booking_views, receipt_views, ticket_views
    from intranet.reception import views as reception_views
    from intranet.staff import views as staff_views

    app.jinja_environment = templating.Environment  # before anything makes app.jinja_env
    db.init_database(app.config["DATABASE_URL"])
    if app.config["CHECK_SCHEMA"]:
        with db.database.connection_context():
            db.check_schema()
    logs.init_app(app)  # first: the request id and the clock cover every other hook
    metrics.init_app(app)
    extensions.init_app(app)
    i18n.init_app(app)
    htmx.init_app(app)
    params.init_app(app)  # the bounded <int:...> converter, before any blueprint adds its routes
    errors.init_app(app)
    security_headers.init_app(app)
    throttle.init_app(app)
    templating.init_app(app)
    api.init_app(app)
    for blueprint in (auth_views.bp, session_views.bp, health_bp, queue_views.bp, reception_views.bp, receipt_views.bp,
                      ticket_views.bp, api.bp, portal_client_views.bp, file_import_views.bp, unreachable_views.bp, delivery_report_views.bp,
                      wording_views.bp, reauth_views.bp, payout_audit_views.bp, payout_views.bp,
                      payout_batch_views.bp, payout_return_views.bp, dashboard_views.bp, stats_views.bp,
                      report_views.bp, lookup_views.bp, card_views.bp, approval_views.bp, transfer_views.bp, letter_views.bp,
                      automation_views.bp, control_views.bp, registry_views.bp, rule_views.bp, decision_views.bp,
                      change_views.bp, calendar_views.bp, reference_views.bp,
                      type_views.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(staff_views.bp)  # the staff page, absences, the directory sync (issue 18)
    app.register_blueprint(delegation_views.bp)  # delegations given and held (issue 18)
    app.register_blueprint(booking_views.bp)  # appointments at reception (issue 19)
    app.register_blueprint(booking_api.bp)  # the portal books them (/api/v1/bookings)

    from intranet.cli import register
    register(app)
    return app
