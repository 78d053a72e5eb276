"""The payouts' audit trail: append-only in the database itself, and a hash chain that names the first entry
anyone changed behind the application's back."""
import threading

import pytest
from peewee import DatabaseError

from intranet import db
from intranet.cli import audit_verify
from intranet.models.payouts import AuditEntry
from intranet.payouts import audit
from tests.factories import make_staff


def test_entries_chain_and_verify(ctx):
    boss = make_staff("boss", "supervisor", None)
    first = audit.append(boss, "approve", amount="1250.500", iban="QA58DOHB00001234567890ABCDEFG")
    second = audit.append(None, "export", batch=7)
    assert first.prev_hash == audit.GENESIS and second.prev_hash == first.hash
    assert audit.verify().ok and audit.verify().checked == 2


@pytest.mark.parametrize("statement", ['UPDATE "payout_audit" SET "action" = \'forged\'', 'DELETE FROM "payout_audit"'])
def test_the_database_refuses_changes_and_deletions(ctx, statement):
    audit.append(None, "approve")
    with pytest.raises(DatabaseError, match="append-only"):
        with db.transaction():
            db.database.execute_sql(statement)
    assert AuditEntry.select().count() == 1 and AuditEntry.get().action == "approve"


def _behind_the_back(sql):
    """What someone with the database's owner rights could do: lift the guard, change a row, put it back."""
    if db.is_sqlite():
        db.database.execute_sql('DROP TRIGGER "payout_audit_no_update"')
        db.database.execute_sql(sql)
        db.database.execute_sql('CREATE TRIGGER "payout_audit_no_update" BEFORE UPDATE ON "payout_audit" '
                                "BEGIN SELECT RAISE(ABORT, 'payout_audit is append-only'); END")
    else:
        db.database.execute_sql('ALTER TABLE "payout_audit" DISABLE TRIGGER USER')
        db.database.execute_sql(sql)
        db.database.execute_sql('ALTER TABLE "payout_audit" ENABLE TRIGGER USER')


def test_a_row_changed_behind_the_back_breaks_the_chain_there(app, ctx):
    entries = [audit.append(None, "approve", n=n) for n in range(5)]
    _behind_the_back(f'UPDATE "payout_audit" SET "details" = \'{{"n": 99}}\' WHERE "id" = {entries[2].id}')
    verdict = audit.verify(batch=2)  # across pages
    assert not verdict.ok and verdict.broken_at == entries[2].id and verdict.checked == 2
    result = app.test_cli_runner().invoke(audit_verify)
    assert result.exit_code == 1 and str(entries[2].id) in result.output


def test_a_row_removed_behind_the_back_breaks_the_chain_after_it(ctx):
    entries = [audit.append(None, "approve", n=n) for n in range(4)]
    if db.is_sqlite():
        db.database.execute_sql('DROP TRIGGER "payout_audit_no_delete"')
        db.database.execute_sql(f'DELETE FROM "payout_audit" WHERE "id" = {entries[1].id}')
        db.database.execute_sql('CREATE TRIGGER "payout_audit_no_delete" BEFORE DELETE ON "payout_audit" '
                                "BEGIN SELECT RAISE(ABORT, 'payout_audit is append-only'); END")
    else:
        _behind_the_back(f'DELETE FROM "payout_audit" WHERE "id" = {entries[1].id}')
    verdict = audit.verify()
    assert not verdict.ok and verdict.broken_at == entries[2].id


def test_concurrent_appends_keep_one_chain(app, backend):
    def work():
        with app.app_context(), db.database.connection_context():
            for n in range(15):
                audit.append(None, "approve", n=n)
    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with app.app_context(), db.database.connection_context():
        assert AuditEntry.select().count() == 90
        assert audit.verify().ok


def test_verify_command_says_intact(app, ctx):
    audit.append(None, "approve")
    result = app.test_cli_runner().invoke(audit_verify)
    assert result.exit_code == 0 and "intact: 1 entries" in result.output
