"""An audit trail an insider cannot rewrite (issue 14): history becomes append-only and keyed.

- `history.hash`: each row's HMAC under the audit key (intranet/history_chain.py). Rows already there keep an
  empty hash: a migration cannot know the key, which never enters the database ("legacy" rows, accepted only
  before the first keyed row and pinned by the first anchor; see intranet/chain.py).
- history is never deleted with its request: the foreign key becomes ON DELETE RESTRICT (it was CASCADE).
  SQLite cannot alter a constraint, and rebuilding the table is not an option: with foreign keys on (they cannot
  be turned off inside the migration's transaction) dropping the old table would cascade into attachments,
  notifications and webhook deliveries. The constraint's action is only text in the schema, not in the stored
  rows, so its definition is edited in place (PRAGMA writable_schema, as SQLite's documentation describes for
  changing a foreign key constraint) and the schema version is raised so every connection reads it again.
- triggers refuse UPDATE and DELETE on history (and TRUNCATE on PostgreSQL, for history and payout_audit: a
  TRUNCATE runs no row triggers).
"""
from intranet.migrations import run

# kept apart: the tests empty the table between tests by lifting this guard for a moment (tests/conftest.py)
SQLITE_NO_DELETE = ('CREATE TRIGGER "history_no_delete" BEFORE DELETE ON "history" '
                    "BEGIN SELECT RAISE(ABORT, 'history is append-only'); END")

SQLITE_NO_UPDATE = ('CREATE TRIGGER "history_no_update" BEFORE UPDATE ON "history" '
                    "BEGIN SELECT RAISE(ABORT, 'history is append-only'); END")

SQLITE = [
    "ALTER TABLE \"history\" ADD COLUMN \"hash\" VARCHAR(32) NOT NULL DEFAULT ''",
    SQLITE_NO_UPDATE,
    SQLITE_NO_DELETE,
]

CASCADE = 'FOREIGN KEY ("request_id") REFERENCES "request" ("id") ON DELETE CASCADE'
RESTRICT = 'FOREIGN KEY ("request_id") REFERENCES "request" ("id") ON DELETE RESTRICT'

# kept apart: the tests lift them to TRUNCATE every table between tests
POSTGRESQL_NO_TRUNCATE = ("history_no_truncate", "payout_audit_no_truncate")

POSTGRESQL = [
    "ALTER TABLE \"history\" ADD COLUMN \"hash\" VARCHAR(32) NOT NULL DEFAULT ''",
    'ALTER TABLE "history" DROP CONSTRAINT "history_request_id_fkey"',
    'ALTER TABLE "history" ADD CONSTRAINT "history_request_id_fkey" ' + RESTRICT,
    "CREATE FUNCTION history_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "'BEGIN RAISE EXCEPTION ''history is append-only''; END'",
    'CREATE TRIGGER "history_append_only" BEFORE UPDATE OR DELETE ON "history" '
    "FOR EACH ROW EXECUTE FUNCTION history_append_only()",
    'CREATE TRIGGER "history_no_truncate" BEFORE TRUNCATE ON "history" '
    "FOR EACH STATEMENT EXECUTE FUNCTION history_append_only()",
    'CREATE TRIGGER "payout_audit_no_truncate" BEFORE TRUNCATE ON "payout_audit" '
    "FOR EACH STATEMENT EXECUTE FUNCTION payout_audit_append_only()",
]


def _restrict_on_sqlite(db):
    (sql,) = db.execute_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'history'").fetchone()
    if sql.count(CASCADE) != 1:
        raise RuntimeError(f"history's foreign key to request is not the one migration 0001 made: {sql}")
    version = db.execute_sql("PRAGMA schema_version").fetchone()[0]
    db.execute_sql("PRAGMA writable_schema = ON")
    try:
        db.execute_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'history'",
                       (sql.replace(CASCADE, RESTRICT),))
        db.execute_sql(f"PRAGMA schema_version = {version + 1}")
    finally:
        db.execute_sql("PRAGMA writable_schema = OFF")


def up(db):
    import peewee

    run(db, SQLITE, POSTGRESQL)
    if isinstance(db, peewee.SqliteDatabase):
        _restrict_on_sqlite(db)
