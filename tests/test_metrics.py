"""/metrics (issue 21): Prometheus text, latency by url rule, the database's gauges at scrape, access by token or
address only."""
import datetime as dt
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from intranet.models import Notification, Request, utcnow
from intranet.ops import logs, metrics
from intranet.stats import open_work
from tests.factories import make_request
from tests.test_jobs import redis_url  # noqa: F401  (a real Redis, for the queue's gauges)

TOKEN = "scraper-token-0123456789abcdef"


def samples(text: str) -> dict:
    """{(name, frozenset(labels)): value} of an exposition."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def scrape(client, **headers):
    return client.get("/metrics", headers=headers)


def test_refused_unless_configured(app, client):
    assert scrape(client).status_code == 404  # nothing configured: refused to all
    app.config["METRICS_TOKEN"] = TOKEN
    assert scrape(client).status_code == 404
    assert scrape(client, Authorization="Bearer wrong").status_code == 404
    assert scrape(client, Authorization=f"Bearer {TOKEN}").status_code == 200


def test_allowed_addresses(app, client):
    app.config["METRICS_ALLOW_IPS"] = ("10.0.0.0/8",)
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.2.3.4"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.168.1.9"}).status_code == 404
    with pytest.raises(ValueError, match="METRICS_ALLOW_IPS.*'ten'"):
        metrics.check(("ten",))


def test_latency_by_url_rule_and_gauges_per_department(app, client, data, auth):
    app.config["METRICS_TOKEN"] = TOKEN
    with data():
        late, on_time = make_request(), make_request()
        Request.update(due_at=utcnow() - dt.timedelta(days=2)).where(Request.id == late.id).execute()
        open_work.recount()  # the due date was written past the workflow, which keeps the open work counted
        queued = Notification.select().where(Notification.status == "queued").count()
        gone = Notification.select().where(Notification.request == late).first()
        Notification.update(status="failed", failed_at=utcnow()).where(Notification.id == gone.id).execute()
    auth.login("health1")
    for tracking_number in (late.tracking_number, on_time.tracking_number):
        assert client.get(f"/requests/{tracking_number}").status_code == 200
    found = samples(scrape(client, Authorization=f"Bearer {TOKEN}").text)
    routes = {dict(labels)["route"]: value for (name, labels), value in found.items()
              if name == "diwan_http_request_duration_seconds_count" and dict(labels)["status"] == "200"}
    assert routes["/requests/<tracking_number>"] >= 2  # one series for the url rule ...
    assert not any(late.tracking_number in route for route in routes)  # ... never the raw path
    assert found[("diwan_open_requests", frozenset({("department", "health")}))] == 2
    assert found[("diwan_overdue_requests", frozenset({("department", "health")}))] == 1
    assert found[("diwan_open_requests", frozenset({("department", "compensation")}))] == 0
    assert found[("diwan_notifications_failed_last_day", frozenset({("channel", gone.channel)}))] == 1
    assert sum(value for (name, labels), value in found.items()
               if name == "diwan_notifications_waiting" and dict(labels)["status"] == "queued") == queued - 1
    assert found[("diwan_job_queue_depth", frozenset())] == 0  # the tests' queue runs tasks inline
    assert ("diwan_report_requests_waiting", frozenset()) in found
    assert ("diwan_scrape_errors", frozenset()) not in found and not any(
        name == "diwan_scrape_errors" for name, _ in found)


def test_queue_lag_is_read_from_the_head_task_id():
    class Task:
        eta = None
        id = "abcdef0123456789.1000000.ff"

    assert logs.parse_task_id(Task.id) == ("abcdef0123456789", 1000.0)
    assert logs.waited(Task, now=1012.5) == 12.5
    Task.id = "7b4f0c0e-a periodic uuid"
    assert logs.waited(Task, now=1012.5) is None
    Task.eta = dt.datetime(1970, 1, 1, 0, 16, 40)  # 1000 s, naive UTC as Huey keeps it
    assert logs.waited(Task, now=1003.0) == 3.0


@pytest.fixture(params=["sqlite", "redis"])
def queue(request, tmp_path, monkeypatch):
    """The app's queue (its tasks registered) on a real SQLite file or Redis server."""
    import jobs

    url = request.getfixturevalue("redis_url") if request.param == "redis" else f"sqlite:///{tmp_path / 'q.db'}"
    monkeypatch.setattr(jobs.huey, "storage", jobs.make_huey(url).storage)
    jobs.huey.storage.flush_queue()
    yield jobs.huey
    jobs.huey.storage.flush_queue()


def test_queue_depth_and_lag_on_sqlite_and_redis(queue):
    import jobs.tasks

    waited_since = int((time.time() - 30) * 1000)
    for n in range(3):
        task = jobs.tasks.sweep_orphan_attachments.s(id=f"req{n}abcdef.{waited_since + n * 1000}.{n:032x}")
        queue.storage.enqueue(queue.serialize_task(task), task.priority)
    found = {family.name: family.samples[0].value for family in metrics.DatabaseCollector()._queue()}
    assert found["diwan_job_queue_depth"] == 3 and found["diwan_job_queue_scheduled"] == 0
    assert 29.9 <= found["diwan_job_queue_lag_seconds"] < 60  # the head: the oldest of the three, from its id
