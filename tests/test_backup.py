"""Backups that restore (issue 21): `diwan backup` of a running instance while a thread keeps writing requests,
`diwan restore` into an empty instance elsewhere, then the counts, both audit chains and every file's checksum;
a damaged backup and a non-empty instance are refused without writing anything. On SQLite and PostgreSQL."""
import hashlib
import shutil
import threading
import uuid
from pathlib import Path

import psycopg
import pytest

from intranet import anchors, create_app, db, history_chain
from intranet.auth import demo_directory
from intranet.models import Attachment, Payout, Request, Staff
from intranet.ops import backup
from intranet.payouts import audit
from intranet.seed import seed_payouts
from tests.factories import make_request, make_staff, upload

AUDIT_KEY = "backup-test-audit-key-" + "0123456789abcdef" * 2


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Writer(threading.Thread):
    """Submits requests with an attachment, one after another, until told to stop."""

    def __init__(self, app):
        super().__init__(daemon=True)
        self.app, self.written, self.error = app, 0, None
        self.stop, self.progress = threading.Event(), threading.Condition()

    def run(self):
        try:
            while not self.stop.is_set():
                with self.app.test_request_context(), db.database.connection_context():
                    make_request(uploads=[upload()])
                with self.progress:
                    self.written += 1
                    self.progress.notify_all()
        except Exception as error:  # noqa: BLE001  reported by the test
            self.error = error
            with self.progress:
                self.progress.notify_all()

    def wait_for(self, count, seconds=20):
        with self.progress:
            assert self.progress.wait_for(lambda: self.written >= count or self.error, seconds), self.written
        assert self.error is None, self.error


@pytest.fixture
def empty_instance(backend, directory, tmp_path):
    """Settings of a second, empty instance: its own folders and an empty database of the same kind."""
    folder = tmp_path / "elsewhere"
    if backend.startswith("sqlite"):
        url, drop = f"sqlite:///{folder / 'diwan.db'}", None
    else:
        name = f"restore_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(backend, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        url = backend.rsplit("/", 1)[0] + f"/{name}"
        drop = name
    yield {"TESTING": True, "DATABASE_URL": url, "INSTANCE_DIR": folder, "SECRET_KEY": "test", "AUDIT_KEY": AUDIT_KEY,
           "ATTACHMENT_DIR": folder / "attachments", "CHECK_SCHEMA": False, "MFA_ROLES": "",
           **demo_directory.ldap_settings(directory)}
    db.init_database(backend)  # the suite's database again, for the app fixture's teardown
    if drop:
        with psycopg.connect(backend, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE "{drop}" WITH (FORCE)')


def test_backup_under_writes_restores_elsewhere(app, data, tmp_path, empty_instance, monkeypatch):
    app.config["AUDIT_KEY"] = AUDIT_KEY
    with data():
        make_staff("desk", "reception", "reception")
        supervisor = make_staff("boss", "supervisor", None)
        for _ in range(3):
            make_request(uploads=[upload()])
        for payout in Payout.select().where(Payout.id.in_(seed_payouts(4, status="approved"))):
            audit.append(supervisor, "approve", payout)
        anchors.write_anchor()  # into the report archive: the chains' heads, verified after the restore
    bank_file = Path(app.config["PAYOUT_ARCHIVE_DIR"]) / "run-1" / "pain.001.xml"
    bank_file.parent.mkdir(parents=True)
    bank_file.write_bytes(b"<Document>released</Document>\n")

    writer = Writer(app)
    writer.start()
    writer.wait_for(2)
    copy_file = backup._copy

    def copy_while_writing(source, target):  # the database is copied: let the writer commit more before the files
        if not getattr(copy_while_writing, "waited", False):
            copy_while_writing.waited = True
            writer.wait_for(writer.written + 2)
        return copy_file(source, target)

    monkeypatch.setattr(backup, "_copy", copy_while_writing)
    with data():
        before = Request.select().count()
    target = tmp_path / "backup"
    result = app.test_cli_runner().invoke(args=["backup", str(target)])
    writer.stop.set()
    writer.join(30)
    assert result.exit_code == 0, result.output
    assert writer.error is None
    with data():
        after = Request.select().count()
    manifest = backup.read_manifest(target)
    assert before <= manifest["counts"]["request"] < after  # a snapshot: the writes during the copy are not in it
    assert manifest["files"]["payout-files/run-1/pain.001.xml"]["sha256"] == sha256(bank_file)
    assert "reports/audit-anchors.jsonl" in manifest["files"]
    assert backup.verify(target) == []

    # a damaged copy is refused before anything is written
    damaged = tmp_path / "damaged"
    shutil.copytree(target, damaged)
    attachment = next(name for name in manifest["files"] if name.startswith("attachments/"))
    (damaged / attachment).write_bytes(b"changed")
    restored = create_app(empty_instance)
    runner = restored.test_cli_runner()
    refused = runner.invoke(args=["restore", str(damaged)])
    assert refused.exit_code == 1 and f"{attachment}: checksum differs" in refused.output
    with restored.app_context():
        assert backup._not_empty(restored.config) == []
    assert not (empty_instance["ATTACHMENT_DIR"]).exists()

    result = runner.invoke(args=["restore", str(target)])
    assert result.exit_code == 0, result.output
    with restored.test_request_context(), db.database.connection_context():
        assert Request.select().count() == manifest["counts"]["request"]
        assert Staff.select().count() == manifest["counts"]["staff"]
        history, trail = history_chain.verify(), audit.verify()
        assert history.ok and history.anchors == 1 and history.checked == manifest["counts"]["history"], history
        assert trail.ok and trail.checked == 4, trail
        for row in Attachment.select():  # every file a restored row names is there, as it was
            assert sha256(Path(restored.config["ATTACHMENT_DIR"]) / row.stored_name) == row.sha256
        assert Attachment.select().count() == manifest["counts"]["attachment"] >= 5
    folders = backup.folders(restored.config)
    for name, entry in manifest["files"].items():
        folder, _, relative = name.partition("/")
        assert sha256(folders[folder] / relative) == entry["sha256"], name

    again = runner.invoke(args=["restore", str(target)])  # the instance is not empty any more
    assert again.exit_code == 1 and "empty instance only" in again.output


def test_backup_goes_into_a_new_folder_only(app, tmp_path):
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "something").write_text("x")
    result = app.test_cli_runner().invoke(args=["backup", str(occupied)])
    assert result.exit_code == 1 and "not an empty folder" in result.output
    assert sorted(p.name for p in occupied.iterdir()) == ["something"]
    missing = app.test_cli_runner().invoke(args=["restore", str(occupied)])
    assert missing.exit_code == 1 and "manifest.json is missing" in missing.output
