"""Structured logs (issue 21): one JSON line per answer with its request id and url rule; the id is sent back, taken
from a trusted proxy only, and reaches the jobs the request starts, which log under it in the consumer process."""
import datetime as dt
import json
import logging
import time
import uuid

import jobs
import jobs.tasks
from intranet.ops import logs
from tests.conftest import csrf_token
from tests.servers import huey_consumer, wait_for


def json_lines(text: str) -> list[dict]:
    found = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except ValueError:
                pass
    return found


def access_lines(text: str) -> list[dict]:
    return [line for line in json_lines(text) if line.get("logger") == "intranet.access"]


def test_one_json_line_per_answer_with_its_request_id(app, client, capsys):
    capsys.readouterr()
    answer = client.get("/healthz")
    rid = answer.headers["X-Request-Id"]
    assert len(rid) == 32
    [line] = [line for line in access_lines(capsys.readouterr().err) if line["path"] == "/healthz"]
    assert line["request_id"] == rid and line["route"] == "/healthz" and line["status"] == answer.status_code
    assert line["method"] == "GET" and line["level"] == "INFO" and line["duration_ms"] >= 0 and "timestamp" in line

    client.get("/healthz?national_id=28501234567")  # the query string never reaches the log
    assert "28501234567" not in capsys.readouterr().err


def test_the_line_names_the_signed_in_person(app, client, auth, capsys, data):
    from intranet.models import Staff

    auth.login("health1")
    capsys.readouterr()
    client.get("/queues/")
    with data():
        staff_id = Staff.get(Staff.username == "health1").id
    [line] = [line for line in access_lines(capsys.readouterr().err) if line["route"] == "/queues/"]
    assert line["user_id"] == staff_id


def test_the_proxys_request_id_is_believed_only_from_a_trusted_proxy(app, client):
    sent = {"X-Request-Id": "nginx-0123456789abcdef"}
    assert client.get("/healthz", headers=sent).headers["X-Request-Id"] != sent["X-Request-Id"]
    app.config["TRUSTED_PROXIES"] = 1
    assert client.get("/healthz", headers=sent).headers["X-Request-Id"] == sent["X-Request-Id"]
    odd = client.get("/healthz", headers={"X-Request-Id": "a b\"c"}).headers["X-Request-Id"]
    assert odd != "a b\"c" and len(odd) == 32  # malformed: a fresh one


def test_the_request_id_reaches_the_job_the_request_starts(app, client, auth, monkeypatch, data):
    sent = []
    monkeypatch.setattr(jobs.huey, "enqueue", lambda task: sent.append(task))
    auth.login("supervisor1")
    day = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    answer = client.post("/reports/produce", data={"csrf_token": csrf_token(client, "/reports/"),
                                                    "kind": "alert_statement", "day": day, "language": "ar"})
    assert answer.status_code == 303
    [task] = [task for task in sent if task.name == "produce_report"]
    rid, enqueued = logs.parse_task_id(task.id)
    assert rid == answer.headers["X-Request-Id"] and abs(enqueued - time.time()) < 60


def test_the_consumer_logs_the_job_under_that_request_id(app, tmp_path):
    queue_url = f"sqlite:///{tmp_path / 'queue.db'}"
    rid = uuid.uuid4().hex
    consumer = huey_consumer(app, queue_url, tmp_path / "consumer.log")
    try:
        queue = jobs.make_huey(queue_url)
        token = logs.request_id.set(rid)
        try:
            task = jobs.tasks.sweep_orphan_attachments.s(id=logs.task_id())
            queue.storage.enqueue(jobs.huey.serialize_task(task), task.priority)  # as the web app's queue does
        finally:
            logs.request_id.reset(token)

        def finished():
            return [line for line in json_lines((tmp_path / "consumer.log").read_text())
                    if line.get("logger") == "intranet.jobs" and line.get("message") == "job finished"]
        assert wait_for(finished, 30), (tmp_path / "consumer.log").read_text()[-2000:]
    finally:
        consumer.kill()
        consumer.wait()
    started = [line for line in json_lines((tmp_path / "consumer.log").read_text()) if line.get("message") == "job started"]
    assert started[0]["request_id"] == rid and started[0]["task"] == "sweep_orphan_attachments"
    assert started[0]["waited_ms"] >= 0
    assert finished()[0]["request_id"] == rid and finished()[0]["outcome"] == "ok"


def test_text_format_and_a_wrong_one(capsys):
    logs.configure("text", "INFO")
    try:
        token = logs.request_id.set("abc123abc123")
        logging.getLogger("intranet.test").warning("plain")
        logs.request_id.reset(token)
        assert "WARNING intranet.test [abc123abc123] plain" in capsys.readouterr().err
    finally:
        logs.configure("json", "INFO")
    try:
        logs.configure("xml", "INFO")
    except ValueError as error:
        assert "INTRANET_LOG_FORMAT must be one of json, text, none" in str(error)
    else:
        raise AssertionError("a wrong format was accepted")
