"""Walk-in intake: an idempotent submission token per request, and the notification outbox."""
from intranet.migrations import run

SQLITE = [
    'ALTER TABLE "request" ADD COLUMN "submission_token" VARCHAR(64)',
    'CREATE TABLE "notification" ("id" INTEGER NOT NULL PRIMARY KEY, "request_id" INTEGER, "citizen_id" INTEGER NOT NULL, '
    '"event" VARCHAR(40) NOT NULL, "channel" VARCHAR(10) NOT NULL, "language" VARCHAR(2) NOT NULL, '
    '"recipient" VARCHAR(200) NOT NULL, "body" TEXT NOT NULL, "dedupe_key" VARCHAR(200) NOT NULL, '
    '"status" VARCHAR(12) NOT NULL, "attempts" INTEGER NOT NULL, "last_error" TEXT NOT NULL, '
    '"created_at" DATETIME NOT NULL, "sent_at" DATETIME, '
    'FOREIGN KEY ("request_id") REFERENCES "request" ("id") ON DELETE CASCADE, '
    'FOREIGN KEY ("citizen_id") REFERENCES "citizen" ("id") ON DELETE CASCADE)',
]

POSTGRESQL = [
    'ALTER TABLE "request" ADD COLUMN "submission_token" VARCHAR(64)',
    'CREATE TABLE "notification" ("id" SERIAL NOT NULL PRIMARY KEY, "request_id" INTEGER, "citizen_id" INTEGER NOT NULL, '
    '"event" VARCHAR(40) NOT NULL, "channel" VARCHAR(10) NOT NULL, "language" VARCHAR(2) NOT NULL, '
    '"recipient" VARCHAR(200) NOT NULL, "body" TEXT NOT NULL, "dedupe_key" VARCHAR(200) NOT NULL, '
    '"status" VARCHAR(12) NOT NULL, "attempts" INTEGER NOT NULL, "last_error" TEXT NOT NULL, '
    '"created_at" TIMESTAMP NOT NULL, "sent_at" TIMESTAMP, '
    'FOREIGN KEY ("request_id") REFERENCES "request" ("id") ON DELETE CASCADE, '
    'FOREIGN KEY ("citizen_id") REFERENCES "citizen" ("id") ON DELETE CASCADE)',
]

COMMON = [
    # a resent or double-clicked form carries the same token: the second insert fails and finds the first
    'CREATE UNIQUE INDEX "request_submission_token" ON "request" ("submission_token")',
    'CREATE UNIQUE INDEX "notification_dedupe_key" ON "notification" ("dedupe_key")',
    'CREATE INDEX "notification_request_id" ON "notification" ("request_id")',
    'CREATE INDEX "notification_citizen_id" ON "notification" ("citizen_id")',
    'CREATE INDEX "notification_status_created_at" ON "notification" ("status", "created_at")',
]


def up(db):
    run(db, SQLITE, POSTGRESQL, COMMON)
