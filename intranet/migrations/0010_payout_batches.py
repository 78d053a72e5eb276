"""Payout batches (issue 7): batches of approved payouts, their items (one live export per payout, a partial
unique index), the released files with their SHA-256, who downloaded them, and the bank's return files."""
from intranet.migrations import run

SQLITE = [
    'CREATE TABLE "payout_batch" ("id" INTEGER NOT NULL PRIMARY KEY, "reference" VARCHAR(35) NOT NULL, "bank" VARCHAR(30) NOT NULL, "pain_version" VARCHAR(20) NOT NULL, "language" VARCHAR(5) NOT NULL, "currency" VARCHAR(3) NOT NULL, "status" VARCHAR(12) NOT NULL, "item_count" INTEGER NOT NULL, "item_total" DECIMAL(16, 3) NOT NULL, "created_by_id" INTEGER NOT NULL, "created_at" DATETIME NOT NULL, "started_by_id" INTEGER, "started_at" DATETIME, "released_at" DATETIME, "phase" VARCHAR(12) NOT NULL, "done" INTEGER NOT NULL, "run_token" VARCHAR(32) NOT NULL, "lease_until" DATETIME, "runs" INTEGER NOT NULL, "error" TEXT NOT NULL, "version" INTEGER NOT NULL, FOREIGN KEY ("created_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT, FOREIGN KEY ("started_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "batch_item" ("id" INTEGER NOT NULL PRIMARY KEY, "batch_id" INTEGER NOT NULL, "payout_id" INTEGER NOT NULL, "seq" INTEGER NOT NULL, "end_to_end" VARCHAR(35) NOT NULL, "amount" DECIMAL(14, 3) NOT NULL, "iban" VARCHAR(34) NOT NULL, "beneficiary" VARCHAR(200) NOT NULL, "outcome" VARCHAR(8) NOT NULL, "outcome_reason" TEXT NOT NULL, "outcome_at" DATETIME, FOREIGN KEY ("batch_id") REFERENCES "payout_batch" ("id") ON DELETE RESTRICT, FOREIGN KEY ("payout_id") REFERENCES "payout" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "export_file" ("id" INTEGER NOT NULL PRIMARY KEY, "batch_id" INTEGER NOT NULL, "kind" VARCHAR(8) NOT NULL, "name" VARCHAR(120) NOT NULL, "path" VARCHAR(300) NOT NULL, "size" INTEGER NOT NULL, "sha256" VARCHAR(64) NOT NULL, "tx_count" INTEGER NOT NULL, "ctrl_sum" DECIMAL(16, 3) NOT NULL, "created_at" DATETIME NOT NULL, FOREIGN KEY ("batch_id") REFERENCES "payout_batch" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "export_download" ("id" INTEGER NOT NULL PRIMARY KEY, "file_id" INTEGER NOT NULL, "staff_id" INTEGER NOT NULL, "at" DATETIME NOT NULL, "address" VARCHAR(45) NOT NULL, FOREIGN KEY ("file_id") REFERENCES "export_file" ("id") ON DELETE RESTRICT, FOREIGN KEY ("staff_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "bank_return" ("id" INTEGER NOT NULL PRIMARY KEY, "batch_id" INTEGER NOT NULL, "filename" VARCHAR(200) NOT NULL, "sha256" VARCHAR(64) NOT NULL, "imported_by_id" INTEGER NOT NULL, "imported_at" DATETIME NOT NULL, "lines" INTEGER NOT NULL, "paid" INTEGER NOT NULL, "failed" INTEGER NOT NULL, "already" INTEGER NOT NULL, "unknown" INTEGER NOT NULL, "conflicts" INTEGER NOT NULL, "paid_total" DECIMAL(16, 3) NOT NULL, "failed_total" DECIMAL(16, 3) NOT NULL, "report" TEXT NOT NULL, FOREIGN KEY ("batch_id") REFERENCES "payout_batch" ("id") ON DELETE RESTRICT, FOREIGN KEY ("imported_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
]

POSTGRESQL = [
    'CREATE TABLE "payout_batch" ("id" SERIAL NOT NULL PRIMARY KEY, "reference" VARCHAR(35) NOT NULL, "bank" VARCHAR(30) NOT NULL, "pain_version" VARCHAR(20) NOT NULL, "language" VARCHAR(5) NOT NULL, "currency" VARCHAR(3) NOT NULL, "status" VARCHAR(12) NOT NULL, "item_count" INTEGER NOT NULL, "item_total" NUMERIC(16, 3) NOT NULL, "created_by_id" INTEGER NOT NULL, "created_at" TIMESTAMP NOT NULL, "started_by_id" INTEGER, "started_at" TIMESTAMP, "released_at" TIMESTAMP, "phase" VARCHAR(12) NOT NULL, "done" INTEGER NOT NULL, "run_token" VARCHAR(32) NOT NULL, "lease_until" TIMESTAMP, "runs" INTEGER NOT NULL, "error" TEXT NOT NULL, "version" INTEGER NOT NULL, FOREIGN KEY ("created_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT, FOREIGN KEY ("started_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "batch_item" ("id" SERIAL NOT NULL PRIMARY KEY, "batch_id" INTEGER NOT NULL, "payout_id" INTEGER NOT NULL, "seq" INTEGER NOT NULL, "end_to_end" VARCHAR(35) NOT NULL, "amount" NUMERIC(14, 3) NOT NULL, "iban" VARCHAR(34) NOT NULL, "beneficiary" VARCHAR(200) NOT NULL, "outcome" VARCHAR(8) NOT NULL, "outcome_reason" TEXT NOT NULL, "outcome_at" TIMESTAMP, FOREIGN KEY ("batch_id") REFERENCES "payout_batch" ("id") ON DELETE RESTRICT, FOREIGN KEY ("payout_id") REFERENCES "payout" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "export_file" ("id" SERIAL NOT NULL PRIMARY KEY, "batch_id" INTEGER NOT NULL, "kind" VARCHAR(8) NOT NULL, "name" VARCHAR(120) NOT NULL, "path" VARCHAR(300) NOT NULL, "size" BIGINT NOT NULL, "sha256" VARCHAR(64) NOT NULL, "tx_count" INTEGER NOT NULL, "ctrl_sum" NUMERIC(16, 3) NOT NULL, "created_at" TIMESTAMP NOT NULL, FOREIGN KEY ("batch_id") REFERENCES "payout_batch" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "export_download" ("id" SERIAL NOT NULL PRIMARY KEY, "file_id" INTEGER NOT NULL, "staff_id" INTEGER NOT NULL, "at" TIMESTAMP NOT NULL, "address" VARCHAR(45) NOT NULL, FOREIGN KEY ("file_id") REFERENCES "export_file" ("id") ON DELETE RESTRICT, FOREIGN KEY ("staff_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "bank_return" ("id" SERIAL NOT NULL PRIMARY KEY, "batch_id" INTEGER NOT NULL, "filename" VARCHAR(200) NOT NULL, "sha256" VARCHAR(64) NOT NULL, "imported_by_id" INTEGER NOT NULL, "imported_at" TIMESTAMP NOT NULL, "lines" INTEGER NOT NULL, "paid" INTEGER NOT NULL, "failed" INTEGER NOT NULL, "already" INTEGER NOT NULL, "unknown" INTEGER NOT NULL, "conflicts" INTEGER NOT NULL, "paid_total" NUMERIC(16, 3) NOT NULL, "failed_total" NUMERIC(16, 3) NOT NULL, "report" TEXT NOT NULL, FOREIGN KEY ("batch_id") REFERENCES "payout_batch" ("id") ON DELETE RESTRICT, FOREIGN KEY ("imported_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
]

COMMON = [
    'CREATE UNIQUE INDEX "payout_batch_reference" ON "payout_batch" ("reference")',
    'CREATE INDEX "payout_batch_status_id" ON "payout_batch" ("status", "id")',
    'CREATE UNIQUE INDEX "batch_item_end_to_end" ON "batch_item" ("end_to_end")',
    'CREATE UNIQUE INDEX "batch_item_batch_id_seq" ON "batch_item" ("batch_id", "seq")',
    'CREATE INDEX "batch_item_payout_id_id" ON "batch_item" ("payout_id", "id")',
    'CREATE UNIQUE INDEX "batch_item_one_live_export" ON "batch_item" ("payout_id") WHERE ("outcome" IN (\'\', \'paid\'))',
    'CREATE UNIQUE INDEX "export_file_batch_id_kind" ON "export_file" ("batch_id", "kind")',
    'CREATE INDEX "export_download_file_id_at" ON "export_download" ("file_id", "at")',
    'CREATE INDEX "bank_return_batch_id_id" ON "bank_return" ("batch_id", "id")',
]


def up(db):
    run(db, SQLITE, POSTGRESQL, COMMON)
