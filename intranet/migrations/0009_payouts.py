"""Payouts (issue 7): payouts of completed money requests, who may not approve them, approvals, IBAN changes
awaiting a second person, and the append-only, hash-chained audit trail (triggers refuse UPDATE and DELETE)."""
from intranet.migrations import run

# kept apart: the tests empty the table between tests by lifting this guard for a moment
SQLITE_NO_DELETE = ('CREATE TRIGGER "payout_audit_no_delete" BEFORE DELETE ON "payout_audit" '
                    "BEGIN SELECT RAISE(ABORT, 'payout_audit is append-only'); END")

SQLITE = [
    'CREATE TABLE "payout" ("id" INTEGER NOT NULL PRIMARY KEY, "request_id" INTEGER NOT NULL, "citizen_id" INTEGER NOT NULL, "request_type_id" INTEGER NOT NULL, "department_id" INTEGER NOT NULL, "governorate_id" INTEGER, "amount" DECIMAL(14, 3) NOT NULL, "currency" VARCHAR(3) NOT NULL, "iban" VARCHAR(34) NOT NULL, "beneficiary" VARCHAR(200) NOT NULL, "status" VARCHAR(12) NOT NULL, "approvals_needed" INTEGER NOT NULL, "duplicate_of" TEXT NOT NULL, "override_reason" TEXT NOT NULL, "reject_reason" TEXT NOT NULL, "made_by_id" INTEGER NOT NULL, "created_at" DATETIME NOT NULL, "decided_at" DATETIME, "version" INTEGER NOT NULL, FOREIGN KEY ("request_id") REFERENCES "request" ("id") ON DELETE RESTRICT, FOREIGN KEY ("citizen_id") REFERENCES "citizen" ("id") ON DELETE RESTRICT, FOREIGN KEY ("request_type_id") REFERENCES "request_type" ("id") ON DELETE RESTRICT, FOREIGN KEY ("department_id") REFERENCES "department" ("id") ON DELETE RESTRICT, FOREIGN KEY ("governorate_id") REFERENCES "governorate" ("id") ON DELETE RESTRICT, FOREIGN KEY ("made_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "payout_party" ("id" INTEGER NOT NULL PRIMARY KEY, "payout_id" INTEGER NOT NULL, "staff_id" INTEGER NOT NULL, "role" VARCHAR(10) NOT NULL, FOREIGN KEY ("payout_id") REFERENCES "payout" ("id") ON DELETE CASCADE, FOREIGN KEY ("staff_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "payout_approval" ("id" INTEGER NOT NULL PRIMARY KEY, "payout_id" INTEGER NOT NULL, "approver_id" INTEGER NOT NULL, "iban" VARCHAR(34) NOT NULL, "approved_at" DATETIME NOT NULL, "voided_at" DATETIME, "void_reason" TEXT NOT NULL, FOREIGN KEY ("payout_id") REFERENCES "payout" ("id") ON DELETE CASCADE, FOREIGN KEY ("approver_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "iban_change" ("id" INTEGER NOT NULL PRIMARY KEY, "citizen_id" INTEGER NOT NULL, "old_iban" VARCHAR(34), "new_iban" VARCHAR(34) NOT NULL, "reason" TEXT NOT NULL, "status" VARCHAR(10) NOT NULL, "requested_by_id" INTEGER NOT NULL, "requested_at" DATETIME NOT NULL, "decided_by_id" INTEGER, "decided_at" DATETIME, FOREIGN KEY ("citizen_id") REFERENCES "citizen" ("id") ON DELETE CASCADE, FOREIGN KEY ("requested_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT, FOREIGN KEY ("decided_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "payout_audit" ("id" INTEGER NOT NULL PRIMARY KEY, "created_at" DATETIME NOT NULL, "actor_id" INTEGER, "action" VARCHAR(30) NOT NULL, "payout_id" INTEGER, "details" TEXT NOT NULL, "prev_hash" VARCHAR(64) NOT NULL, "hash" VARCHAR(64) NOT NULL, FOREIGN KEY ("actor_id") REFERENCES "staff" ("id") ON DELETE RESTRICT, FOREIGN KEY ("payout_id") REFERENCES "payout" ("id") ON DELETE RESTRICT)',
    'CREATE TRIGGER "payout_audit_no_update" BEFORE UPDATE ON "payout_audit" '
    "BEGIN SELECT RAISE(ABORT, 'payout_audit is append-only'); END",
    SQLITE_NO_DELETE,
]

POSTGRESQL = [
    'CREATE TABLE "payout" ("id" SERIAL NOT NULL PRIMARY KEY, "request_id" INTEGER NOT NULL, "citizen_id" INTEGER NOT NULL, "request_type_id" INTEGER NOT NULL, "department_id" INTEGER NOT NULL, "governorate_id" INTEGER, "amount" NUMERIC(14, 3) NOT NULL, "currency" VARCHAR(3) NOT NULL, "iban" VARCHAR(34) NOT NULL, "beneficiary" VARCHAR(200) NOT NULL, "status" VARCHAR(12) NOT NULL, "approvals_needed" INTEGER NOT NULL, "duplicate_of" TEXT NOT NULL, "override_reason" TEXT NOT NULL, "reject_reason" TEXT NOT NULL, "made_by_id" INTEGER NOT NULL, "created_at" TIMESTAMP NOT NULL, "decided_at" TIMESTAMP, "version" INTEGER NOT NULL, FOREIGN KEY ("request_id") REFERENCES "request" ("id") ON DELETE RESTRICT, FOREIGN KEY ("citizen_id") REFERENCES "citizen" ("id") ON DELETE RESTRICT, FOREIGN KEY ("request_type_id") REFERENCES "request_type" ("id") ON DELETE RESTRICT, FOREIGN KEY ("department_id") REFERENCES "department" ("id") ON DELETE RESTRICT, FOREIGN KEY ("governorate_id") REFERENCES "governorate" ("id") ON DELETE RESTRICT, FOREIGN KEY ("made_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "payout_party" ("id" SERIAL NOT NULL PRIMARY KEY, "payout_id" INTEGER NOT NULL, "staff_id" INTEGER NOT NULL, "role" VARCHAR(10) NOT NULL, FOREIGN KEY ("payout_id") REFERENCES "payout" ("id") ON DELETE CASCADE, FOREIGN KEY ("staff_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "payout_approval" ("id" SERIAL NOT NULL PRIMARY KEY, "payout_id" INTEGER NOT NULL, "approver_id" INTEGER NOT NULL, "iban" VARCHAR(34) NOT NULL, "approved_at" TIMESTAMP NOT NULL, "voided_at" TIMESTAMP, "void_reason" TEXT NOT NULL, FOREIGN KEY ("payout_id") REFERENCES "payout" ("id") ON DELETE CASCADE, FOREIGN KEY ("approver_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "iban_change" ("id" SERIAL NOT NULL PRIMARY KEY, "citizen_id" INTEGER NOT NULL, "old_iban" VARCHAR(34), "new_iban" VARCHAR(34) NOT NULL, "reason" TEXT NOT NULL, "status" VARCHAR(10) NOT NULL, "requested_by_id" INTEGER NOT NULL, "requested_at" TIMESTAMP NOT NULL, "decided_by_id" INTEGER, "decided_at" TIMESTAMP, FOREIGN KEY ("citizen_id") REFERENCES "citizen" ("id") ON DELETE CASCADE, FOREIGN KEY ("requested_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT, FOREIGN KEY ("decided_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "payout_audit" ("id" SERIAL NOT NULL PRIMARY KEY, "created_at" TIMESTAMP NOT NULL, "actor_id" INTEGER, "action" VARCHAR(30) NOT NULL, "payout_id" INTEGER, "details" TEXT NOT NULL, "prev_hash" VARCHAR(64) NOT NULL, "hash" VARCHAR(64) NOT NULL, FOREIGN KEY ("actor_id") REFERENCES "staff" ("id") ON DELETE RESTRICT, FOREIGN KEY ("payout_id") REFERENCES "payout" ("id") ON DELETE RESTRICT)',
    "CREATE FUNCTION payout_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "'BEGIN RAISE EXCEPTION ''payout_audit is append-only''; END'",
    'CREATE TRIGGER "payout_audit_append_only" BEFORE UPDATE OR DELETE ON "payout_audit" '
    "FOR EACH ROW EXECUTE FUNCTION payout_audit_append_only()",
]

COMMON = [
    'CREATE UNIQUE INDEX "payout_request_id" ON "payout" ("request_id")',
    'CREATE INDEX "payout_citizen_id" ON "payout" ("citizen_id")',
    'CREATE INDEX "payout_status_created_at" ON "payout" ("status", "created_at")',
    'CREATE INDEX "payout_citizen_id_request_type_id_created_at" ON "payout" ("citizen_id", "request_type_id", "created_at")',
    'CREATE INDEX "payout_party_payout_id" ON "payout_party" ("payout_id")',
    'CREATE UNIQUE INDEX "payout_party_payout_id_staff_id_role" ON "payout_party" ("payout_id", "staff_id", "role")',
    'CREATE INDEX "payout_approval_payout_id" ON "payout_approval" ("payout_id")',
    'CREATE INDEX "payout_approval_payout_id_approver_id" ON "payout_approval" ("payout_id", "approver_id")',
    'CREATE INDEX "iban_change_citizen_id" ON "iban_change" ("citizen_id")',
    'CREATE INDEX "iban_change_status_requested_at" ON "iban_change" ("status", "requested_at")',
    'CREATE UNIQUE INDEX "payout_audit_hash" ON "payout_audit" ("hash")',
    'CREATE INDEX "payout_audit_payout_id_id" ON "payout_audit" ("payout_id", "id")',
]


def up(db):
    run(db, SQLITE, POSTGRESQL, COMMON)
