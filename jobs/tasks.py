"""Thin tasks: each opens its own app context and database connection and calls a domain function."""
import threading
import time
from functools import wraps

from huey import crontab

from jobs import HEARTBEAT_KEY, huey

_app = None
_app_lock = threading.Lock()


def app():
    """One Flask app per consumer process, created on first use (the web app never imports this); the
    consumer's worker threads may all start a task at once, and only one of them may create it."""
    global _app
    with _app_lock:
        if _app is None:
            from intranet import create_app
            _app = create_app()
    return _app


def in_app_context(fn):
    """Every task's one way in: its own app context and database connection for the run. A task run inline by
    its caller (Huey's immediate mode in the tests, `call_local`) runs in the caller's context and connection."""
    @wraps(fn)
    def run(*args, **kwargs):
        from flask import has_app_context

        from intranet.db import database
        if has_app_context():
            return fn(*args, **kwargs)
        with app().app_context(), database.connection_context():
            return fn(*args, **kwargs)
    return run


@huey.periodic_task(crontab(minute="*"))
def heartbeat():
    """Prove the consumer runs: /healthz reports the time of the last beat."""
    now = time.time()
    huey.storage.put_data(HEARTBEAT_KEY, str(now).encode())
    return now


@huey.periodic_task(crontab(minute="17", hour="3"))
@in_app_context
def sweep_orphan_attachments():
    """Delete attachment files older than a day that no row refers to (a crash between write and commit)."""
    from intranet.files import sweep_orphans
    return sweep_orphans(older_than_seconds=86400)
