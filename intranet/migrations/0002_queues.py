"""Queues at scale: clock pause and stage budget columns, return details on history, partial indexes for the
open work of a department, and Arabic-aware name search (FTS5 on SQLite, the `arabic` configuration on PostgreSQL)."""
from intranet.migrations import run

COMMON = [
    'ALTER TABLE "history" ADD COLUMN "details" TEXT NOT NULL DEFAULT \'{}\'',
    # open work only: the queue pages, take-next and the counts read these, never the closed millions
    # covering: tab counts and the usual filters are answered from the index alone
    'CREATE INDEX "request_open_by_due" ON "request" ("department_id", "due_at", "id", "status", "assignee_id", '
    '"paused_at", "request_type_id", "channel", "stage_id", "governorate_id") WHERE "closed_at" IS NULL',
    'CREATE INDEX "request_open_by_received" ON "request" ("department_id", "received_at", "id") '
    'WHERE "closed_at" IS NULL',
    'CREATE INDEX "request_open_by_assignee" ON "request" ("assignee_id", "due_at", "id") WHERE "closed_at" IS NULL',
    'CREATE INDEX "request_citizen_open" ON "request" ("citizen_id", "department_id") WHERE "closed_at" IS NULL',
    'DROP INDEX "request_department_id_status_due_at_id"',
    'DROP INDEX "request_assignee_id_status_due_at"',
]

SQLITE = [
    # the citizen's governorate when the request came in: queue filters and statistics by governorate
    'ALTER TABLE "request" ADD COLUMN "governorate_id" INTEGER REFERENCES "governorate" ("id")',
    'UPDATE "request" SET "governorate_id" = (SELECT "governorate_id" FROM "citizen" '
    'WHERE "citizen"."id" = "request"."citizen_id")',
    'ALTER TABLE "request" ADD COLUMN "paused_at" DATETIME',
    'ALTER TABLE "request" ADD COLUMN "stage_due_at" DATETIME',
    # the name as folded by intranet.i18n.normalize_arabic, indexed by FTS5 (external content: no copy)
    "CREATE VIRTUAL TABLE citizen_fts USING fts5(name_search, content='citizen', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "INSERT INTO citizen_fts (rowid, name_search) SELECT id, name_search FROM citizen",
    "CREATE TRIGGER citizen_fts_insert AFTER INSERT ON citizen BEGIN "
    "INSERT INTO citizen_fts (rowid, name_search) VALUES (new.id, new.name_search); END",
    "CREATE TRIGGER citizen_fts_delete AFTER DELETE ON citizen BEGIN "
    "INSERT INTO citizen_fts (citizen_fts, rowid, name_search) VALUES ('delete', old.id, old.name_search); END",
    "CREATE TRIGGER citizen_fts_update AFTER UPDATE OF name_search ON citizen BEGIN "
    "INSERT INTO citizen_fts (citizen_fts, rowid, name_search) VALUES ('delete', old.id, old.name_search); "
    "INSERT INTO citizen_fts (rowid, name_search) VALUES (new.id, new.name_search); END",
]

POSTGRESQL = [
    'ALTER TABLE "request" ADD COLUMN "governorate_id" INTEGER REFERENCES "governorate" ("id")',
    'UPDATE "request" SET "governorate_id" = "citizen"."governorate_id" FROM "citizen" '
    'WHERE "citizen"."id" = "request"."citizen_id"',
    'ALTER TABLE "request" ADD COLUMN "paused_at" TIMESTAMP',
    'ALTER TABLE "request" ADD COLUMN "stage_due_at" TIMESTAMP',
    'ALTER TABLE "citizen" ADD COLUMN "name_tsv" tsvector '
    "GENERATED ALWAYS AS (to_tsvector('arabic', \"name_search\")) STORED",
    'CREATE INDEX "citizen_name_tsv" ON "citizen" USING GIN ("name_tsv")',
]


def up(db):
    run(db, SQLITE, POSTGRESQL, COMMON)
