"""GET /metrics in the Prometheus text format (issue 21, prometheus_client).

- Request latency: a histogram by url rule (`/requests/<int:request_id>`, never the raw path: one series per page,
  not per request), method and status, observed when each answer is finished (the start is `logs.elapsed`).
  Under gunicorn with several workers each process keeps its own; deploy/gunicorn.conf.py sets
  PROMETHEUS_MULTIPROC_DIR so that a scrape, whichever worker answers it, sums them all (prometheus_client's
  multiprocess mode).
- The rest is read from the database and the queue at each scrape (`DatabaseCollector`), with counts the indexes
  answer: open and overdue requests per department (the dashboard's counts: `stats/open_work.py`),
  notifications waiting and given up on in the last day, webhook deliveries failed or waiting (status indexes), payout export batches by status,
  report requests waiting, the job queue's depth and how long its head has waited (`logs.waited`) and the consumer's
  heartbeat age. A source that does not answer is left out of that scrape and counted in diwan_scrape_errors.
- Access: a scraper sending `Authorization: Bearer <METRICS_TOKEN>` or coming from METRICS_ALLOW_IPS (the client
  address as ProxyFix gives it behind a trusted proxy); with neither configured /metrics is refused to everyone (404,
  as if it did not exist). The figures say how much work the institution has: not for everybody.
"""
import datetime as dt
import hmac
import ipaddress
import os
import time
from collections import defaultdict

import peewee as pw
from flask import Blueprint, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

from intranet import context, triggers
from intranet.models import Department, Notification, PayoutBatch, ReportRequest, WebhookDelivery, utcnow
from intranet.ops import logs
from intranet.stats import open_work

bp = Blueprint("metrics", __name__)

_PROCESS = CollectorRegistry()  # what this process observes (with its siblings' in multiprocess mode)
LATENCY = Histogram("diwan_http_request_duration_seconds", "Time to answer a request, by url rule",
                    ["route", "method", "status"], registry=_PROCESS,
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


def observe(response):
    seconds = logs.elapsed()
    if seconds is not None:
        asked = context.request()  # (not werkzeug's proxy: intranet/context.py)
        route = asked.url_rule.rule if asked.url_rule else "(unmatched)"
        LATENCY.labels(route, asked.method, str(response.status_code)).observe(seconds)
    return response


class DatabaseCollector:
    """Gauges computed at scrape from the database and the queue (needs an app context)."""

    def collect(self):
        errors = GaugeMetricFamily("diwan_scrape_errors", "Sources that did not answer this scrape", labels=["source"])
        for source in (self._requests, self._outboxes, self._exports, self._queue):
            try:
                yield from source()
            except Exception:  # noqa: BLE001  one source down must not hide the others
                current_app.logger.warning("metrics: %s did not answer", source.__name__, exc_info=True)
                errors.add_metric([source.__name__.strip("_")], 1)
        yield errors

    def _requests(self):
        codes = dict(Department.select(Department.id, Department.code).tuples())
        rows = defaultdict(lambda: [0, 0])  # the dashboard's figures (open_work), summed per department
        for (department_id, _type), states in open_work.open_now(now=utcnow())["by_type"].items():
            rows[department_id][0] += sum(states.values())
            rows[department_id][1] += states["overdue"]
        open_items = GaugeMetricFamily("diwan_open_requests", "Open requests", labels=["department"])
        late = GaugeMetricFamily("diwan_overdue_requests", "Open requests past their due date (clock running)",
                                 labels=["department"])
        seen = {}
        for department_id, (count, overdue_count) in rows.items():
            seen[department_id] = (count, overdue_count)
        for department_id, code in sorted(codes.items(), key=lambda item: item[1]):
            count, overdue_count = seen.get(department_id, (0, 0))
            open_items.add_metric([code], count)
            late.add_metric([code], overdue_count)
        yield open_items
        yield late

    def _outboxes(self):
        waiting = GaugeMetricFamily("diwan_notifications_waiting", "Notifications queued or being sent",
                                    labels=["channel", "status"])
        for channel, status, count in (Notification.select(Notification.channel, Notification.status,
                                                           pw.fn.COUNT(Notification.id))
                                       .where(Notification.status.in_(("queued", "sending")))
                                       .group_by(Notification.channel, Notification.status).tuples()):
            waiting.add_metric([channel, status], count)
        yield waiting
        # failed ones stay for years (the desk calls those citizens): the last day's, from the (status, failed_at) index
        failed = GaugeMetricFamily("diwan_notifications_failed_last_day", "Notifications given up on in the last 24 h",
                                   labels=["channel"])
        since = utcnow() - dt.timedelta(days=1)
        for channel, count in (Notification.select(Notification.channel, pw.fn.COUNT(Notification.id))
                               .where((Notification.status == "failed") & (Notification.failed_at >= since))
                               .group_by(Notification.channel).tuples()):
            failed.add_metric([channel], count)
        yield failed
        webhooks = GaugeMetricFamily("diwan_webhook_deliveries", "Webhook deliveries failed for good or waiting",
                                     labels=["status"])
        for status, count in (WebhookDelivery.select(WebhookDelivery.status, pw.fn.COUNT(WebhookDelivery.id))
                              .where(WebhookDelivery.status.in_(("failed", "pending", "sending")))
                              .group_by(WebhookDelivery.status).tuples()):
            webhooks.add_metric([status], count)
        yield webhooks

    def _exports(self):
        batches = GaugeMetricFamily("diwan_payout_batches", "Payout batches (export runs) by status", labels=["status"])
        for status, count in (PayoutBatch.select(PayoutBatch.status, pw.fn.COUNT(PayoutBatch.id))
                              .group_by(PayoutBatch.status).tuples()):
            batches.add_metric([status], count)
        yield batches
        yield GaugeMetricFamily("diwan_export_runs", "Payout export runs started, all batches together",
                                value=PayoutBatch.select(pw.fn.COALESCE(pw.fn.SUM(PayoutBatch.runs), 0))
                                .scalar())
        yield GaugeMetricFamily("diwan_report_requests_waiting", "Documents asked for and not produced yet",
                                value=ReportRequest.select().where(ReportRequest.produced_at.is_null()).count())

    def _queue(self):
        jobs = triggers.jobs_package()
        huey = jobs.huey
        yield GaugeMetricFamily("diwan_job_queue_depth", "Tasks waiting in the job queue", value=huey.pending_count())
        yield GaugeMetricFamily("diwan_job_queue_scheduled", "Tasks scheduled for later", value=huey.scheduled_count())
        head = huey.pending(limit=1)
        lag = logs.waited(head[0]) if head else 0.0
        if lag is not None:  # a periodic task's id says nothing of when it was enqueued
            yield GaugeMetricFamily("diwan_job_queue_lag_seconds", "How long the next task has waited", value=lag)
        beat = jobs.queue_status(huey).get("consumer", {}).get("last_seen")
        if beat is not None:
            yield GaugeMetricFamily("diwan_job_consumer_heartbeat_age_seconds", "Seconds since a consumer last beat",
                                    value=max(0.0, time.time() - beat))


def _allowed() -> bool:
    config = current_app.config
    token, networks = config["METRICS_TOKEN"], config["METRICS_ALLOW_IPS"]
    sent = request.headers.get("Authorization", "")
    if token and sent.startswith("Bearer ") and hmac.compare_digest(sent[7:].encode(), token.encode()):
        return True
    if networks and request.remote_addr:
        try:
            address = ipaddress.ip_address(request.remote_addr)
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(network, strict=False) for network in networks)
    return False


class _ThisProcess:
    def collect(self):
        return _PROCESS.collect()


def registry() -> CollectorRegistry:
    """What a scrape reports: the latency of every worker (or of this process) and the database's gauges."""
    scraped = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(scraped)
    else:
        scraped.register(_ThisProcess())
    scraped.register(DatabaseCollector())
    return scraped


@bp.route("/metrics")
def metrics():
    if not _allowed():
        abort(404)
    return generate_latest(registry()), 200, {"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"}


def check(networks) -> None:
    """METRICS_ALLOW_IPS must be addresses or networks: a wrong one stops the start with its name."""
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ValueError(f"INTRANET_METRICS_ALLOW_IPS: {network!r} is not an address or a network") from None


def init_app(app) -> None:
    check(app.config["METRICS_ALLOW_IPS"])
    app.after_request_funcs.setdefault(None, []).insert(0, observe)
    app.register_blueprint(bp)
