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


def known(kind: str, key):
    """What `cached` or `remember` holds for (kind, key) and is less than a minute old; None otherwise."""
    hit = _rows.get((current_app.config["DATABASE_URL"], kind, key))
    return hit[0] if hit is not None and hit[1] >= time.monotonic() else None


def remember(kind: str, key, row) -> None:
    """Keep `row` a minute, as `cached` would (e.g. once the transaction that wrote it has committed)."""
    _rows[(current_app.config["DATABASE_URL"], kind, key)] = (row, time.monotonic() + SECONDS)


def forget():
    _rows.clear()
