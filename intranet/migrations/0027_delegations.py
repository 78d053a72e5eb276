"""Delegation (issue 18): a grantor lets a delegate act on one stage of one request type, decide payouts up to an
amount, work one department's queue, or approve as the head, for a period of the office's days, until revoked
(the row stays, with who revoked it, when and why). Indexed on the delegate (what the permission rules read on
every refusal of a person's own rights) and on the grantor (the page of delegations given).

`history.delegation_id`: the delegation an action was taken under ("A acting for B under delegation n"); keyed
into the row's hash only where a row has one (intranet/history_chain.py), so every row written before reads as it
did."""
from intranet.migrations import run

SQLITE = [
    'CREATE TABLE "delegation" ("id" INTEGER NOT NULL PRIMARY KEY, "grantor_id" INTEGER NOT NULL, "delegate_id" INTEGER NOT NULL, "scope" VARCHAR(20) NOT NULL, "request_type_id" INTEGER, "stage_id" INTEGER, "department_id" INTEGER, "amount_limit" DECIMAL(14, 3), "starts_on" DATE NOT NULL, "ends_on" DATE NOT NULL, "reason" TEXT NOT NULL, "created_by_id" INTEGER NOT NULL, "created_at" DATETIME NOT NULL, "revoked_at" DATETIME, "revoked_by_id" INTEGER, "revoke_reason" TEXT NOT NULL, FOREIGN KEY ("grantor_id") REFERENCES "staff" ("id") ON DELETE RESTRICT, FOREIGN KEY ("delegate_id") REFERENCES "staff" ("id") ON DELETE RESTRICT, FOREIGN KEY ("request_type_id") REFERENCES "request_type" ("id") ON DELETE RESTRICT, FOREIGN KEY ("stage_id") REFERENCES "stage" ("id") ON DELETE RESTRICT, FOREIGN KEY ("department_id") REFERENCES "department" ("id") ON DELETE RESTRICT, FOREIGN KEY ("created_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT, FOREIGN KEY ("revoked_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'ALTER TABLE "history" ADD COLUMN "delegation_id" INTEGER REFERENCES "delegation" ("id") ON DELETE RESTRICT',
]

POSTGRESQL = [
    'CREATE TABLE "delegation" ("id" SERIAL NOT NULL PRIMARY KEY, "grantor_id" INTEGER NOT NULL, "delegate_id" INTEGER NOT NULL, "scope" VARCHAR(20) NOT NULL, "request_type_id" INTEGER, "stage_id" INTEGER, "department_id" INTEGER, "amount_limit" NUMERIC(14, 3), "starts_on" DATE NOT NULL, "ends_on" DATE NOT NULL, "reason" TEXT NOT NULL, "created_by_id" INTEGER NOT NULL, "created_at" TIMESTAMP NOT NULL, "revoked_at" TIMESTAMP, "revoked_by_id" INTEGER, "revoke_reason" TEXT NOT NULL, FOREIGN KEY ("grantor_id") REFERENCES "staff" ("id") ON DELETE RESTRICT, FOREIGN KEY ("delegate_id") REFERENCES "staff" ("id") ON DELETE RESTRICT, FOREIGN KEY ("request_type_id") REFERENCES "request_type" ("id") ON DELETE RESTRICT, FOREIGN KEY ("stage_id") REFERENCES "stage" ("id") ON DELETE RESTRICT, FOREIGN KEY ("department_id") REFERENCES "department" ("id") ON DELETE RESTRICT, FOREIGN KEY ("created_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT, FOREIGN KEY ("revoked_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'ALTER TABLE "history" ADD COLUMN "delegation_id" INTEGER REFERENCES "delegation" ("id") ON DELETE RESTRICT',
]

COMMON = [
    'CREATE INDEX "delegation_grantor_id" ON "delegation" ("grantor_id")',
    'CREATE INDEX "delegation_delegate_id" ON "delegation" ("delegate_id")',
]


def up(db):
    run(db, SQLITE, POSTGRESQL, COMMON)
