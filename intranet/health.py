"""GET /healthz: is the database reachable, is the job queue reachable, has the consumer been seen.

Anyone (a load balancer) learns only up or down; the details name the queue's backend and the consumer's last beat,
which an attacker has no business reading: they go to a signed-in administrator or to a monitor that sends the
configured MONITORING_TOKEN as a bearer token.
"""
import hmac
import time

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user

from intranet import triggers
from intranet.auth import permissions
from intranet.db import database

bp = Blueprint("health", __name__)


def _database_ok() -> bool:
    try:
        database.execute_sql("SELECT 1").fetchone()
        return True
    except Exception:  # any driver error means "not reachable"; the detail goes to the log
        return False


def _may_see_details() -> bool:
    token = current_app.config["MONITORING_TOKEN"] or ""
    sent = request.headers.get("Authorization", "")
    if token and sent.startswith("Bearer ") and hmac.compare_digest(sent[7:].encode(), token.encode()):
        return True
    return current_user.is_authenticated and permissions.can_see_system_health(current_user)


@bp.route("/healthz")
def healthz():
    """Machine-readable health for load balancers and monitoring."""
    db_ok = _database_ok()
    queue = triggers.queue_status()
    ok = db_ok and queue["reachable"]
    body = {"status": "ok" if ok else "degraded"}
    if _may_see_details():
        body.update({"database": {"reachable": db_ok}, "job_queue": queue, "time": int(time.time())})
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response, 200 if ok else 503


@bp.route("/favicon.ico")
def favicon():
    """The site's icon where every browser looks for it unasked (pages also link the SVG from their head)."""
    return current_app.send_static_file("favicon.ico"), 200, {"Cache-Control": "public, max-age=86400"}
