"""The payouts' audit trail: append-only (database triggers refuse UPDATE and DELETE) and hash-chained.

Each row's hash is SHA-256 of the previous row's hash and this row's content in a canonical form, so changing,
removing or inserting a row anywhere breaks every hash after it; `verify()` walks the chain and names the first
row that does not fit (`diwan audit verify`). Appends are serialised: SQLite's write lock, and on PostgreSQL a
transaction-scoped advisory lock, so two transactions never chain onto the same previous row.
"""
import hashlib
import json
from dataclasses import dataclass

from intranet import db
from intranet.db import database, is_sqlite, transaction
from intranet.models import utcnow
from intranet.models.payouts import AuditEntry

GENESIS = "0" * 64
_ADVISORY_LOCK = 7_000_001  # any constant shared by every process of this database


def _content(created_at, actor_id, action, payout_id, details: str) -> bytes:
    return json.dumps({"at": created_at.isoformat(timespec="microseconds"), "actor": actor_id, "action": action,
                       "payout": payout_id, "details": details}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def chain_hash(prev_hash: str, created_at, actor_id, action, payout_id, details: str) -> str:
    return hashlib.sha256(prev_hash.encode() + _content(created_at, actor_id, action, payout_id, details)).hexdigest()


def append(actor, action: str, payout=None, **details) -> AuditEntry:
    """Add one entry at the end of the chain, in the caller's transaction (or its own)."""
    with transaction():
        if not is_sqlite():
            database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_ADVISORY_LOCK,))
        last = AuditEntry.select(AuditEntry.hash).order_by(AuditEntry.id.desc()).first()
        prev = last.hash if last is not None else GENESIS
        created_at = utcnow()
        actor_id = actor.id if actor is not None else None
        payout_id = payout.id if payout is not None else None
        text = json.dumps(details, sort_keys=True, ensure_ascii=False, default=str)
        return db.create(AuditEntry, created_at=created_at, actor=actor_id, action=action, payout=payout_id,
                         details=text, prev_hash=prev,
                         hash=chain_hash(prev, created_at, actor_id, action, payout_id, text))


COLUMNS = ("created_at", "actor_id", "action", "payout_id", "details", "prev_hash", "hash")


def append_many(actor, action: str, entries, chunk: int = 5000) -> int:
    """Add one entry per (payout_id, details) of `entries` (an iterable), chained in order, in the caller's
    transaction: the per-payout trail of an action on a whole batch, written in bulk. Returns how many."""
    actor_id = actor.id if actor is not None else None
    stamp = AuditEntry.created_at.db_value
    added = 0
    with transaction():
        if not is_sqlite():
            database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_ADVISORY_LOCK,))
        last = AuditEntry.select(AuditEntry.hash).order_by(AuditEntry.id.desc()).first()
        prev = last.hash if last is not None else GENESIS
        rows = []
        for payout_id, details in entries:
            created_at = utcnow()
            text = json.dumps(details, sort_keys=True, ensure_ascii=False, default=str)
            digest = chain_hash(prev, created_at, actor_id, action, payout_id, text)
            rows.append((stamp(created_at), actor_id, action, payout_id, text, prev, digest))
            prev = digest
            if len(rows) >= chunk:
                added += db.bulk_write(AuditEntry._meta.table_name, COLUMNS, rows)
                rows = []
        added += db.bulk_write(AuditEntry._meta.table_name, COLUMNS, rows)
    return added


@dataclass
class Verdict:
    ok: bool
    checked: int
    broken_at: int | None = None  # the id of the first entry that does not fit
    reason: str = ""


def verify(batch: int = 5000) -> Verdict:
    """Walk the whole chain in id order, a page at a time (it may be millions of rows)."""
    prev, checked, after = GENESIS, 0, 0
    while True:
        page = list(AuditEntry.select().where(AuditEntry.id > after).order_by(AuditEntry.id).limit(batch))
        if not page:
            return Verdict(True, checked)
        for entry in page:
            if entry.prev_hash != prev:
                return Verdict(False, checked, entry.id, "its previous hash is not the hash of the entry before it")
            expected = chain_hash(prev, entry.created_at, entry.actor_id, entry.action, entry.payout_id,
                                  entry.details)
            if entry.hash != expected:
                return Verdict(False, checked, entry.id, "its content does not match its hash")
            prev, checked, after = entry.hash, checked + 1, entry.id
