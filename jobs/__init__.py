"""The Huey instance (SQLite embedded, Redis at scale, chosen by INTRANET_HUEY_URL) and its tasks.

The consumer imports only this package: `huey_consumer jobs.huey`.
"""
import time
from pathlib import Path

from huey import MemoryHuey, RedisHuey, SqliteHuey
from huey.constants import EmptyData

from intranet.ops import logs

HEARTBEAT_KEY = "consumer-heartbeat"
HEARTBEAT_STALE_SECONDS = 150  # the heartbeat runs every minute


def make_huey(url: str):
    if url.startswith("redis://") or url.startswith("rediss://"):
        return RedisHuey("diwan", url=url)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey("diwan", filename=str(path))
    if url == "memory://":
        return MemoryHuey("diwan", immediate=True)
    raise ValueError(f"INTRANET_HUEY_URL must be sqlite:///path, redis://host:port/db or memory://, not {url!r}")


def _default_url() -> str:
    """HUEY_URL as the app's configuration declares it (INTRANET_HUEY_URL, else huey.db in the instance folder):
    the web app and the consumer read the one setting."""
    from intranet.config import load
    return load()["HUEY_URL"]


huey = make_huey(_default_url())
logs.install_job_hooks(huey)  # each task runs and logs under the request id that started it (intranet/ops/logs.py)


def queue_status(instance) -> dict:
    """Reachability of the queue's storage and when a consumer last proved it was running."""
    try:
        pending = instance.pending_count()
        beat = instance.storage.peek_data(HEARTBEAT_KEY)
    except Exception as error:  # redis/sqlite driver errors all mean "not reachable"
        return {"reachable": False, "backend": type(instance).__name__, "error": type(error).__name__}
    last_seen = None if beat is EmptyData else float(beat.decode())
    alive = last_seen is not None and time.time() - last_seen < HEARTBEAT_STALE_SECONDS
    return {"reachable": True, "backend": type(instance).__name__, "pending": pending,
            "consumer": {"last_seen": last_seen, "alive": alive}}


from jobs import automation, bookings, digests, directory, imports, notify, payouts, reminders, renewals, reports, stats, tasks, webhooks  # noqa: E402,F401  (registers the tasks on `huey`)
