"""The requests' history as evidence (issue 14): append-only in the database, and every row keyed into a chain.

The database refuses UPDATE and DELETE on `history` (triggers, migration 0016; TRUNCATE too on PostgreSQL) and a
request cannot be deleted while it has history (the foreign key is RESTRICT, no longer CASCADE). Someone with the
database's owner rights can lift all that, so each row also carries `hash`: HMAC-SHA256 under the audit key
(`intranet/chain.py`, never in the database) of the previous row's link and this row's content, cut to 128 bits
(32 hex digits: plenty for a MAC, and 32 bytes a row instead of 64 over millions of rows).

One chain per request, not one for the whole table. History is written on every workflow action by many clerks at
once; a single chain would make every writer wait for the one before it (a global lock held to commit: on
PostgreSQL the same hot spot the tracking-number row was, issue 5). A request's rows are already written one at a
time: each action updates the request row under its version, and `sign()` takes that row's lock (`FOR NO KEY
UPDATE`, the lock the UPDATE takes anyway) before it reads the request's last row, so a comment, which changes
nothing on the request, is serialised with the rest. Writers of different requests never wait for each other, and
signing costs one indexed read of the request's last row (`history_request_id_id`) and one HMAC.

What per-request chains cannot show alone, the anchors do: a whole request's history removed, or a request's newest
rows cut. Each anchor (`anchors.write_anchor`, every evening and `diwan audit anchor`) records for history the highest
id it covers, how many rows there are up to it and a digest of every (id, link) up to it, in id order. On
PostgreSQL ids are handed out before commit, so the anchor first takes a SHARE lock on the table for an instant:
every row numbered until then is committed or rolled back, and the rows it covers can no longer change.

`verify()` recomputes every row's hash along its request's chain (pages in (request, id) order), then the digests
up to each anchor (pages in id order), and names the first row that does not fit. Rows written before migration
0016 have an empty hash ("legacy", the key did not exist): they are accepted only below the first keyed row and the
first anchor's id; their content enters the anchors' digest, and a request's first keyed row chains onto its last
legacy row, so from the first anchor on they are covered too.

The seed (`intranet/seed.py`) signs its generated rows with `sign_rows`: a request's rows are consecutive there.
"""
import hashlib
import hmac
from dataclasses import dataclass

from intranet import chain
from intranet.db import database, is_sqlite

GENESIS = "0" * 32
HASH_LENGTH = 32
COLUMNS = ("id", "request_id", "actor_id", "action", "from_stage_id", "to_stage_id", "from_status", "to_status",
           "comment", "details", "created_at", "hash", "department_id", "delegation_id")
_SELECT = "SELECT " + ", ".join(f'"{c}"' for c in COLUMNS) + ' FROM "history"'

CHANGED = "its content does not match its hash, or a row before it in its request's history was removed"
PLAIN = "it has no keyed hash but comes after keyed rows (written or changed behind the application's back)"
CUT = "rows up to the anchored id are missing: history was cut or rows were removed"
DIFFERENT = "the rows up to the anchored id are not those anchored outside the database"


def stamp(value) -> str:
    """A time in the one form that is hashed: 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC, naive, as stored)."""
    if isinstance(value, str):  # SQLite's text, with or without the fraction
        return value if len(value) > 19 else f"{value}.000000"
    return value.isoformat(" ", "microseconds")


def content(request_id, actor_id, action, from_stage_id, to_stage_id, from_status, to_status, comment, details,
            at: str, department_id=None, delegation_id=None) -> bytes:
    """The row in a canonical form: every column but the id and the hash; the only free texts are the comment
    (length-prefixed) and the details (last), so no two rows read the same. The department the step was counted
    under (0024) is keyed too, in front, and only where a row has one: rows written before it read as they did; so is
    the delegation an action was taken under (0027), before it, only where a row has one."""
    department = "" if department_id is None else f"department:{department_id}|"
    delegation = "" if delegation_id is None else f"delegation:{delegation_id}|"
    return (f"{delegation}{department}{request_id}|{'' if actor_id is None else actor_id}|{action}|"
            f"{'' if from_stage_id is None else from_stage_id}|{'' if to_stage_id is None else to_stage_id}|"
            f"{from_status or ''}|{to_status or ''}|{at}|{len(comment)}:{comment}|{details}").encode()


def row_hash(prev: str, message: bytes, secret=None) -> str:
    return chain.mac(prev.encode() + b"|" + message, secret)[:HASH_LENGTH]


def legacy_link(message: bytes) -> str:
    """What a row without a keyed hash (written before 0016) contributes to the chain and the digests."""
    return hashlib.sha256(message).hexdigest()[:HASH_LENGTH]


def _id(value):
    return getattr(value, "id", value)


def sign(values: dict) -> str:
    """The hash of a history row about to be written with `values` (HistoryEntry field names; `created_at` set),
    in the caller's transaction. Takes the request row's lock on PostgreSQL (see the module's docstring)."""
    request_id = _id(values["request"])
    message = content(request_id, _id(values.get("actor")), values["action"], _id(values.get("from_stage")),
                      _id(values.get("to_stage")), values.get("from_status"), values.get("to_status"),
                      values.get("comment") or "", values.get("details") or "{}", stamp(values["created_at"]),
                      _id(values.get("department")), _id(values.get("delegation")))
    return row_hash(_previous_link(request_id), message)


def _previous_link(request_id: int) -> str:
    p = database.param
    if not is_sqlite():  # SQLite: the caller holds the write lock already
        # a statement of its own: under READ COMMITTED the next statement's snapshot sees what the lock waited for
        database.execute_sql(f'SELECT 1 FROM "request" WHERE "id" = {p} FOR NO KEY UPDATE', (request_id,))
    row = database.execute_sql(f'SELECT "id", "hash" FROM "history" WHERE "request_id" = {p} '
                               'ORDER BY "id" DESC LIMIT 1', (request_id,)).fetchone()
    if row is None:
        return GENESIS
    if row[1]:
        return row[1]
    legacy = database.execute_sql(f'{_SELECT} WHERE "id" = {database.param}', (row[0],)).fetchone()
    return legacy_link(_message(legacy))


def sign_rows(rows, secret: bytes):
    """Rows in the seed's HISTORY_COLUMNS order (request_id, actor_id, action, from_stage_id, to_stage_id,
    from_status, to_status, comment, details, created_at as 'YYYY-MM-DD HH:MM:SS'), each request's rows
    consecutive and new: the same rows with their hash added."""
    signed, current, prev = [], None, GENESIS
    add, base = signed.append, hmac.new(secret, digestmod="sha256")  # row_hash, inlined: millions of rows
    for row in rows:
        rid, actor, action, from_stage, to_stage, from_status, to_status, comment, details, at = row
        if rid != current:
            current, prev = rid, GENESIS
        state = base.copy()
        state.update(f"{prev}|".encode() + content(rid, actor, action, from_stage, to_stage, from_status, to_status,
                                                   comment, details, f"{at}.000000"))
        prev = state.hexdigest()[:HASH_LENGTH]
        add(row + (prev,))
    return signed


def _message(row) -> bytes:
    """A row as selected by _SELECT: its canonical content."""
    return content(row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9], stamp(row[10]), row[12],
                   row[13])


def _link(row) -> str:
    return row[11] or legacy_link(_message(row))


# --- anchors -----------------------------------------------------------------------------------------------------

def _horizon() -> int:
    """The highest id below which every row is settled (committed or never to be)."""
    if is_sqlite():
        return database.execute_sql('SELECT COALESCE(MAX("id"), 0) FROM "history"').fetchone()[0]
    with database.atomic():  # an instant: writers holding ids finish, new ones wait for the commit just below
        database.execute_sql('LOCK TABLE "history" IN SHARE MODE')
        return database.execute_sql('SELECT COALESCE(MAX("id"), 0) FROM "history"').fetchone()[0]


def _pages_by_id(upto: int | None = None, batch: int = 5000):
    p, after = database.param, 0
    bound = f' AND "id" <= {p}' if upto is not None else ""
    while True:
        args = (after, upto) if upto is not None else (after,)
        page = database.execute_sql(f'{_SELECT} WHERE "id" > {p}{bound} ORDER BY "id" LIMIT {batch}',
                                    args).fetchall()
        yield from page
        if len(page) < batch:
            return
        after = page[-1][0]


def head() -> dict:
    """History's part of an anchor: the settled highest id, the rows up to it and their digest."""
    upto = _horizon()
    state, count = chain.new_digest(), 0
    for row in _pages_by_id(upto):
        chain.digest_step(state, row[0], _link(row))
        count += 1
    return {"id": upto, "count": count, "digest": state.hexdigest()}


# --- verify ------------------------------------------------------------------------------------------------------

@dataclass
class HistoryVerdict:
    ok: bool
    checked: int
    broken_at: int | None = None  # the history row that does not fit (or the anchored id where rows are missing)
    reason: str = ""
    request_id: int | None = None  # the request whose history breaks there
    legacy: int = 0  # rows from before the key
    anchors: int = 0


def verify(batch: int = 5000) -> HistoryVerdict:
    """Every row against its request's chain, then the rows up to each anchor against it."""
    try:
        anchors = chain.read_anchors()
    except chain.AnchorsUnreadable as unreadable:
        return HistoryVerdict(False, 0, None, f"the anchors file cannot be read: {unreadable}")
    if chain.key_mismatch(anchors):
        return HistoryVerdict(False, 0, None, "the audit key is not the one that wrote the anchors")
    marks = sorted((a["history"]["id"], a["history"].get("count"), a["history"].get("digest"), a.get("at", ""))
                   for a in anchors if isinstance(a.get("history"), dict))
    secret = chain.key()

    # 1. each request's chain, pages in (request, id) order
    p, checked, legacy, last = database.param, 0, 0, (0, 0)
    current, prev = None, GENESIS
    while True:
        page = database.execute_sql(f'{_SELECT} WHERE ("request_id", "id") > ({p}, {p}) '
                                    f'ORDER BY "request_id", "id" LIMIT {batch}', last).fetchall()
        for row in page:
            if row[1] != current:
                current, prev = row[1], GENESIS
            message = _message(row)
            if row[11]:
                if row[11] != row_hash(prev, message, secret):
                    return HistoryVerdict(False, checked, row[0], CHANGED, row[1], legacy, len(marks))
                prev = row[11]
            else:
                legacy += 1
                prev = legacy_link(message)
            checked += 1
        if len(page) < batch:
            break
        last = (page[-1][1], page[-1][0])

    # 2. the rows in id order: no legacy row after keyed ones, and the digests up to each anchor
    legacy_until = marks[0][0] if marks else None
    state, count, keyed, k = chain.new_digest(), 0, False, 0

    def anchored_mismatch(mark):
        upto, anchored_count, digest, at = mark
        if count == anchored_count and state.hexdigest() == digest:
            return None
        reason = CUT if anchored_count is not None and count < anchored_count else DIFFERENT
        return HistoryVerdict(False, checked, upto, f"{reason} (anchor of {at})", None, legacy, len(marks))

    for row in _pages_by_id(batch=batch):
        while k < len(marks) and row[0] > marks[k][0]:
            if (broken := anchored_mismatch(marks[k])) is not None:
                return broken
            k += 1
        if row[11]:
            keyed = True
        elif keyed or (legacy_until is not None and row[0] > legacy_until):
            return HistoryVerdict(False, checked, row[0], PLAIN, row[1], legacy, len(marks))
        chain.digest_step(state, row[0], _link(row))
        count += 1
    for mark in marks[k:]:
        if (broken := anchored_mismatch(mark)) is not None:
            return broken
    return HistoryVerdict(True, checked, None, "", None, legacy, len(marks))
