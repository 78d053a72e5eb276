"""Jobs started a moment after the current transaction commits (webhooks, notifications)."""
import importlib
import logging
import threading
import time


from intranet.config import setting

log = logging.getLogger(__name__)

DELAY_SECONDS = 2  # the job must run after the change's transaction has committed



class SoonTrigger:
    """Schedule a job a moment after the current transaction, at most once per short interval per process.

    There is no commit hook shared by SQLite and PostgreSQL, so the task is scheduled a little later rather than
    enqueued now (it could otherwise run before the commit and find nothing). A trigger already due in this process
    at least a second from now serves this change too. Losing one (queue unreachable, consumer killed) only delays
    the work until the minute's sweeper.
    """

    def __init__(self, task_path: str, setting_prefix: str, default_delay: float = DELAY_SECONDS):
        self.task_path, self.prefix, self.default_delay = task_path, setting_prefix, default_delay
        self.lock = threading.Lock()
        self.due_at = 0.0  # monotonic time at which this process's last scheduled trigger runs

    def _task(self):
        module, _, name = self.task_path.partition(":")
        return getattr(importlib.import_module(module), name)

    def __call__(self) -> bool:
        if not setting(f"{self.prefix}_TRIGGER", True):
            return False
        delay = float(setting(f"{self.prefix}_TRIGGER_DELAY_SECONDS", self.default_delay))
        now = time.monotonic()
        with self.lock:
            if self.due_at - now >= min(1.0, delay / 2):
                return False
            self.due_at = now + delay
        try:
            self._task().schedule(delay=delay)
        except Exception:  # noqa: BLE001  the change must not fail because the queue is down: the sweeper sends
            log.warning("could not schedule %s; the periodic sweeper will do it", self.task_path, exc_info=True)
            with self.lock:
                self.due_at = 0.0
            return False
        return True
