"""Straight-through processing (issue 17): the local registries' records (unique per registry and national ID), the
automatic-decision rules (a version per row, unique per type), the decisions with their evidence (one per request:
the unique index makes deciding idempotent; partial indexes over the pending ones, for the sweeper, and over the
eligible ones by type and time, for the money committed against the ceilings), the exceptions, pauses and
ceilings."""
from intranet.migrations import run

SQLITE = [
    'CREATE TABLE "registry_record" ("id" INTEGER NOT NULL PRIMARY KEY, "registry" VARCHAR(40) NOT NULL, "national_id" VARCHAR(20) NOT NULL, "facts" TEXT NOT NULL, "loaded_at" DATETIME NOT NULL)',
    'CREATE TABLE "auto_rule" ("id" INTEGER NOT NULL PRIMARY KEY, "request_type_id" INTEGER NOT NULL, "version" INTEGER NOT NULL, "active" INTEGER NOT NULL, "registry" VARCHAR(40) NOT NULL, "conditions" TEXT NOT NULL, "amount_limit" DECIMAL(14, 3), "decision" VARCHAR(20) NOT NULL, "created_by_id" INTEGER, "created_at" DATETIME NOT NULL, "note" TEXT NOT NULL, FOREIGN KEY ("request_type_id") REFERENCES "request_type" ("id") ON DELETE RESTRICT, FOREIGN KEY ("created_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "auto_decision" ("id" INTEGER NOT NULL PRIMARY KEY, "request_id" INTEGER NOT NULL, "request_type_id" INTEGER NOT NULL, "rule_id" INTEGER, "outcome" VARCHAR(12) NOT NULL, "reason" VARCHAR(40) NOT NULL, "checks" TEXT NOT NULL, "registry" VARCHAR(40) NOT NULL, "registry_raw" TEXT NOT NULL, "fetched_at" DATETIME, "amount" DECIMAL(14, 3), "sampled" INTEGER NOT NULL, "reviewed_by_id" INTEGER, "review_outcome" VARCHAR(12), "review_reason" TEXT NOT NULL, "reviewed_at" DATETIME, "created_at" DATETIME NOT NULL, "decided_at" DATETIME, FOREIGN KEY ("request_id") REFERENCES "request" ("id") ON DELETE CASCADE, FOREIGN KEY ("request_type_id") REFERENCES "request_type" ("id") ON DELETE RESTRICT, FOREIGN KEY ("rule_id") REFERENCES "auto_rule" ("id") ON DELETE RESTRICT, FOREIGN KEY ("reviewed_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "auto_exception" ("id" INTEGER NOT NULL PRIMARY KEY, "citizen_id" INTEGER, "request_type_id" INTEGER, "reason" TEXT NOT NULL, "added_by_id" INTEGER NOT NULL, "created_at" DATETIME NOT NULL, "removed_at" DATETIME, "removed_by_id" INTEGER, FOREIGN KEY ("citizen_id") REFERENCES "citizen" ("id") ON DELETE RESTRICT, FOREIGN KEY ("request_type_id") REFERENCES "request_type" ("id") ON DELETE RESTRICT, FOREIGN KEY ("added_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT, FOREIGN KEY ("removed_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "auto_pause" ("id" INTEGER NOT NULL PRIMARY KEY, "request_type_id" INTEGER NOT NULL, "paused_by_id" INTEGER NOT NULL, "paused_at" DATETIME NOT NULL, "resumed_at" DATETIME, "resumed_by_id" INTEGER, FOREIGN KEY ("request_type_id") REFERENCES "request_type" ("id") ON DELETE RESTRICT, FOREIGN KEY ("paused_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT, FOREIGN KEY ("resumed_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "auto_ceiling" ("id" INTEGER NOT NULL PRIMARY KEY, "request_type_id" INTEGER NOT NULL, "per_day" DECIMAL(14, 3), "per_month" DECIMAL(14, 3), "set_by_id" INTEGER, "set_at" DATETIME NOT NULL, "alerted_day" VARCHAR(10) NOT NULL, "alerted_month" VARCHAR(7) NOT NULL, FOREIGN KEY ("request_type_id") REFERENCES "request_type" ("id") ON DELETE RESTRICT, FOREIGN KEY ("set_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
]

POSTGRESQL = [
    'CREATE TABLE "registry_record" ("id" SERIAL NOT NULL PRIMARY KEY, "registry" VARCHAR(40) NOT NULL, "national_id" VARCHAR(20) NOT NULL, "facts" TEXT NOT NULL, "loaded_at" TIMESTAMP NOT NULL)',
    'CREATE TABLE "auto_rule" ("id" SERIAL NOT NULL PRIMARY KEY, "request_type_id" INTEGER NOT NULL, "version" INTEGER NOT NULL, "active" BOOLEAN NOT NULL, "registry" VARCHAR(40) NOT NULL, "conditions" TEXT NOT NULL, "amount_limit" NUMERIC(14, 3), "decision" VARCHAR(20) NOT NULL, "created_by_id" INTEGER, "created_at" TIMESTAMP NOT NULL, "note" TEXT NOT NULL, FOREIGN KEY ("request_type_id") REFERENCES "request_type" ("id") ON DELETE RESTRICT, FOREIGN KEY ("created_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "auto_decision" ("id" SERIAL NOT NULL PRIMARY KEY, "request_id" INTEGER NOT NULL, "request_type_id" INTEGER NOT NULL, "rule_id" INTEGER, "outcome" VARCHAR(12) NOT NULL, "reason" VARCHAR(40) NOT NULL, "checks" TEXT NOT NULL, "registry" VARCHAR(40) NOT NULL, "registry_raw" TEXT NOT NULL, "fetched_at" TIMESTAMP, "amount" NUMERIC(14, 3), "sampled" BOOLEAN NOT NULL, "reviewed_by_id" INTEGER, "review_outcome" VARCHAR(12), "review_reason" TEXT NOT NULL, "reviewed_at" TIMESTAMP, "created_at" TIMESTAMP NOT NULL, "decided_at" TIMESTAMP, FOREIGN KEY ("request_id") REFERENCES "request" ("id") ON DELETE CASCADE, FOREIGN KEY ("request_type_id") REFERENCES "request_type" ("id") ON DELETE RESTRICT, FOREIGN KEY ("rule_id") REFERENCES "auto_rule" ("id") ON DELETE RESTRICT, FOREIGN KEY ("reviewed_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "auto_exception" ("id" SERIAL NOT NULL PRIMARY KEY, "citizen_id" INTEGER, "request_type_id" INTEGER, "reason" TEXT NOT NULL, "added_by_id" INTEGER NOT NULL, "created_at" TIMESTAMP NOT NULL, "removed_at" TIMESTAMP, "removed_by_id" INTEGER, FOREIGN KEY ("citizen_id") REFERENCES "citizen" ("id") ON DELETE RESTRICT, FOREIGN KEY ("request_type_id") REFERENCES "request_type" ("id") ON DELETE RESTRICT, FOREIGN KEY ("added_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT, FOREIGN KEY ("removed_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "auto_pause" ("id" SERIAL NOT NULL PRIMARY KEY, "request_type_id" INTEGER NOT NULL, "paused_by_id" INTEGER NOT NULL, "paused_at" TIMESTAMP NOT NULL, "resumed_at" TIMESTAMP, "resumed_by_id" INTEGER, FOREIGN KEY ("request_type_id") REFERENCES "request_type" ("id") ON DELETE RESTRICT, FOREIGN KEY ("paused_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT, FOREIGN KEY ("resumed_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "auto_ceiling" ("id" SERIAL NOT NULL PRIMARY KEY, "request_type_id" INTEGER NOT NULL, "per_day" NUMERIC(14, 3), "per_month" NUMERIC(14, 3), "set_by_id" INTEGER, "set_at" TIMESTAMP NOT NULL, "alerted_day" VARCHAR(10) NOT NULL, "alerted_month" VARCHAR(7) NOT NULL, FOREIGN KEY ("request_type_id") REFERENCES "request_type" ("id") ON DELETE RESTRICT, FOREIGN KEY ("set_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
]

COMMON = [
    'CREATE UNIQUE INDEX "registry_record_registry_national_id" ON "registry_record" ("registry", "national_id")',
    'CREATE INDEX "auto_rule_request_type_id" ON "auto_rule" ("request_type_id")',
    'CREATE INDEX "auto_rule_created_by_id" ON "auto_rule" ("created_by_id")',
    'CREATE UNIQUE INDEX "auto_rule_request_type_id_version" ON "auto_rule" ("request_type_id", "version")',
    'CREATE UNIQUE INDEX "auto_decision_request_id" ON "auto_decision" ("request_id")',
    'CREATE INDEX "auto_decision_request_type_id" ON "auto_decision" ("request_type_id")',
    'CREATE INDEX "auto_decision_rule_id" ON "auto_decision" ("rule_id")',
    'CREATE INDEX "auto_decision_reviewed_by_id" ON "auto_decision" ("reviewed_by_id")',
    'CREATE INDEX "auto_decision_pending" ON "auto_decision" ("id") WHERE ("outcome" = \'pending\')',
    'CREATE INDEX "auto_decision_committed" ON "auto_decision" ("request_type_id", "decided_at") WHERE ("outcome" = \'eligible\')',
    'CREATE INDEX "auto_exception_citizen_id" ON "auto_exception" ("citizen_id")',
    'CREATE INDEX "auto_exception_request_type_id" ON "auto_exception" ("request_type_id")',
    'CREATE INDEX "auto_exception_added_by_id" ON "auto_exception" ("added_by_id")',
    'CREATE INDEX "auto_exception_removed_by_id" ON "auto_exception" ("removed_by_id")',
    'CREATE INDEX "auto_pause_request_type_id" ON "auto_pause" ("request_type_id")',
    'CREATE INDEX "auto_pause_paused_by_id" ON "auto_pause" ("paused_by_id")',
    'CREATE INDEX "auto_pause_resumed_by_id" ON "auto_pause" ("resumed_by_id")',
    'CREATE UNIQUE INDEX "auto_ceiling_request_type_id" ON "auto_ceiling" ("request_type_id")',
    'CREATE INDEX "auto_ceiling_set_by_id" ON "auto_ceiling" ("set_by_id")',
]


def up(db):
    run(db, SQLITE, POSTGRESQL, COMMON)
