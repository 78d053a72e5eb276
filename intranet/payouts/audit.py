"""The payouts' audit trail: append-only (database triggers refuse UPDATE, DELETE and, on PostgreSQL, TRUNCATE) and
chained under a key the database does not hold.

Each row's hash is HMAC-SHA256, under the audit key (`intranet/chain.py`: INTRANET_AUDIT_KEY or instance/audit_key),
of the previous row's hash and this row's content in a canonical form. Changing, removing or inserting a row
anywhere breaks every hash after it, and someone with the database's rights but not the key cannot compute hashes
that fit again. Removing the newest rows leaves a chain that fits: the anchors (the chain's head written outside
the database every evening, `anchors.write_anchor`) show that cut. `verify()` walks the chain, checks it against the
anchors and names the first row that does not fit (`diwan audit verify`).

Rows written before the key (migration 0016) carry plain SHA-256 hashes: they are accepted only before the first
keyed row, and only up to the first anchor's head (see `intranet/chain.py`). Which of the two an entry uses is told
by the hash that fits, not by a column: a column saying "legacy" would be as easy for an insider to change as the
hash, and the rules above are what make a plain hash worthless after the key's first entry and first anchor.

Appends are serialised: SQLite's write lock, and on PostgreSQL a transaction-scoped advisory lock, so two
transactions never chain onto the same previous row (payout actions are few; a single chain costs nothing here).
"""
import hashlib
import json
from dataclasses import dataclass

from intranet.i18n import lazy_gettext as _l

from peewee import JOIN

from intranet import chain, db, paging
from intranet.db import database, is_sqlite, transaction
from intranet.models import Staff, utcnow
from intranet.models.payouts import AuditEntry

GENESIS = "0" * 64
_ADVISORY_LOCK = 7_000_001  # any constant shared by every process of this database

# why verify() refuses (English for the command line; EXPLAINED below is the page's wording in the reader's language)
CHANGED = "its content does not match its hash"
RELINKED = "its previous hash is not the hash of the entry before it"
PLAIN = "its hash is a plain SHA-256 where only keyed hashes are accepted (written behind the application's back)"
NOT_ANCHORED = "its hash is not the one anchored outside the database"
CUT = "the entry anchored outside the database is missing: the trail was cut"
OTHER_KEY = "the audit key is not the one that wrote the anchors"
ANCHORS_UNREADABLE = "the anchors file cannot be read"
EXPLAINED = {  # the same in the reader's language, for the audit page (payouts/audit_views.py)
    CHANGED: _l("its content does not match its hash (the entry was changed)"),
    RELINKED: _l("its previous hash is not the hash of the entry before it (an entry was removed or inserted)"),
    PLAIN: _l("its hash is a plain SHA-256 where only keyed hashes are accepted: it was written behind the "
              "application's back"),
    NOT_ANCHORED: _l("its hash is not the one anchored outside the database: the entry was replaced"),
    CUT: _l("the entry anchored outside the database is missing: the newest entries were removed"),
    OTHER_KEY: _l("the audit key is not the one that wrote the anchors"),
    ANCHORS_UNREADABLE: _l("the anchors file cannot be read"),
}


def _content(created_at, actor_id, action, payout_id, details: str) -> bytes:
    return json.dumps({"at": created_at.isoformat(timespec="microseconds"), "actor": actor_id, "action": action,
                       "payout": payout_id, "details": details}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def chain_hash(prev_hash: str, created_at, actor_id, action, payout_id, details: str) -> str:
    """The legacy (before 0016) hash: plain SHA-256, which anyone can recompute."""
    return hashlib.sha256(prev_hash.encode() + _content(created_at, actor_id, action, payout_id, details)).hexdigest()


def keyed_hash(prev_hash: str, created_at, actor_id, action, payout_id, details: str, secret=None) -> str:
    """The hash of every row written now: HMAC-SHA256 under the audit key."""
    return chain.mac(prev_hash.encode() + _content(created_at, actor_id, action, payout_id, details), secret)


def _last_hash() -> str:
    if not is_sqlite():
        database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_ADVISORY_LOCK,))
    last = AuditEntry.select(AuditEntry.hash).order_by(AuditEntry.id.desc()).first()
    return last.hash if last is not None else GENESIS


def append(actor, action: str, payout=None, **details) -> AuditEntry:
    """Add one entry at the end of the chain, in the caller's transaction (or its own)."""
    with transaction():
        prev = _last_hash()
        created_at = utcnow()
        actor_id = actor.id if actor is not None else None
        payout_id = payout.id if payout is not None else None
        text = json.dumps(details, sort_keys=True, ensure_ascii=False, default=str)
        return db.create(AuditEntry, created_at=created_at, actor=actor_id, action=action, payout=payout_id,
                         details=text, prev_hash=prev,
                         hash=keyed_hash(prev, created_at, actor_id, action, payout_id, text))


COLUMNS = ("created_at", "actor_id", "action", "payout_id", "details", "prev_hash", "hash")


def append_many(actor, action: str, entries, chunk: int = 5000) -> int:
    """Add one entry per (payout_id, details) of `entries` (an iterable), chained in order, in the caller's
    transaction: the per-payout trail of an action on a whole batch, written in bulk. Returns how many."""
    actor_id = actor.id if actor is not None else None
    stamp = AuditEntry.created_at.db_value
    secret = chain.key()
    added = 0
    with transaction():
        prev = _last_hash()
        rows = []
        for payout_id, details in entries:
            created_at = utcnow()
            text = json.dumps(details, sort_keys=True, ensure_ascii=False, default=str)
            digest = keyed_hash(prev, created_at, actor_id, action, payout_id, text, secret)
            rows.append((stamp(created_at), actor_id, action, payout_id, text, prev, digest))
            prev = digest
            if len(rows) >= chunk:
                added += db.bulk_write(AuditEntry._meta.table_name, COLUMNS, rows)
                rows = []
        added += db.bulk_write(AuditEntry._meta.table_name, COLUMNS, rows)
    return added


def entries_page(before, size: int) -> tuple[list[AuditEntry], int | None]:
    """One page of entries with their actors, newest first, and the id to continue before (None on the last page)."""
    return paging.page(AuditEntry.select(AuditEntry, Staff).join(Staff, JOIN.LEFT_OUTER,
                                                                  on=(AuditEntry.actor == Staff.id)),
                       AuditEntry.id, before, size, descending=True)


def head() -> dict:
    """The chain's newest entry and how many there are, for an anchor. Appends commit in chain order (the lock
    is held to commit), so what this sees is a whole prefix of the chain."""
    last = AuditEntry.select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).first()
    return {"id": last.id if last else 0, "hash": last.hash if last else "",
            "count": AuditEntry.select().count() if last else 0}


@dataclass
class Verdict:
    ok: bool
    checked: int
    broken_at: int | None = None  # the id of the first entry that does not fit (or of the anchored one missing)
    reason: str = ""
    legacy: int = 0  # entries written before the key, with plain SHA-256 hashes, accepted at the chain's start
    anchors: int = 0  # anchors the chain was checked against


def verify(batch: int = 5000) -> Verdict:
    """Walk the whole chain in id order, a page at a time (it may be millions of rows), then check the anchors."""
    try:
        anchors = chain.read_anchors()
    except chain.AnchorsUnreadable:
        return Verdict(False, 0, None, ANCHORS_UNREADABLE)
    if chain.key_mismatch(anchors):
        return Verdict(False, 0, None, OTHER_KEY)
    heads = [a["payout_audit"] for a in anchors if isinstance(a.get("payout_audit"), dict)]
    anchored = {h["id"]: h.get("hash") for h in heads if h.get("id")}
    legacy_until = min((h.get("id") or 0 for h in heads), default=None)  # None: no anchor yet
    secret = chain.key()
    prev, checked, after, keyed, legacy, seen = GENESIS, 0, 0, False, 0, set()
    while True:
        page = list(AuditEntry.select().where(AuditEntry.id > after).order_by(AuditEntry.id).limit(batch))
        for entry in page:
            if entry.prev_hash != prev:
                return Verdict(False, checked, entry.id, RELINKED, legacy, len(anchors))
            values = (entry.created_at, entry.actor_id, entry.action, entry.payout_id, entry.details)
            if entry.hash == keyed_hash(prev, *values, secret):
                keyed = True
            elif entry.hash == chain_hash(prev, *values):
                if keyed or (legacy_until is not None and entry.id > legacy_until):
                    return Verdict(False, checked, entry.id, PLAIN, legacy, len(anchors))
                legacy += 1
            else:
                return Verdict(False, checked, entry.id, CHANGED, legacy, len(anchors))
            if entry.id in anchored:
                if anchored[entry.id] != entry.hash:
                    return Verdict(False, checked, entry.id, NOT_ANCHORED, legacy, len(anchors))
                seen.add(entry.id)
            prev, checked, after = entry.hash, checked + 1, entry.id
        if len(page) < batch:
            break
    missing = sorted(set(anchored) - seen)
    if missing:
        return Verdict(False, checked, missing[0], CUT, legacy, len(anchors))
    return Verdict(True, checked, None, "", legacy, len(anchors))
