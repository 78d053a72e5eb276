"""Notifications at every step (issue 6): the outbox gains staff recipients, e-mail subjects, back-off, leases,
gateway references, delivery and failure times and the desk's follow-up of failures; every attempt is a row;
administrators' wordings of the messages; the citizen's e-mail; the clerk's last look at the queue."""
from intranet.migrations import run

# SQLite cannot drop NOT NULL from citizen_id: the table is rebuilt and its rows copied
SQLITE = [
    'CREATE TABLE "notification_new" ("id" INTEGER NOT NULL PRIMARY KEY, "request_id" INTEGER, "history_id" INTEGER, "citizen_id" INTEGER, "staff_id" INTEGER, "event" VARCHAR(40) NOT NULL, "channel" VARCHAR(10) NOT NULL, "language" VARCHAR(2) NOT NULL, "recipient" VARCHAR(200) NOT NULL, "subject" VARCHAR(300) NOT NULL, "body" TEXT NOT NULL, "dedupe_key" VARCHAR(200) NOT NULL, "status" VARCHAR(12) NOT NULL, "attempts" INTEGER NOT NULL, "next_attempt_at" DATETIME NOT NULL, "lease_until" DATETIME, "provider_ref" VARCHAR(100), "last_error" TEXT NOT NULL, "created_at" DATETIME NOT NULL, "sent_at" DATETIME, "delivered_at" DATETIME, "failed_at" DATETIME, "resolved_at" DATETIME, "resolved_by_id" INTEGER, "resolution_note" TEXT NOT NULL, FOREIGN KEY ("request_id") REFERENCES "request" ("id") ON DELETE CASCADE, FOREIGN KEY ("history_id") REFERENCES "history" ("id") ON DELETE CASCADE, FOREIGN KEY ("citizen_id") REFERENCES "citizen" ("id") ON DELETE CASCADE, FOREIGN KEY ("staff_id") REFERENCES "staff" ("id") ON DELETE CASCADE, FOREIGN KEY ("resolved_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'INSERT INTO "notification_new" (id, request_id, citizen_id, event, channel, language, recipient, body, dedupe_key, status, attempts, last_error, created_at, sent_at, next_attempt_at, subject, resolution_note) '
    'SELECT id, request_id, citizen_id, event, channel, language, recipient, body, dedupe_key, status, attempts, last_error, created_at, sent_at, created_at, \'\', \'\' FROM "notification"',
    'DROP TABLE "notification"',
    'ALTER TABLE "notification_new" RENAME TO "notification"',
    'CREATE TABLE "notification_attempt" ("id" INTEGER NOT NULL PRIMARY KEY, "notification_id" INTEGER NOT NULL, "started_at" DATETIME NOT NULL, "duration_ms" INTEGER NOT NULL, "outcome" VARCHAR(12) NOT NULL, "status_code" INTEGER, "error" TEXT NOT NULL, "provider_ref" VARCHAR(100), FOREIGN KEY ("notification_id") REFERENCES "notification" ("id") ON DELETE CASCADE)',
    'CREATE TABLE "message_template" ("id" INTEGER NOT NULL PRIMARY KEY, "event" VARCHAR(40) NOT NULL, "channel" VARCHAR(10) NOT NULL, "language" VARCHAR(2) NOT NULL, "subject" VARCHAR(300) NOT NULL, "body" TEXT NOT NULL, "updated_by_id" INTEGER, "updated_at" DATETIME NOT NULL, FOREIGN KEY ("updated_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'ALTER TABLE "citizen" ADD COLUMN "email" VARCHAR(200)',
    'ALTER TABLE "staff" ADD COLUMN "queue_seen_at" DATETIME',
    'CREATE UNIQUE INDEX "notification_dedupe_key" ON "notification" ("dedupe_key")',
    'CREATE INDEX "notification_request_id" ON "notification" ("request_id")',
    'CREATE INDEX "notification_citizen_id" ON "notification" ("citizen_id")',
]

POSTGRESQL = [
    'ALTER TABLE "notification" ALTER COLUMN "citizen_id" DROP NOT NULL',
    'DROP INDEX "notification_status_created_at"',
    'ALTER TABLE "notification" ADD COLUMN "history_id" INTEGER REFERENCES "history" ("id") ON DELETE CASCADE',
    'ALTER TABLE "notification" ADD COLUMN "staff_id" INTEGER REFERENCES "staff" ("id") ON DELETE CASCADE',
    "ALTER TABLE \"notification\" ADD COLUMN \"subject\" VARCHAR(300) NOT NULL DEFAULT ''",
    'ALTER TABLE "notification" ADD COLUMN "next_attempt_at" TIMESTAMP NOT NULL DEFAULT now()',
    'ALTER TABLE "notification" ADD COLUMN "lease_until" TIMESTAMP',
    'ALTER TABLE "notification" ADD COLUMN "provider_ref" VARCHAR(100)',
    'ALTER TABLE "notification" ADD COLUMN "delivered_at" TIMESTAMP',
    'ALTER TABLE "notification" ADD COLUMN "failed_at" TIMESTAMP',
    'ALTER TABLE "notification" ADD COLUMN "resolved_at" TIMESTAMP',
    'ALTER TABLE "notification" ADD COLUMN "resolved_by_id" INTEGER REFERENCES "staff" ("id") ON DELETE RESTRICT',
    "ALTER TABLE \"notification\" ADD COLUMN \"resolution_note\" TEXT NOT NULL DEFAULT ''",
    'CREATE TABLE "notification_attempt" ("id" SERIAL NOT NULL PRIMARY KEY, "notification_id" INTEGER NOT NULL, "started_at" TIMESTAMP NOT NULL, "duration_ms" INTEGER NOT NULL, "outcome" VARCHAR(12) NOT NULL, "status_code" INTEGER, "error" TEXT NOT NULL, "provider_ref" VARCHAR(100), FOREIGN KEY ("notification_id") REFERENCES "notification" ("id") ON DELETE CASCADE)',
    'CREATE TABLE "message_template" ("id" SERIAL NOT NULL PRIMARY KEY, "event" VARCHAR(40) NOT NULL, "channel" VARCHAR(10) NOT NULL, "language" VARCHAR(2) NOT NULL, "subject" VARCHAR(300) NOT NULL, "body" TEXT NOT NULL, "updated_by_id" INTEGER, "updated_at" TIMESTAMP NOT NULL, FOREIGN KEY ("updated_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'ALTER TABLE "citizen" ADD COLUMN "email" VARCHAR(200)',
    'ALTER TABLE "staff" ADD COLUMN "queue_seen_at" TIMESTAMP',
]

COMMON = [
    'CREATE INDEX "notification_staff_id" ON "notification" ("staff_id")',
    'CREATE INDEX "notification_status_next_attempt_at" ON "notification" ("status", "next_attempt_at")',
    'CREATE INDEX "notification_history_id_id" ON "notification" ("history_id", "id")',
    'CREATE INDEX "notification_provider_ref" ON "notification" ("provider_ref")',
    'CREATE INDEX "notification_status_failed_at" ON "notification" ("status", "failed_at")',
    'CREATE INDEX "notification_attempt_notification_id" ON "notification_attempt" ("notification_id")',
    'CREATE UNIQUE INDEX "message_template_event_channel_language" ON "message_template" ("event", "channel", "language")',
]


def up(db):
    run(db, SQLITE, POSTGRESQL, COMMON)
