"""Structured logs (issue 21): one JSON object a line (python-json-logger), each carrying the request id.

- Every answer gets a request id: the one nginx sends in `X-Request-Id` when the proxy is trusted
  (`TRUSTED_PROXIES`) and the id is well formed, else a new one. It is sent back in `X-Request-Id`, set in a context
  variable that a logging filter adds to every record written while the answer is made, and the answer ends with
  one line (`intranet.access`): method, url rule, path (never the query string: it may hold a national ID),
  status, milliseconds, the signed-in person's id.
- The jobs a request starts carry the id: `triggers.enqueue` names the Huey task `<request id>.<enqueued ms>.<random>`
  (`task_id`), and the hooks `install_job_hooks` puts on the queue (jobs/__init__.py) set the id for the task's run
  and log its start (with the time it waited in the queue) and its end (`intranet.jobs`). Periodic tasks have
  ordinary ids and log without one.
- LOG_FORMAT: "json" (default), "text" (plain lines, the id in brackets), "none" (logging is left to the host's
  configuration). One handler on the root logger, installed once per process; it writes to the stderr of the
  moment (journald under systemd).
"""
import contextvars
import datetime as dt
import logging
import re
import sys
import time
import uuid

from pythonjsonlogger.json import JsonFormatter

from intranet import context

FORMATS = ("json", "text", "none")
HEADER = "X-Request-Id"
_WELL_FORMED = re.compile(r"[A-Za-z0-9_-]{8,64}\Z")
_HANDLER = "diwan"

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("diwan_request_id", default=None)
access_log = logging.getLogger("intranet.access")
job_log = logging.getLogger("intranet.jobs")


class RequestIdFilter(logging.Filter):
    """Adds the current request id (None outside a request or job) to every record."""

    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return True


class _StderrHandler(logging.StreamHandler):
    """Writes to sys.stderr as it is at each line (a test runner or a daemon may swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter("{levelname}{name}{message}{request_id}", style="{", timestamp=True,
                             rename_fields={"levelname": "level", "name": "logger"})
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")


def configure(log_format: str, level: str) -> None:
    """The root logger's one handler, in the configured format (again: the format and level are replaced)."""
    if log_format not in FORMATS:
        raise ValueError(f"INTRANET_LOG_FORMAT must be one of {', '.join(FORMATS)}, not {log_format!r}")
    if log_format == "none":
        return
    root = logging.getLogger()
    handler = next((h for h in root.handlers if h.get_name() == _HANDLER), None)
    if handler is None:
        handler = _StderrHandler()
        handler.set_name(_HANDLER)
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
    handler.setFormatter(formatter(log_format))
    root.setLevel(level.upper())


def _incoming(app, asked) -> str | None:
    sent = asked.headers.get(HEADER, "")
    return sent if app.config["TRUSTED_PROXIES"] and _WELL_FORMED.match(sent) else None


def elapsed() -> float | None:
    """Seconds since this answer began (None outside one this module saw begin)."""
    here = context.g()
    started = None if here is None else here.get("request_started")
    return None if started is None else time.perf_counter() - started


def init_app(app) -> None:
    configure(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])

    # (the hooks read the real `g` and request, not werkzeug's proxies: intranet/context.py)
    def begin():
        here = context.g()
        here.request_started = time.perf_counter()
        here.request_id = _incoming(app, context.request()) or uuid.uuid4().hex
        here.request_id_token = request_id.set(here.request_id)

    def finish(response):
        here, asked = context.g(), context.request()
        rid = here.get("request_id")
        if rid is None:
            return response
        response.headers[HEADER] = rid
        user = here.get("_login_user")  # only when the answer read the person: logging never loads them
        access_log.info("request", extra={
            "method": asked.method, "route": asked.url_rule.rule if asked.url_rule else None,
            "path": asked.path, "status": response.status_code, "duration_ms": round(elapsed() * 1000, 2),
            "user_id": user.id if user is not None and user.is_authenticated else None,
            "remote_addr": asked.remote_addr})
        return response

    def end(_error=None):
        token = context.g().pop("request_id_token", None)
        if token is not None:
            request_id.reset(token)

    # first in, last out: the time and the line cover every other hook
    app.before_request_funcs.setdefault(None, []).insert(0, begin)
    app.after_request_funcs.setdefault(None, []).insert(0, finish)
    app.teardown_request_funcs.setdefault(None, []).append(end)


# --- jobs ---------------------------------------------------------------------------------------------------------

def task_id() -> str:
    """The id of a task started now: the current request id (or "-"), the time in ms, a random part."""
    return f"{request_id.get() or '-'}.{int(time.time() * 1000)}.{uuid.uuid4().hex}"


def parse_task_id(value: str) -> tuple[str | None, float | None]:
    """(request id, enqueued at in epoch seconds) of an id made by `task_id`; (None, None) for any other id."""
    parts = str(value).split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return None, None
    return (None if parts[0] == "-" else parts[0]), int(parts[1]) / 1000


def waited(task, now: float | None = None) -> float | None:
    """Seconds a task has waited to run: since it was enqueued, or since its eta for a scheduled one."""
    _, enqueued = parse_task_id(task.id)
    if task.eta is not None:
        eta = task.eta if task.eta.tzinfo else task.eta.replace(tzinfo=dt.timezone.utc)  # Huey keeps UTC, naive
        due = eta.timestamp()
        enqueued = due if enqueued is None else max(enqueued, due)
    return None if enqueued is None else max(0.0, (now or time.time()) - enqueued)


def install_job_hooks(huey) -> None:
    """Each task runs under the request id it was started with, and logs its start and its end. The consumer's
    logging is configured here, when it loads the queue, before any task has created the app."""
    from intranet.config import setting

    configure(setting("LOG_FORMAT"), setting("LOG_LEVEL"))

    @huey.pre_execute("diwan_request_id")
    def started(task):
        task.diwan_previous_id = request_id.get()
        task.diwan_started = time.perf_counter()
        rid, _ = parse_task_id(task.id)
        request_id.set(rid)
        lag = waited(task)
        job_log.info("job started", extra={"task": task.name, "task_id": task.id,
                                           "waited_ms": None if lag is None else round(lag * 1000, 1)})

    @huey.post_execute("diwan_request_id")
    def finished(task, _value, error):
        duration = time.perf_counter() - getattr(task, "diwan_started", time.perf_counter())
        (job_log.warning if error else job_log.info)(
            "job finished", extra={"task": task.name, "task_id": task.id, "duration_ms": round(duration * 1000, 1),
                                   "outcome": "error" if error else "ok",
                                   "error": type(error).__name__ if error else None})
        request_id.set(getattr(task, "diwan_previous_id", None))
