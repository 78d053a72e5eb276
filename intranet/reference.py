"""Reference rows (request types, stages, departments, governorates, message wordings) remembered a minute per
process: every submission and message needs them, and they change only when an administrator edits them or
definitions are loaded, which forgets them at once in that process.

Other processes, on this host or another, learn of the edit from the database: every such edit is recorded in the
change log (`admin_change`) or is a message wording (`message_template`), and the first `cached` call of each app
context (a request, a job's run) reads their stamp, one small query; when it differs from the one this process's
rows were read under, the rows of that database are dropped. An edit made on host A thus counts on host B from
its next request on, not a minute later."""
import time

from flask import current_app

from intranet import context
from intranet.db import database

SECONDS = 60
# the stamp's columns: the sign-in check reads them with the session row (auth/sessions.load, `take_stamp`)
STAMP_COLUMNS = ('(SELECT MAX("id") FROM "admin_change")', '(SELECT COUNT(*) FROM "message_template")',
                 '(SELECT MAX("updated_at") FROM "message_template")')
STAMP = f"SELECT {', '.join(STAMP_COLUMNS)}"
_rows: dict = {}  # (database, kind, key) -> (row or None, monotonic expiry)
_stamps: dict = {}  # database -> the stamp of the reference data its rows here were read under


def _check_stamp(url: str) -> None:
    """Once per app context: drop this process's rows of the database if another process changed the data."""
    if context.g().__dict__.get("reference_stamp_checked") == url:
        return
    take_stamp(tuple(database.execute_sql(STAMP).fetchone()))


def take_stamp(stamp: tuple) -> None:
    """The stamp (STAMP_COLUMNS' values) as read in this app context: this process's rows of the database are
    dropped if it differs from the one they were read under, and it is not read again in this context."""
    url = context.g().reference_stamp_checked = context.app().config["DATABASE_URL"]
    if _stamps.get(url) != stamp:
        for slot in list(_rows):
            if slot[0] == url:
                _rows.pop(slot, None)
        _stamps[url] = stamp


def cached(kind: str, key, fetch):
    """fetch(key), or what it returned less than a minute ago for the same database (and nobody changed since)."""
    slot = (context.app().config["DATABASE_URL"], kind, key)
    _check_stamp(slot[0])
    now = time.monotonic()
    hit = _rows.get(slot)
    if hit is None or hit[1] < now:
        hit = _rows[slot] = (fetch(key), now + SECONDS)
    return hit[0]


def by_id(model, row_id):
    """The reference row (a department, type, stage, governorate...) of that id, kept as `cached` keeps rows; None
    for no id or no row."""
    return cached(f"{model.__name__}_by_id", row_id, model.get_or_none) if row_id else None


def known(kind: str, key):
    """What `cached` or `remember` holds for (kind, key) and is less than a minute old; None otherwise."""
    hit = _rows.get((current_app.config["DATABASE_URL"], kind, key))
    return hit[0] if hit is not None and hit[1] >= time.monotonic() else None


def remember(kind: str, key, row) -> None:
    """Keep `row` a minute, as `cached` would (e.g. once the transaction that wrote it has committed)."""
    _rows[(current_app.config["DATABASE_URL"], kind, key)] = (row, time.monotonic() + SECONDS)


def forget():
    _rows.clear()
