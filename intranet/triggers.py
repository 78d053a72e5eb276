"""Starting a job: the one way (`enqueue`), and the queue's health for /healthz.

The database is the truth for every side effect: the row a job carries out (a notification, a webhook delivery, an
exporting payout batch, a queued import batch, a report request) is written first, in the caller's transaction, and
a periodic sweeper in jobs/ picks up any such row whose job never came. So starting the job is only a hastener:

- it waits for the outermost `db.transaction()` to commit (`db.after_commit`; at once outside a transaction), so a
  job never runs before its row is there, and a rolled-back change starts nothing;
- the task is looked up by name when it is sent ("notify.deliver_soon" is `deliver_soon` in `jobs/notify.py`):
  jobs import the application, never the other way round (tests/test_jobs.py checks that nothing under intranet/
  imports `jobs`);
- a queue that is down is logged, never raised to the caller: the change has happened, the sweeper does the rest.

`soon` is for the tasks that send whatever is due (notifications, webhooks): many changes in a burst share one run a
moment later (`<PREFIX>_TRIGGER_DELAY_SECONDS`, off with `<PREFIX>_TRIGGER`; both declared in intranet/config.py).
"""
import importlib
import logging
import threading
import time

from intranet.config import setting
from intranet.db import after_commit
from intranet.ops import logs

log = logging.getLogger(__name__)

_lock = threading.Lock()
_due: dict[str, float] = {}  # per coalesced task: the monotonic time this process's last scheduled run starts


def jobs_package():
    """The `jobs` package (the Huey instance and its tasks), imported when first needed."""
    return importlib.import_module("jobs")


def task(name: str):
    """The task `name` ("module.task" within jobs/)."""
    module, _, attribute = name.rpartition(".")
    return getattr(importlib.import_module(f"jobs.{module}"), attribute)


def enqueue(name: str, *args, delay: float = 0, coalesce: bool = False) -> None:
    """Start the job `name` with `args` once the current transaction commits (now outside one); never raises.

    `delay` runs it that many seconds later. `coalesce` (tasks that take no arguments and send everything due) skips
    it when a run this process scheduled starts at least a moment after this commit: that run will see this
    change's rows too. A task started at once gets an id carrying the current request id and the time
    (`logs.task_id`): the job logs under the request that started it, and /metrics reads how long the queue's head
    has waited."""
    task_id = logs.task_id()
    after_commit(lambda: _send(name, args, delay, coalesce, task_id))


def soon(name: str, prefix: str) -> bool:
    """A sweeping task (`deliver_soon`) a moment after this commit, shared by the changes of a burst; False when
    the `<prefix>_TRIGGER` setting is off."""
    if not setting(f"{prefix}_TRIGGER"):
        return False
    enqueue(name, delay=float(setting(f"{prefix}_TRIGGER_DELAY_SECONDS")), coalesce=True)
    return True


def _send(name, args, delay, coalesce, task_id=None) -> bool:
    if coalesce:
        now = time.monotonic()
        with _lock:
            if _due.get(name, 0.0) - now >= min(1.0, delay / 2):
                return False
            _due[name] = now + delay
    try:
        found = task(name)
        if delay:  # a later run (shared by a burst's changes when coalesced): no one request's id
            found.schedule(args, delay=delay)
        elif hasattr(found, "huey"):
            found.huey.enqueue(found.s(*args, id=task_id or logs.task_id()))
        else:  # a plain function of jobs/ that starts its own tasks (e.g. imports.trigger)
            found(*args)
    except Exception:  # noqa: BLE001  the change must not fail because the queue is down: the sweeper starts it
        log.warning("could not start %s%r; the periodic sweeper will", name, args, exc_info=True)
        if coalesce:
            with _lock:
                _due[name] = 0.0
        return False
    return True


def queue_status() -> dict:
    """The job queue's reachability and its consumer's last beat (jobs.queue_status of the app's queue)."""
    jobs = jobs_package()
    return jobs.queue_status(jobs.huey)
