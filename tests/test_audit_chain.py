"""An audit trail an insider cannot rewrite (issue 14): keyed chains for the payouts' audit trail and the requests'
history, anchored outside the database, history append-only in the database itself.

"Behind the back" is what someone with the database's owner rights but not the audit key can do: lift the guards,
change or remove rows, recompute any plain hash, put the guards back."""
import datetime as dt
import json
import threading

import pytest
from peewee import DatabaseError, IntegrityError

from intranet import anchors, chain, db, history_chain, workflow
from intranet.cli import audit_anchor, audit_verify
from intranet.models import Department, HistoryEntry, Request
from intranet.models.payouts import AuditEntry
from intranet.payouts import audit
from tests.factories import make_request, make_staff


def _behind_the_back(table, *statements):
    if db.is_sqlite():
        guards = [row for row in db.database.execute_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (table,)).fetchall()]
        for name, _ in guards:
            db.database.execute_sql(f'DROP TRIGGER "{name}"')
        for statement in statements:
            db.database.execute_sql(*statement) if isinstance(statement, tuple) else db.database.execute_sql(statement)
        for _, sql in guards:
            db.database.execute_sql(sql)
    else:
        db.database.execute_sql(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
        for statement in statements:
            if isinstance(statement, tuple):
                db.database.execute_sql(statement[0].replace("?", "%s"), statement[1])
            else:
                db.database.execute_sql(statement)
        db.database.execute_sql(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')


def _recompute_plain_from(entries, start: int, new_details: str):
    """Change entry `start`'s details and give it and every entry after it plain SHA-256 hashes that fit: what
    passed `diwan audit verify` before the chain was keyed."""
    statements = []
    prev = entries[start - 1].hash if start else audit.GENESIS
    for index, entry in enumerate(entries[start:], start=start):
        details = new_details if index == start else entry.details
        digest = audit.chain_hash(prev, entry.created_at, entry.actor_id, entry.action, entry.payout_id, details)
        statements.append(('UPDATE "payout_audit" SET "details" = ?, "prev_hash" = ?, "hash" = ? WHERE "id" = ?',
                           (details, prev, digest, entry.id)))
        prev = digest
    _behind_the_back("payout_audit", *statements)


# --- the payouts' audit trail ---------------------------------------------------------------------------------------

def test_keyed_hashes_need_the_key_kept_outside_the_database(app, ctx):
    entry = audit.append(None, "payout_approved", amount="10")
    key_file = app.config["INSTANCE_DIR"] / "audit_key"
    assert key_file.exists() and (key_file.stat().st_mode & 0o777) == 0o600
    values = (entry.created_at, entry.actor_id, entry.action, entry.payout_id, entry.details)
    assert entry.hash == audit.keyed_hash(audit.GENESIS, *values, key_file.read_text().strip().encode())
    assert entry.hash != audit.chain_hash(audit.GENESIS, *values)  # a plain hash anyone could recompute
    assert key_file.read_text().strip() not in json.dumps([list(r) for r in AuditEntry.select().tuples()],
                                                        default=str)
    app.config["AUDIT_KEY"] = "another key, from INTRANET_AUDIT_KEY"
    try:
        assert audit.keyed_hash(audit.GENESIS, *values) != entry.hash
        assert not audit.verify().ok
    finally:
        app.config["AUDIT_KEY"] = ""


def test_an_entry_changed_with_plain_hashes_recomputed_after_it_fails(app, ctx):
    """Was: editing an entry and recomputing the following SHA-256 hashes passed `diwan audit verify`."""
    entries = [audit.append(None, "payout_approved", n=n) for n in range(4)]
    _recompute_plain_from(entries, 1, '{"n": 99}')
    verdict = audit.verify()
    assert not verdict.ok and verdict.broken_at == entries[1].id and verdict.reason == audit.PLAIN
    result = app.test_cli_runner().invoke(audit_verify)
    assert result.exit_code == 1 and f"entry {entries[1].id}" in result.output


def test_the_whole_trail_rewritten_in_plain_hashes_is_caught_by_the_anchor(app, ctx):
    entries = [audit.append(None, "payout_approved", n=n) for n in range(3)]
    anchors.write_anchor()
    _recompute_plain_from(entries, 0, '{"n": 42}')  # no keyed entry left: only the anchor can tell
    verdict = audit.verify()
    assert not verdict.ok and verdict.broken_at == entries[-1].id and verdict.reason == audit.NOT_ANCHORED


def test_the_last_entry_removed_is_caught_by_the_anchor(app, ctx):
    """Was: deleting the newest entry left a chain that fits."""
    entries = [audit.append(None, "payout_approved", n=n) for n in range(3)]
    record = anchors.write_anchor()
    assert record["payout_audit"] == {"id": entries[-1].id, "hash": entries[-1].hash, "count": 3}
    assert audit.verify().ok and audit.verify().anchors == 1
    _behind_the_back("payout_audit", f'DELETE FROM "payout_audit" WHERE "id" = {entries[-1].id}')
    verdict = audit.verify()
    assert not verdict.ok and verdict.broken_at == entries[-1].id and verdict.reason == audit.CUT
    assert verdict.checked == 2
    result = app.test_cli_runner().invoke(audit_verify)
    assert result.exit_code == 1 and "cut" in result.output


def test_an_entry_written_again_over_the_anchored_one_is_caught(ctx):
    entries = [audit.append(None, "payout_approved", n=n) for n in range(2)]
    anchors.write_anchor()
    _behind_the_back("payout_audit", f'DELETE FROM "payout_audit" WHERE "id" = {entries[-1].id}')
    if not db.is_sqlite():  # SQLite hands the id out again by itself
        db.database.execute_sql(f"SELECT setval(pg_get_serial_sequence('payout_audit', 'id'), {entries[0].id})")
    again = audit.append(None, "payout_approved", n=1)
    assert again.id == entries[-1].id and again.hash != entries[-1].hash
    verdict = audit.verify()
    assert not verdict.ok and verdict.broken_at == again.id and verdict.reason == audit.NOT_ANCHORED


def test_entries_from_before_the_key_are_accepted_only_at_the_start(ctx):
    """Rows written before migration 0016 have plain hashes: they stay valid, but only before the first keyed
    entry and up to the first anchor."""
    prev, legacy = audit.GENESIS, []
    for n in range(2):
        created_at = dt.datetime(2026, 1, 1, 8, n)
        details = json.dumps({"n": n})
        digest = audit.chain_hash(prev, created_at, None, "payout_approved", None, details)
        legacy.append(db.create(AuditEntry, created_at=created_at, actor=None, action="payout_approved",
                                payout=None, details=details, prev_hash=prev, hash=digest))
        prev = digest
    keyed = [audit.append(None, "payout_approved", n=n) for n in (2, 3)]
    verdict = audit.verify()
    assert verdict.ok and (verdict.checked, verdict.legacy) == (4, 2)
    _recompute_plain_from(legacy + keyed, 3, '{"n": 3}')  # after a keyed entry, a plain one is refused
    verdict = audit.verify()
    assert (verdict.ok, verdict.broken_at, verdict.reason) == (False, keyed[1].id, audit.PLAIN)


def test_anchors_written_under_another_key_are_reported(app, ctx):
    audit.append(None, "payout_approved")
    anchors.write_anchor()
    app.config["AUDIT_KEY"] = "not the key that wrote the anchors"
    try:
        assert audit.verify().reason == audit.OTHER_KEY
        assert not history_chain.verify().ok
    finally:
        app.config["AUDIT_KEY"] = ""


def test_an_unreadable_anchors_file_is_a_failure_not_a_pass(ctx):
    audit.append(None, "payout_approved")
    anchors.write_anchor()
    path = chain.anchors_path()
    good = path.read_text()
    for bad in ("{not json\n", '{"at": "yesterday", "key": "k"}\n', good.replace('"count":1', '"count":"1"')):
        path.write_text(good + bad)
        verdict = audit.verify()
        assert not verdict.ok and verdict.reason == audit.ANCHORS_UNREADABLE and audit.EXPLAINED[verdict.reason]
        assert not history_chain.verify().ok and chain.printed() is None


# --- the anchors file and the daily summary -------------------------------------------------------------------------

def test_anchor_command_appends_a_line_in_the_report_archive(app, ctx):
    entry = audit.append(None, "payout_approved")
    runner = app.test_cli_runner()
    first = runner.invoke(audit_anchor)
    second = runner.invoke(audit_anchor)
    assert first.exit_code == 0 and second.exit_code == 0, first.output
    path = app.config["REPORT_ARCHIVE_DIR"] / chain.ANCHORS_FILE
    assert f"entry {entry.id} ({entry.hash[:16]})" in first.output and str(path) in first.output
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(lines) == 2 and lines[0]["payout_audit"]["hash"] == entry.hash == lines[1]["payout_audit"]["hash"]
    assert lines[0]["key"] == chain.key_id() and "at" in lines[0]
    verified = runner.invoke(audit_verify)
    assert verified.exit_code == 0 and "checked against 2 anchors" in verified.output


def test_the_evening_job_anchors_and_the_daily_summary_prints_it(app, ctx, monkeypatch):
    import jobs.tasks
    from jobs.reports import produce_daily_summary
    from intranet.models.stats import ReportFile
    from intranet.reports import pdf

    entry = audit.append(None, "payout_approved")
    make_request()
    monkeypatch.setattr(jobs.tasks, "_app", app)  # the consumer's app is this test's
    produce_daily_summary.call_local()
    (anchor,) = chain.read_anchors()
    assert anchor["payout_audit"]["id"] == entry.id and anchor["history"]["count"] == 1
    assert ReportFile.select().where(ReportFile.kind == "daily_summary").count() == 1
    page = pdf.render_html("daily_summary", dt.date.today(), "en")
    printed = page.split('id="audit-anchor"')[1].split("</dl>")[0]
    assert f"entry {entry.id}" in printed and entry.hash[:16] in printed
    assert anchor["history"]["digest"][:16] in printed
    assert 'id="audit-anchor"' not in pdf.render_html("alert_statement", dt.date.today(), "en")


# --- history ----------------------------------------------------------------------------------------------------------

@pytest.fixture
def people(ctx):
    return {"desk": make_staff("desk", "reception", "reception"), "health": make_staff("h1", "clerk", "health"),
            "comp": make_staff("c1", "clerk", "compensation")}


def _round(people):
    """A request through submit, accept, return, resubmit, comment, claim, release and reject."""
    req = make_request("health_care", actor=people["desk"])
    workflow.accept(people["health"], req, 1, "المستندات كاملة")
    req = Request.get_by_id(req.id)
    workflow.return_(people["comp"], req, req.version, "الفاتورة ناقصة")
    req = Request.get_by_id(req.id)
    workflow.resubmit(people["health"], req, req.version, "أُرفقت الفاتورة")
    req = Request.get_by_id(req.id)
    workflow.comment(people["comp"], req, req.version, "ملاحظة")
    workflow.claim(people["comp"], req, req.version)
    req = Request.get_by_id(req.id)
    workflow.release(people["comp"], req, req.version)
    req = Request.get_by_id(req.id)
    workflow.reject(people["comp"], req, req.version, "لا يستحق")
    return req


def test_history_refuses_update_and_delete_and_outlives_its_request(people):
    req = make_request("health_care", actor=people["desk"])
    for statement in ('UPDATE "history" SET "comment" = \'forged\'', 'DELETE FROM "history"'):
        with pytest.raises(DatabaseError, match="append-only"):
            with db.transaction():
                db.database.execute_sql(statement)
    if db.is_sqlite():  # no longer ON DELETE CASCADE: a request with history stays
        keys = db.database.execute_sql("PRAGMA foreign_key_list(history)").fetchall()
        assert {(row[2], row[3], row[6]) for row in keys if row[3] == "request_id"} == {("request", "request_id",
                                                                                         "RESTRICT")}
    else:
        assert db.database.execute_sql(
            "SELECT confdeltype FROM pg_constraint WHERE conname = 'history_request_id_fkey'").fetchone() == ("r",)
    with pytest.raises(IntegrityError):
        with db.transaction():
            db.database.execute_sql(f'DELETE FROM "request" WHERE "id" = {req.id}')
    if not db.is_sqlite():
        with pytest.raises(DatabaseError, match="append-only"):
            with db.transaction():
                db.database.execute_sql('TRUNCATE "history" CASCADE')
    assert HistoryEntry.select().where(HistoryEntry.comment == "forged").count() == 0
    assert HistoryEntry.select().count() == 1 and Request.select().count() == 1


def test_a_workflow_round_verifies(app, people):
    req = _round(people)
    entries = list(HistoryEntry.select().where(HistoryEntry.request == req.id).order_by(HistoryEntry.id))
    assert [e.action for e in entries] == ["submit", "accept", "return", "resubmit", "comment", "claim", "release",
                                           "reject"]
    assert all(len(e.hash) == history_chain.HASH_LENGTH for e in entries) and len({e.hash for e in entries}) == 8
    verdict = history_chain.verify(batch=3)  # across pages
    assert verdict.ok and (verdict.checked, verdict.legacy) == (8, 0)
    anchors.write_anchor()
    result = app.test_cli_runner().invoke(audit_verify)
    assert result.exit_code == 0 and "history intact: 8 rows" in result.output and "1 anchors" in result.output


def test_a_changed_comment_is_named(app, people):
    req = _round(people)
    other = make_request("health_care", actor=people["desk"])
    changed = HistoryEntry.get((HistoryEntry.request == req.id) & (HistoryEntry.action == "return"))
    _behind_the_back("history", f'UPDATE "history" SET "comment" = \'كل شيء سليم\' WHERE "id" = {changed.id}')
    verdict = history_chain.verify(batch=2)
    assert not verdict.ok and (verdict.broken_at, verdict.request_id) == (changed.id, req.id)
    assert verdict.reason == history_chain.CHANGED
    result = app.test_cli_runner().invoke(audit_verify)
    assert result.exit_code == 1
    assert f"history BROKEN at history row {changed.id} of request {req.id}" in result.output
    assert "audit trail intact" in result.output  # each chain reported on its own
    assert HistoryEntry.get(HistoryEntry.request == other.id).hash  # the other request's chain is untouched


def test_a_changed_department_is_caught(people):
    """The department a step is counted under (history.department_id, 0024) is keyed too: moving a step to
    another department's figures behind the application's back breaks the chain."""
    req = _round(people)
    entry = HistoryEntry.get((HistoryEntry.request == req.id) & (HistoryEntry.action == "return"))
    assert entry.department_id is not None and history_chain.verify().ok
    other = Department.select().where(Department.id != entry.department_id).first().id
    _behind_the_back("history", f'UPDATE "history" SET "department_id" = {other} WHERE "id" = {entry.id}')
    verdict = history_chain.verify()
    assert not verdict.ok and verdict.broken_at == entry.id and verdict.reason == history_chain.CHANGED


def test_a_row_moved_to_another_request_or_dropped_from_the_middle_is_named(people):
    first, second = _round(people), make_request("health_care", actor=people["desk"])
    rows = list(HistoryEntry.select().where(HistoryEntry.request == first.id).order_by(HistoryEntry.id))
    _behind_the_back("history", f'DELETE FROM "history" WHERE "id" = {rows[3].id}')
    verdict = history_chain.verify()
    assert not verdict.ok and verdict.broken_at == rows[4].id  # the row after the gap no longer fits
    _behind_the_back("history", f'UPDATE "history" SET "request_id" = {second.id} WHERE "id" = {rows[0].id}')
    assert not history_chain.verify().ok


def test_history_cut_after_an_anchor_is_caught(app, people):
    """A request's newest rows, or a whole request's history, removed: each chain still fits, the anchor not."""
    req = _round(people)
    last = HistoryEntry.select().where(HistoryEntry.request == req.id).order_by(HistoryEntry.id.desc()).first()
    record = anchors.write_anchor()
    assert record["history"]["id"] == last.id and record["history"]["count"] == 8
    workflow.comment(people["health"], make_request(actor=people["desk"]), 1, "بعد التثبيت")  # later rows: fine
    assert history_chain.verify().ok
    _behind_the_back("history", f'DELETE FROM "history" WHERE "id" = {last.id}')
    verdict = history_chain.verify()
    assert not verdict.ok and verdict.broken_at == last.id and verdict.reason.startswith(history_chain.CUT)
    assert app.test_cli_runner().invoke(audit_verify).exit_code == 1


def test_rows_from_before_the_key_are_accepted_before_the_first_keyed_row_only(people):
    """Migration 0016 leaves the older rows without a hash: a request's first keyed row chains onto its last old
    row's content, and the first anchor pins them all."""
    old = make_request("health_care", actor=people["desk"])
    first = HistoryEntry.get(HistoryEntry.request == old.id)
    _behind_the_back("history", f"UPDATE \"history\" SET \"hash\" = '' WHERE \"id\" = {first.id}")  # as 0016 left it
    workflow.accept(people["health"], old, 1, "بعد الترقية")
    verdict = history_chain.verify()
    assert verdict.ok and (verdict.checked, verdict.legacy) == (2, 1)
    anchors.write_anchor()
    assert history_chain.verify().ok

    _behind_the_back("history", f"UPDATE \"history\" SET \"comment\" = 'x' WHERE \"id\" = {first.id}")
    verdict = history_chain.verify()
    second = HistoryEntry.get((HistoryEntry.request == old.id) & (HistoryEntry.action == "accept"))
    assert not verdict.ok and verdict.broken_at == second.id  # the keyed row after it no longer fits
    _behind_the_back("history", f"UPDATE \"history\" SET \"comment\" = '' WHERE \"id\" = {first.id}")
    assert history_chain.verify().ok

    later = HistoryEntry.get(HistoryEntry.request == make_request(actor=people["desk"]).id)
    _behind_the_back("history", f"UPDATE \"history\" SET \"hash\" = '', \"comment\" = 'x' WHERE \"id\" = {later.id}")
    verdict = history_chain.verify()
    assert not verdict.ok and verdict.broken_at == later.id and verdict.reason == history_chain.PLAIN
    _behind_the_back("history", f"UPDATE \"history\" SET \"hash\" = '' WHERE \"id\" = {second.id}")
    verdict = history_chain.verify()  # every keyed row up to the anchor turned old: the anchor's digest differs
    assert not verdict.ok and verdict.broken_at == second.id
    assert verdict.reason.startswith(history_chain.DIFFERENT)


def test_concurrent_actions_on_one_request_keep_its_chain(app, people):
    """Comments change nothing on the request, so nothing but the chain's own lock orders them."""
    req = make_request("health_care", actor=people["desk"])
    clerk_id = people["health"].id
    errors = []

    def work(n):
        try:
            with app.test_request_context(), db.database.connection_context():
                from intranet.models import Staff
                clerk, fresh = Staff.get_by_id(clerk_id), Request.get_by_id(req.id)
                for i in range(6):
                    workflow.comment(clerk, fresh, fresh.version, f"ملاحظة {n}-{i}")
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    with app.app_context(), db.database.connection_context():
        assert HistoryEntry.select().where(HistoryEntry.request == req.id).count() == 25
        verdict = history_chain.verify()
        assert verdict.ok and verdict.checked == 25


def test_seeded_history_verifies(app, ctx):
    from intranet.seed import seed

    counts = seed(120, now=dt.datetime(2026, 5, 13, 12), seed=5)
    anchors.write_anchor()
    verdict = history_chain.verify(batch=100)
    assert verdict.ok and verdict.checked == counts["history"] and verdict.legacy == 0
    assert verdict.anchors == 1


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # SQLite has one writer at a time anyway
def test_writers_of_different_requests_do_not_wait_for_each_other(app, people, backend):
    """No global chain: while one clerk's transaction on a request is still open, another clerk's action on
    another request commits."""
    first, second = (make_request("health_care", actor=people["desk"]) for _ in range(2))
    clerk_id = people["health"].id
    appended, release, errors = threading.Event(), threading.Event(), []

    def hold():
        try:
            with app.test_request_context(), db.database.connection_context():
                from intranet.models import Staff
                with db.transaction():
                    workflow.comment(Staff.get_by_id(clerk_id), Request.get_by_id(first.id), 1, "قيد المراجعة")
                    appended.set()
                    release.wait(60)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
            appended.set()
    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert appended.wait(60) and not errors
        started = dt.datetime.now()
        workflow.comment(people["health"], second, 1, "لا ينتظر الطلب الآخر")  # would block on a global lock
        assert (dt.datetime.now() - started).total_seconds() < 10
        assert HistoryEntry.select().where(HistoryEntry.request == first.id).count() == 1  # still uncommitted
    finally:
        release.set()
        holder.join(timeout=60)
    assert not errors
    verdict = history_chain.verify()
    assert verdict.ok and verdict.checked == 4
