"""Anchoring the two audit chains: the heads of the payouts' audit trail and of the requests' history, appended
to the anchors file (`chain.anchors_path`) every evening and by `diwan audit anchor`. Above both chains, which only
read anchors (`chain.read_anchors`), so neither imports the other."""
import datetime as dt
import json
import os

from intranet import chain, history_chain
from intranet.payouts import audit


def write_anchor() -> dict:
    """Append the heads of both chains to the anchors file (one JSON line, flushed to disk); returns it."""
    with chain.anchors_lock():
        record = {"at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "key": chain.key_id(),
                  "payout_audit": audit.head(), "history": history_chain.head()}
        line = (json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n").encode()
        fd = os.open(chain.anchors_path(), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
    return record
