"""Jobs through a real consumer process, on Huey's SQLite storage and on Redis."""
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from intranet.models import Attachment
from huey.api import Result

from jobs import huey, make_huey, queue_status
from jobs.tasks import heartbeat, sweep_orphan_attachments
from tests.factories import make_request, upload
from tests.servers import Redis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def redis_url():
    server = Redis(Path(tempfile.mkdtemp(prefix="diwan-redis-"))).start()
    yield server.url
    server.stop()


@pytest.fixture(params=["sqlite", "redis"])
def queue_url(request, tmp_path):
    if request.param == "redis":
        return request.getfixturevalue("redis_url")
    return f"sqlite:///{tmp_path / 'huey.db'}"


@pytest.fixture
def consumer(app, queue_url, tmp_path):
    """A real huey_consumer process reading `queue_url`, with the test's database and attachment folder."""
    env = dict(os.environ, INTRANET_HUEY_URL=queue_url, INTRANET_DATABASE_URL=app.config["DATABASE_URL"],
               INTRANET_INSTANCE_DIR=str(tmp_path), INTRANET_ATTACHMENT_DIR=str(app.config["ATTACHMENT_DIR"]),
               INTRANET_SECRET_KEY="test")
    queue = make_huey(queue_url)
    queue.storage.flush_all()  # a shared Redis keeps the previous test's heartbeat
    proc = subprocess.Popen([sys.executable, "-m", "huey.bin.huey_consumer", "jobs.huey", "-k", "thread",
                             "-w", "1", "-d", "0.05", "-m", "0.1", "-n"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "consumer.log", "w"))
    yield queue
    proc.terminate()
    proc.wait(timeout=10)


def send(queue, task):
    """Put a task on another queue than the test process's inline one, as the web app does on its own."""
    queue.storage.enqueue(huey.serialize_task(task), task.priority)
    return Result(queue, task)


def test_healthz_reports_database_and_queue(client, auth, app):
    anonymous = client.get("/healthz")
    assert anonymous.status_code == 200 and anonymous.get_json() == {"status": "ok"}  # up or down, nothing more
    app.config["MONITORING_TOKEN"] = "monitor-secret"
    assert client.get("/healthz", headers={"Authorization": "Bearer wrong"}).get_json() == {"status": "ok"}
    for answer in (client.get("/healthz", headers={"Authorization": "Bearer monitor-secret"}),
                   (auth.login("admin1"), client.get("/healthz"))[1]):
        body = answer.get_json()
        assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
        assert body["database"]["reachable"] is True and body["job_queue"]["reachable"] is True
    auth.logout()
    auth.login("health1")
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_queue_unreachable_is_reported():
    status = queue_status(make_huey("redis://127.0.0.1:1/0"))
    assert status["reachable"] is False


def test_consumer_heartbeat_shows_in_queue_status(consumer):
    assert queue_status(consumer)["consumer"]["alive"] is False
    send(consumer, heartbeat.s())
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not queue_status(consumer)["consumer"]["alive"]:
        time.sleep(0.1)
    assert queue_status(consumer)["consumer"]["alive"] is True


def test_consumer_sweeps_orphan_attachment_files(consumer, app, ctx):
    req = make_request("inquiry", uploads=[upload()])
    kept = Attachment.get(Attachment.request == req).stored_name
    folder = app.config["ATTACHMENT_DIR"]
    orphan, fresh_orphan = folder / ("0" * 32), folder / ("1" * 32)
    orphan.write_bytes(b"left by a crash")
    fresh_orphan.write_bytes(b"a transaction still running")
    old = time.time() - 2 * 86400
    for path in (orphan, folder / kept):
        os.utime(path, (old, old))
    send(consumer, sweep_orphan_attachments.s())  # periodic tasks keep no result: watch the effect
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and orphan.exists():
        time.sleep(0.1)
    assert not orphan.exists() and fresh_orphan.exists() and (folder / kept).exists()
