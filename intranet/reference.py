"""Reference rows (request types, stages, governorates) remembered a minute per process: every submission
needs them, and they change only when definitions are loaded, which forgets them at once in that process."""
import time

from flask import current_app

SECONDS = 60
_rows: dict = {}  # (database, kind, key) -> (row or None, monotonic expiry)


def cached(kind: str, key, fetch):
    """fetch(key), or what it returned less than a minute ago for the same database."""
    slot = (current_app.config["DATABASE_URL"], kind, key)
    now = time.monotonic()
    hit = _rows.get(slot)
    if hit is None or hit[1] < now:
        hit = _rows[slot] = (fetch(key), now + SECONDS)
    return hit[0]


def forget():
    _rows.clear()
