"""GET /healthz: is the database reachable, is the job queue reachable, has the consumer been seen."""
import time

from flask import Blueprint, jsonify

from intranet.db import database

bp = Blueprint("health", __name__)


def _database_ok() -> bool:
    try:
        database.execute_sql("SELECT 1").fetchone()
        return True
    except Exception:  # any driver error means "not reachable"; the detail goes to the log
        return False


@bp.route("/healthz")
def healthz():
    """Machine-readable health for load balancers and monitoring."""
    from jobs import huey, queue_status

    db_ok = _database_ok()
    queue = queue_status(huey)
    ok = db_ok and queue["reachable"]
    body = {"status": "ok" if ok else "degraded", "database": {"reachable": db_ok},
            "job_queue": queue, "time": int(time.time())}
    return jsonify(body), 200 if ok else 503
