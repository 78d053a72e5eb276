"""gunicorn in production: `gunicorn -c deploy/gunicorn.conf.py wsgi:app` (deploy/systemd/diwan-web.service runs it).

Threads, not processes, carry the concurrency (pages wait on the database, not the CPU): one worker process per core,
four threads each, as `make bench` measured. nginx in front terminates TLS and serves /static itself; gunicorn listens
on loopback only. The app writes one JSON line per request (intranet/ops/logs.py), so gunicorn's access log is off
and its own error log is JSON as well. Each worker keeps its request-latency histogram in PROMETHEUS_MULTIPROC_DIR,
so /metrics sums every worker whichever one answers the scrape.
"""
import multiprocessing
import os
import shutil
from pathlib import Path

bind = os.environ.get("DIWAN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("DIWAN_WORKERS", multiprocessing.cpu_count()))
worker_class = "gthread"
threads = int(os.environ.get("DIWAN_THREADS", 4))
timeout = 60  # a PDF or an XLSX export of a large table takes seconds, never a minute
graceful_timeout = 30
keepalive = 5  # nginx keeps its upstream connections (deploy/nginx/diwan.conf)
max_requests = 5000  # a worker is replaced now and then (jitter: not all at once)
max_requests_jitter = 500
# whose X-Forwarded-* gunicorn believes (the app's ProxyFix, INTRANET_TRUSTED_PROXIES=1, reads them as well)
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
control_socket_disable = True
accesslog = None
errorlog = "-"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "pythonjsonlogger.json.JsonFormatter",
                            "fmt": "{levelname}{name}{message}", "style": "{", "timestamp": True,
                            "rename_fields": {"levelname": "level", "name": "logger"}}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "loggers": {"gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False}},
    "root": {"level": "INFO", "handlers": []},  # the app adds its own, with the request id (intranet/ops/logs.py)
}

# prometheus_client's multiprocess mode: set before the app (and prometheus_client) is imported by a worker
metrics_dir = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/run/diwan/metrics"))


def on_starting(server):
    """A fresh folder at each start: the files of workers from a previous run would be summed for ever."""
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
