"""The second factor of supervisors and administrators (issue 14): a person's TOTP secret with the time step of the
last code accepted (no code twice), and their one-time recovery codes, stored as keyed hashes only."""
from intranet.migrations import run

SQLITE = [
    'CREATE TABLE "staff_factor" ("staff_id" INTEGER NOT NULL PRIMARY KEY, "secret" VARCHAR(64) NOT NULL, "created_at" DATETIME NOT NULL, "enrolled_at" DATETIME, "last_step" INTEGER, FOREIGN KEY ("staff_id") REFERENCES "staff" ("id") ON DELETE CASCADE)',
    'CREATE TABLE "recovery_code" ("id" INTEGER NOT NULL PRIMARY KEY, "staff_id" INTEGER NOT NULL, "digest" VARCHAR(64) NOT NULL, "used_at" DATETIME, FOREIGN KEY ("staff_id") REFERENCES "staff" ("id") ON DELETE CASCADE)',
]

POSTGRESQL = [
    'CREATE TABLE "staff_factor" ("staff_id" INTEGER NOT NULL PRIMARY KEY, "secret" VARCHAR(64) NOT NULL, "created_at" TIMESTAMP NOT NULL, "enrolled_at" TIMESTAMP, "last_step" BIGINT, FOREIGN KEY ("staff_id") REFERENCES "staff" ("id") ON DELETE CASCADE)',
    'CREATE TABLE "recovery_code" ("id" SERIAL NOT NULL PRIMARY KEY, "staff_id" INTEGER NOT NULL, "digest" VARCHAR(64) NOT NULL, "used_at" TIMESTAMP, FOREIGN KEY ("staff_id") REFERENCES "staff" ("id") ON DELETE CASCADE)',
]

COMMON = [
    # a person's codes (checking one, counting those left, replacing them all); one row per code
    'CREATE UNIQUE INDEX "recovery_code_staff_id_digest" ON "recovery_code" ("staff_id", "digest")',
]


def up(db):
    run(db, SQLITE, POSTGRESQL, COMMON)
