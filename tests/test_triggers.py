"""Starting a job, the one way (issue 15): `db.after_commit` runs once the outermost transaction commits and never
after a rollback; `triggers.enqueue` goes through it and never fails the caller when the queue is down; nothing
under intranet/ imports `jobs`."""
import ast
import logging
import threading
from pathlib import Path

import pytest

from intranet import db, triggers
from intranet.models import Governorate

ROOT = Path(__file__).resolve().parent.parent


def committed(name) -> bool:
    """Whether another connection (another thread) sees the row: it is committed, not just written."""
    seen = []

    def look():
        with db.database.connection_context():
            seen.append(Governorate.select().where(Governorate.name_ar == name).exists())
    thread = threading.Thread(target=look)
    thread.start()
    thread.join()
    return seen[0]


def add(name):
    return Governorate.create(code=name[:20], name_ar=name, name_en=name)


def test_after_commit_runs_once_after_the_outermost_commit(ctx):
    calls = []
    db.after_commit(lambda: calls.append("outside"))
    assert calls == ["outside"]  # outside any transaction: at once

    with db.transaction():
        add("after-commit-1")
        db.after_commit(lambda: calls.append(("outer", committed("after-commit-1"))))
        with db.transaction():  # a savepoint: its calls wait for the outermost commit too
            add("after-commit-2")
            db.after_commit(lambda: calls.append(("inner", committed("after-commit-2"))))
        assert calls == ["outside"]
    assert calls == ["outside", ("outer", True), ("inner", True)]  # each once, in order, the rows committed

    with db.transaction():
        pass
    assert len(calls) == 3  # nothing left over for the next transaction


def test_after_commit_is_dropped_on_rollback(ctx):
    calls = []
    with pytest.raises(ZeroDivisionError), db.transaction():
        add("rolled-back")
        db.after_commit(lambda: calls.append("rolled back"))
        1 / 0
    assert calls == [] and not committed("rolled-back")

    with db.transaction():
        db.after_commit(lambda: calls.append("kept"))
        try:
            with db.transaction():
                db.after_commit(lambda: calls.append("savepoint rolled back"))
                raise KeyError
        except KeyError:
            pass
    assert calls == ["kept"]

    with db.transaction():
        pass
    assert calls == ["kept"]


def test_enqueue_waits_for_the_commit_and_a_queue_that_is_down_only_logs(ctx, monkeypatch, caplog):
    import jobs

    sent = []
    monkeypatch.setattr(jobs.huey, "enqueue", lambda task: sent.append((task.name, task.args)))
    with db.transaction():
        triggers.enqueue("tasks.sweep_orphan_attachments")
        assert sent == []
    assert sent == [("sweep_orphan_attachments", ())]

    with pytest.raises(RuntimeError), db.transaction():
        triggers.enqueue("tasks.sweep_orphan_attachments")
        raise RuntimeError
    assert len(sent) == 1  # a rolled-back change starts nothing

    unreachable = jobs.make_huey("redis://127.0.0.1:1/0")
    monkeypatch.setattr(jobs.huey, "enqueue", lambda task: unreachable.storage.enqueue(b"task", 0))
    with caplog.at_level(logging.WARNING, logger="intranet.triggers"), db.transaction():
        triggers.enqueue("tasks.sweep_orphan_attachments")
    assert "could not start tasks.sweep_orphan_attachments" in caplog.text  # and nothing was raised


def _imports_jobs(tree) -> list[int]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [node.lineno for alias in node.names if alias.name.split(".")[0] == "jobs"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "jobs":
            found.append(node.lineno)
    return found


def test_nothing_under_intranet_imports_jobs():
    """Jobs import the application, never the other way round: a job is started by name (triggers.enqueue)."""
    assert _imports_jobs(ast.parse("import jobs.tasks\nfrom jobs import huey\nfrom .jobs import x\n")) == [1, 2]
    offenders = [f"{path.relative_to(ROOT)}:{line}" for path in sorted((ROOT / "intranet").rglob("*.py"))
                 for line in _imports_jobs(ast.parse(path.read_text(encoding="utf-8")))]
    assert offenders == []
