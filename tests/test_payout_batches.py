"""Payout batches: gathered from approved payouts, exported once to pain.001 + CSV + XLSX, released with the
files' SHA-256, downloads logged; a payout in one live export only, by a database constraint."""
import datetime as dt
import os
import random
import signal
import threading
from decimal import Decimal

import openpyxl
import peewee
import pytest

from intranet import db
from intranet.models import utcnow
from intranet.models.payouts import AuditEntry, BatchItem, ExportDownload, ExportFile, Payout, PayoutBatch
from intranet.payouts import audit, batches, files
from intranet.payouts.service import PayoutRefused
from intranet.seed import seed_payouts
from tests.conftest import csrf_token
from tests.factories import make_staff
from tests.servers import huey_consumer, wait_for



@pytest.fixture
def boss(ctx):
    return make_staff("boss1", "supervisor", None)


def approved(n):
    return seed_payouts(n)


def live_totals(batch_id):
    amounts = [row.amount for row in BatchItem.select(BatchItem.amount).where(
        (BatchItem.batch == batch_id) & (BatchItem.outcome != "removed"))]
    return len(amounts), sum(amounts, Decimal(0))


def test_a_batch_gathers_approved_payouts_only(boss):
    ids = approved(5)
    batch = batches.create(boss, ids[:3], "generic")
    assert batch.reference == f"DIWAN-{batch.created_at:%Y%m%d}-{batch.id:06d}" and batch.status == "draft"
    assert (batch.item_count, Decimal(batch.item_total)) == live_totals(batch.id)
    assert {p.status for p in Payout.select().where(Payout.id.in_(ids[:3]))} == {"batched"}
    assert [i.end_to_end for i in BatchItem.select().order_by(BatchItem.seq)] == \
        [f"{batch.reference}-{n}" for n in (1, 2, 3)]
    with pytest.raises(PayoutRefused):
        batches.create(boss, ids[2:], "generic")  # one of them is in the first batch already
    assert BatchItem.select().count() == 3 and Payout.get_by_id(ids[3]).status == "approved"  # nothing half-done
    Payout.update(status="pending").where(Payout.id == ids[4]).execute()
    with pytest.raises(PayoutRefused):
        batches.create(boss, [ids[3], ids[4]], "generic")
    with pytest.raises(PayoutRefused):
        batches.create(make_staff("c9", "clerk", "health"), [ids[3]], "generic")
    with pytest.raises(PayoutRefused):
        batches.create(boss, [ids[3]], "no-such-bank")
    assert PayoutBatch.select().count() == 1
    assert AuditEntry.select().where(AuditEntry.action == "payout_batched").count() == 3 and audit.verify().ok


def test_the_database_refuses_a_payout_in_two_live_exports(boss):
    ids = approved(1)
    first = batches.create(boss, ids, "generic")
    second = PayoutBatch.create(reference="OTHER", bank="generic", pain_version="pain.001.001.09", currency="QAR",
                                created_by=boss.id)
    first_item = BatchItem.get(BatchItem.batch == first.id)
    item = {"batch": second.id, "payout": ids[0], "seq": 1, "end_to_end": "OTHER-1", "amount": Decimal("1"),
            "iban": "QA00", "beneficiary": "x", "tracking_number": first_item.tracking_number,
            "national_id": first_item.national_id, "request_type": first_item.request_type_id}
    with pytest.raises(peewee.IntegrityError), db.database.atomic():
        BatchItem.insert(item).execute()  # not a check in our code: the unique index says no
    BatchItem.update(outcome="failed").where(BatchItem.batch == first.id).execute()
    BatchItem.insert(item).execute()  # once the bank refused it, the payout may go into a new batch
    with pytest.raises(peewee.IntegrityError), db.database.atomic():
        BatchItem.update(outcome="").where(BatchItem.batch == first.id).execute()


def test_cancelling_a_draft_frees_its_payouts(boss):
    ids = approved(2)
    batch = batches.create(boss, ids, "generic")
    batches.cancel(boss, batch.id)
    assert {p.status for p in Payout.select()} == {"approved"}
    assert PayoutBatch.get_by_id(batch.id).status == "cancelled"
    again = batches.create(boss, ids, "generic")
    assert again.item_count == 2
    with pytest.raises(PayoutRefused):
        batches.cancel(boss, batch.id)


def test_twenty_export_clicks_at_once_start_one_export(boss, app):
    batch = batches.create(boss, approved(3), "generic")
    results = []

    def click():
        with app.test_request_context(), db.database.connection_context():
            results.append(batches.start_export(boss, batch.id, batch.version, True))
    threads = [threading.Thread(target=click) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 20 and results.count(True) == 1
    assert AuditEntry.select().where(AuditEntry.action == "export_started").count() == 1
    with pytest.raises(PayoutRefused):
        batches.start_export(boss, batch.id, batch.version + 1, reauthenticated=False)


def export_now(boss, n, **config):
    batch = batches.create(boss, approved(n), "generic")
    assert batches.start_export(boss, batch.id, batch.version, True)
    return batch, batches.export(batch.id)


def test_export_writes_checks_and_releases_the_files_once(boss, app):
    batch, outcome = export_now(boss, 25)
    assert outcome == "released"
    batch = PayoutBatch.get_by_id(batch.id)
    assert batch.status == "released" and batch.runs == 1
    count, total = live_totals(batch.id)
    exported = {f.kind: f for f in ExportFile.select().where(ExportFile.batch == batch.id)}
    assert set(exported) == {"pain001", "csv", "xlsx"}
    for f in exported.values():
        path = batches.file_path(f)
        assert (f.tx_count, Decimal(f.ctrl_sum)) == (count, total)
        assert files.sha256_of(path) == f.sha256 and path.stat().st_size == f.size
    assert files.check_pain001(batches.file_path(exported["pain001"]), batch.pain_version).total == total
    sheet = openpyxl.load_workbook(batches.file_path(exported["xlsx"]))
    assert sheet.active.sheet_view.rightToLeft
    assert {p.status for p in Payout.select()} == {"exported"}
    # the job again, or a retry: the archived files stand, nothing is written twice
    before = {f.kind: (f.sha256, batches.file_path(f).stat().st_mtime_ns) for f in exported.values()}
    assert batches.export(batch.id) == "released"
    assert ExportFile.select().count() == 3
    assert {f.kind: (f.sha256, batches.file_path(f).stat().st_mtime_ns) for f in ExportFile.select()} == before
    assert AuditEntry.select().where(AuditEntry.action == "batch_released").count() == 1 and audit.verify().ok


def test_a_run_that_lost_its_lease_releases_nothing(boss, app):
    batch = batches.create(boss, approved(4), "generic")
    batches.start_export(boss, batch.id, batch.version, True)
    slow = batches._claim(batch.id)
    assert slow and batches._claim(batch.id) is None  # held
    PayoutBatch.update(lease_until=utcnow() - dt.timedelta(seconds=1)).where(PayoutBatch.id == batch.id).execute()
    assert batches.stalled() == [batch.id]
    assert batches.export(batch.id) == "released"  # a new run took over and released it
    with pytest.raises(batches.LostLease):
        batches._beat(batch.id, slow, "csv", 1)  # the slow run learns at its next step
    stale = PayoutBatch.get_by_id(batch.id)
    with pytest.raises(batches.LostLease):
        empty = batches.archive_dir() / "slow-run"
        empty.mkdir()
        batches._release(stale, slow, empty, {})
    assert ExportFile.select().count() == 3 and batches.stalled() == []
    folders = list((batches.archive_dir() / f"batch-{batch.id}").iterdir())
    assert [f.name for f in folders] == [PayoutBatch.get_by_id(batch.id).run_token]  # the released run's only


def test_a_file_that_fails_its_check_is_not_released(boss, app, monkeypatch):
    batch = batches.create(boss, approved(3), "generic")
    batches.start_export(boss, batch.id, batch.version, True)

    def refuse(path, version):
        raise files.FileInvalid("line 1: refused by the schema")
    monkeypatch.setattr(files, "check_pain001", refuse)
    assert batches.export(batch.id) == "failed"
    stalled = PayoutBatch.get_by_id(batch.id)
    assert stalled.status == "exporting" and "refused by the schema" in stalled.error
    assert ExportFile.select().count() == 0 and batches.stalled() == []  # not restarted by itself
    assert {p.status for p in Payout.select()} == {"batched"}
    monkeypatch.undo()
    assert batches.retry(boss, batch.id) and batches.export(batch.id) == "released"


def test_a_mismatch_between_files_and_batch_is_not_released(boss, app):
    batch = batches.create(boss, approved(3), "generic")
    batches.start_export(boss, batch.id, batch.version, True)
    PayoutBatch.update(item_total=PayoutBatch.item_total + Decimal("0.01")).where(PayoutBatch.id == batch.id).execute()
    assert batches.export(batch.id) == "failed"
    stopped = PayoutBatch.get_by_id(batch.id)
    assert str(stopped.item_total) in stopped.error  # names the figure that does not agree
    assert ExportFile.select().count() == 0


# --- the pages -----------------------------------------------------------------------------------------------

@pytest.fixture
def ready(data):
    with data():
        return seed_payouts(4)


def fresh_password(client):
    response = client.post("/reauth/", data={"csrf_token": csrf_token(client, "/reauth/"), "password": "demo",
                                             "next": "/payouts/"})
    assert response.status_code == 303


def test_a_supervisor_makes_exports_and_downloads_a_batch(client, auth, ready, data):
    auth.login("supervisor1")
    token = csrf_token(client, "/payouts/?status=approved")
    made = client.post("/payouts/batches/", data={"csrf_token": token, "ids": [str(i) for i in ready[:3]],
                                                  "bank": "generic", "scope": "ticked"})
    assert made.status_code == 303
    page_url = made.headers["Location"]
    with data():
        batch = PayoutBatch.get()
    assert batch.item_count == 3
    page = client.get(page_url)
    assert page.status_code == 200 and batch.reference in page.text and 'id="export-form"' in page.text
    asked = client.post(f"/payouts/batches/{batch.id}/export", data={"csrf_token": token, "version": batch.version})
    assert asked.status_code == 303 and "/reauth/" in asked.headers["Location"]  # the password first
    with data():
        assert PayoutBatch.get_by_id(batch.id).status == "draft"
    fresh_password(client)
    started = client.post(f"/payouts/batches/{batch.id}/export", data={"csrf_token": token, "version": batch.version})
    assert started.status_code == 303  # Huey runs inline in the tests: the files are released already
    with data():
        assert PayoutBatch.get_by_id(batch.id).status == "released"
        sha = ExportFile.get(ExportFile.kind == "pain001").sha256
    status = client.get(f"/payouts/batches/{batch.id}/status", headers={"HX-Request": "true"}).text
    assert sha in status and "hx-trigger" not in status  # done: the polling stops
    again = client.post(f"/payouts/batches/{batch.id}/export", data={"csrf_token": token, "version": batch.version})
    assert again.status_code == 303
    with data():
        assert PayoutBatch.get_by_id(batch.id).runs == 1 and ExportFile.select().count() == 3
    download = client.get(f"/payouts/batches/{batch.id}/files/pain001")
    assert download.status_code == 200 and b"CstmrCdtTrfInitn" in download.data
    assert "attachment" in download.headers["Content-Disposition"]
    with data():
        logged = ExportDownload.get()
        assert logged.staff.username == "supervisor1"
        assert AuditEntry.select().where(AuditEntry.action == "file_downloaded").count() == 1
    downloads = client.get(page_url).text.split('id="downloads"')[1]
    assert logged.staff.full_name in downloads


def test_a_changed_file_on_disk_is_not_served(client, auth, ready, data):
    auth.login("supervisor1")
    with data():
        boss = make_staff("boss7", "supervisor", None)
        batch = batches.create(boss, ready, "generic")
        batches.start_export(boss, batch.id, batch.version, True)
        batches.export(batch.id)
        path = batches.file_path(ExportFile.get(ExportFile.kind == "csv"))
    path.write_bytes(path.read_bytes().replace(b"1", b"7"))
    assert client.get(f"/payouts/batches/{batch.id}/files/csv").status_code == 409
    with data():
        assert ExportDownload.select().count() == 0


def test_who_may_see_and_act(client, auth, ready, data):
    with data():
        batch = batches.create(make_staff("boss8", "supervisor", None), ready, "generic")
    for path in ("/payouts/batches/", f"/payouts/batches/{batch.id}"):
        assert client.get(path).status_code == 302
    auth.login("health1")
    assert client.get("/payouts/batches/").status_code == 403
    auth.logout()
    auth.login("admin1")
    assert client.get(f"/payouts/batches/{batch.id}").status_code == 200  # administrators read
    token = csrf_token(client, "/payouts/batches/")
    for action in ("export", "cancel", "retry"):
        assert client.post(f"/payouts/batches/{batch.id}/{action}", data={"csrf_token": token}).status_code == 403
    assert client.get("/payouts/batches/999999").status_code == 404
    auth.logout()
    auth.login("supervisor1")
    assert client.get("/payouts/batches/999999").status_code == 404
    assert client.get(f"/payouts/batches/{batch.id}/files/csv").status_code == 404  # not exported


# --- through a real consumer process, killed at random points -------------------------------------------------

KILL_ROUNDS = 10
KILL_BATCH = 10_000


def start_consumer(app, queue_url, tmp_path, name):
    return huey_consumer(app, queue_url, tmp_path / f"{name}.log", payout_export_lease_seconds=1,
                         payout_archive_dir=app.config["PAYOUT_ARCHIVE_DIR"])


@pytest.mark.slow
def test_consumer_killed_at_random_points_ten_times_each_batch_released_once(boss, app, tmp_path):
    from jobs import make_huey
    from jobs.payouts import export_batch, sweep_exports
    from tests.test_jobs import send

    rng = random.Random(7)
    ids = seed_payouts(KILL_ROUNDS * KILL_BATCH)
    made = [batches.create(boss, ids[n * KILL_BATCH:(n + 1) * KILL_BATCH], "generic") for n in range(KILL_ROUNDS)]
    queue_url = f"sqlite:///{tmp_path / 'huey.db'}"
    queue = make_huey(queue_url)
    state = lambda batch_id: PayoutBatch.select(PayoutBatch.status, PayoutBatch.done, PayoutBatch.lease_until).where(  # noqa: E731
        PayoutBatch.id == batch_id).tuples().get()
    consumer = start_consumer(app, queue_url, tmp_path, "consumer-0")
    kills = []
    try:
        for round_, batch in enumerate(made):
            batch_id = batch.id
            assert batches.start_export(boss, batch_id, batch.version, True)  # one at a time: the sweeper sees it only
            send(queue, export_batch.s(batch_id))
            point = rng.randrange(1, 3 * KILL_BATCH + 2)  # a row of one of the three files, or the check after them
            assert wait_for(lambda: state(batch_id)[0] == "released" or state(batch_id)[1] >= point, 120, every=0.01), \
                (tmp_path / f"consumer-{round_}.log").read_text()[-3000:]
            os.killpg(consumer.pid, signal.SIGKILL)  # no goodbye: the run's lease and its half-written folder stay
            consumer.wait(10)
            kills.append((batch_id, point, state(batch_id)[0]))
            consumer = start_consumer(app, queue_url, tmp_path, f"consumer-{round_ + 1}")
            # the minute's sweeper, once the dead run's lease has run out, hands the batch to a new run
            assert wait_for(lambda: state(batch_id)[2] is None or state(batch_id)[2] < utcnow(), 10)
            send(queue, sweep_exports.s())
            assert wait_for(lambda: state(batch_id)[0] == "released", 120), \
                (tmp_path / f"consumer-{round_ + 1}.log").read_text()[-3000:]
    finally:
        os.killpg(consumer.pid, signal.SIGKILL)
        consumer.wait(10)

    assert any(status == "exporting" for _, _, status in kills), kills  # most kills landed mid-export
    for batch_id in (batch.id for batch in made):
        batch = PayoutBatch.get_by_id(batch_id)
        count, total = live_totals(batch_id)
        released = list(ExportFile.select().where(ExportFile.batch == batch_id))
        assert sorted(f.kind for f in released) == ["csv", "pain001", "xlsx"]  # exactly one of each
        for f in released:
            path = batches.file_path(f)
            assert (f.tx_count, Decimal(f.ctrl_sum)) == (count, total) == (KILL_BATCH, Decimal(batch.item_total))
            assert files.sha256_of(path) == f.sha256
        pain = batches.file_path(next(f for f in released if f.kind == "pain001"))
        read_back = files.check_pain001(pain, batch.pain_version)
        assert (read_back.count, read_back.total) == (count, total)
        assert pain.parent.name == batch.run_token  # the files of the run that released the batch
        assert batches.export(batch_id) == "released"  # the job once more: the same files, dead runs' folders gone
        assert [p.name for p in (batches.archive_dir() / f"batch-{batch_id}").iterdir()] == [pain.parent.name]
        assert [(f.sha256, f.size) for f in ExportFile.select().where(ExportFile.batch == batch_id)] == \
            [(f.sha256, f.size) for f in released]
        assert AuditEntry.select().where((AuditEntry.action == "batch_released")
                                         & AuditEntry.details.contains(f'"batch": {batch_id},')).count() == 1
    assert Payout.select().where(Payout.status != "exported").count() == 0
    assert audit.verify().ok
