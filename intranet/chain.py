"""What the keyed audit chains share (issue 14): the audit key kept outside the database, the MAC, and the anchors
file that pins the chains' heads outside the database.

Two chains use them: the payouts' audit trail (`payouts/audit.py`) and the requests' history (`history_chain.py`).
The threat is an insider with the database's owner rights: they can lift the append-only triggers, change or
remove rows and recompute any plain hash. So

- every hash is an HMAC-SHA256 under a key the database never holds: `INTRANET_AUDIT_KEY`, else a key generated
  once into `instance/audit_key` (mode 0600, like the session secret). Without it a changed row cannot be given a
  hash that fits. Keep the key out of database backups and away from database administrators; losing it makes
  every keyed row unverifiable (`verify` then says the key is not the one that wrote the anchors).
- a chain cannot show that its newest rows were cut off. `anchors.write_anchor()` (the evening job that produces the daily
  summary, and `diwan audit anchor`) appends both heads, as one JSON line, to `audit-anchors.jsonl` in the report
  archive (`INTRANET_REPORT_ARCHIVE_DIR`, a volume the database's administrators need not write to); the daily
  summary prints the payouts' head. `verify` checks the chains against every anchor: a row anchored that is gone,
  or a different count or digest up to an anchored id, is a cut.

Rows written before the key existed (migration 0016 cannot know it) are "legacy": plain SHA-256 for the payouts'
trail, no hash at all for history. They are accepted only before the first keyed row and at or below the first
anchor's head (every row written after an anchor was written by keyed code). Legacy rows are thus as weak as before
until the first anchor, which then pins them (their content is in its digest): run `diwan audit anchor` once after
upgrading. There is no re-keying command: one would let an insider re-sign what they changed.
"""
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import secrets
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from flask import current_app, has_app_context

KEY_FILE = "audit_key"
ANCHORS_FILE = "audit-anchors.jsonl"
_keys: dict = {}  # instance folder -> key read from its file (the file never changes once written)
_bases: dict = {}  # key -> HMAC state after the key: each MAC copies it instead of hashing the key again


def key() -> bytes:
    """The audit key: INTRANET_AUDIT_KEY, else instance/audit_key (created on first use)."""
    config = current_app.config if has_app_context() else _environment()  # the bench seeds without an app
    configured = config["AUDIT_KEY"]
    if configured:
        return configured.encode()
    instance = Path(config["INSTANCE_DIR"])
    if instance not in _keys:
        _keys[instance] = _instance_key(instance)
    return _keys[instance]


@cache
def _environment() -> dict:
    from intranet.config import load
    return load()


def _instance_key(instance: Path) -> bytes:
    path = instance / KEY_FILE
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        # written aside then linked: two processes starting at once end up with the same key, never half a file
        partial = instance / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_hex(32).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(partial, path)
        except FileExistsError:
            pass
        finally:
            partial.unlink()
    secret = path.read_text().strip().encode()
    if not secret:
        raise RuntimeError(f"{path} is empty: restore the audit key from its backup (it is never in the database)")
    return secret


def mac(message: bytes, secret: bytes | None = None) -> str:
    """HMAC-SHA256 of `message` under the audit key, as 64 hex digits."""
    secret = secret if secret is not None else key()
    base = _bases.get(secret)
    if base is None:
        base = _bases[secret] = hmac.new(secret, digestmod="sha256")
    state = base.copy()
    state.update(message)
    return state.hexdigest()


def key_id(secret: bytes | None = None) -> str:
    """Names the key without revealing it: an anchor written under another key says so."""
    return mac(b"diwan audit key", secret)[:16]


# --- anchors ---------------------------------------------------------------------------------------------------------

class AnchorsUnreadable(Exception):
    pass


def anchors_path() -> Path:
    return Path(current_app.config["REPORT_ARCHIVE_DIR"]) / ANCHORS_FILE


@contextmanager
def anchors_lock():
    """One anchor written at a time (the evening job and the command may meet)."""
    path = anchors_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(f".{ANCHORS_FILE}.lock"), os.O_WRONLY | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def read_anchors() -> list[dict]:
    """Every anchor in the order written ([] before the first)."""
    try:
        text = anchors_path().read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    anchors = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise AnchorsUnreadable(f"line {number} of {anchors_path()} is not JSON") from None
        if not _well_formed(record):
            raise AnchorsUnreadable(f"line {number} of {anchors_path()} is not an anchor")
        anchors.append(record)
    return anchors


def _well_formed(record) -> bool:
    def fields(part, kinds):
        return isinstance(part, dict) and all(isinstance(part.get(name), kind) for name, kind in kinds.items())
    try:
        dt.datetime.fromisoformat(record["at"])
    except (TypeError, KeyError, ValueError):
        return False
    return (isinstance(record.get("key"), str)
            and fields(record.get("payout_audit"), {"id": int, "hash": str, "count": int})
            and fields(record.get("history"), {"id": int, "count": int, "digest": str}))


def latest_anchor() -> dict | None:
    try:
        anchors = read_anchors()
    except AnchorsUnreadable:
        return None
    return anchors[-1] if anchors else None


def key_mismatch(anchors: list[dict]) -> bool:
    """The newest anchor was written under another key than the one configured now."""
    return bool(anchors) and anchors[-1].get("key") not in (None, key_id())


def printed() -> dict | None:
    """The newest anchor as the daily summary prints it: when, the payouts' head (id, first 16 hex digits of its
    hash) and history's (highest id, first 16 hex digits of the digest). None before the first anchor."""
    anchor = latest_anchor()
    if not anchor:
        return None
    payouts, history = anchor.get("payout_audit") or {}, anchor.get("history") or {}
    at = dt.datetime.fromisoformat(anchor["at"]).astimezone(dt.timezone.utc).replace(tzinfo=None)
    return {"at": at, "payout_id": payouts.get("id") or 0, "payout_hash": (payouts.get("hash") or "")[:16],
            "history_id": history.get("id") or 0, "history_digest": (history.get("digest") or "")[:16]}


def digest_step(state, row_id: int, link: str):
    """The running digest of a chain's rows in id order (`state`: a hashlib object)."""
    state.update(f"{row_id}:{link}\n".encode())
    return state


def new_digest():
    return hashlib.sha256()
