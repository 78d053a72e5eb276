"""Letters to ministries (issue 16): the outgoing letter of a ministry-letter request, its register number taken from
the year's row of letter_sequence (no gaps: a number given in a transaction that rolls back is given again), and the
ministry's replies. A partial index over the letters sent and not yet answered serves the list of letters awaiting
a reply, oldest due first."""
from intranet.migrations import run

SQLITE = [
    'CREATE TABLE "letter_sequence" ("year" INTEGER NOT NULL PRIMARY KEY, "last_value" INTEGER NOT NULL)',
    'CREATE TABLE "ministry_letter" ("id" INTEGER NOT NULL PRIMARY KEY, "request_id" INTEGER NOT NULL, "reference" VARCHAR(30), "ministry" VARCHAR(200) NOT NULL, "subject" VARCHAR(300) NOT NULL, "body" TEXT NOT NULL, "status" VARCHAR(10) NOT NULL, "sent_on" DATE, "reply_due" DATE, "drafted_by_id" INTEGER, "sent_by_id" INTEGER, "created_at" DATETIME NOT NULL, "updated_at" DATETIME NOT NULL, "version" INTEGER NOT NULL, FOREIGN KEY ("request_id") REFERENCES "request" ("id") ON DELETE RESTRICT, FOREIGN KEY ("drafted_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT, FOREIGN KEY ("sent_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "letter_reply" ("id" INTEGER NOT NULL PRIMARY KEY, "letter_id" INTEGER NOT NULL, "received_on" DATE NOT NULL, "reference" VARCHAR(100) NOT NULL, "summary" TEXT NOT NULL, "attachment_id" INTEGER, "recorded_by_id" INTEGER NOT NULL, "created_at" DATETIME NOT NULL, FOREIGN KEY ("letter_id") REFERENCES "ministry_letter" ("id") ON DELETE RESTRICT, FOREIGN KEY ("attachment_id") REFERENCES "attachment" ("id") ON DELETE SET NULL, FOREIGN KEY ("recorded_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
]

POSTGRESQL = [
    'CREATE TABLE "letter_sequence" ("year" INTEGER NOT NULL PRIMARY KEY, "last_value" INTEGER NOT NULL)',
    'CREATE TABLE "ministry_letter" ("id" SERIAL NOT NULL PRIMARY KEY, "request_id" INTEGER NOT NULL, "reference" VARCHAR(30), "ministry" VARCHAR(200) NOT NULL, "subject" VARCHAR(300) NOT NULL, "body" TEXT NOT NULL, "status" VARCHAR(10) NOT NULL, "sent_on" DATE, "reply_due" DATE, "drafted_by_id" INTEGER, "sent_by_id" INTEGER, "created_at" TIMESTAMP NOT NULL, "updated_at" TIMESTAMP NOT NULL, "version" INTEGER NOT NULL, FOREIGN KEY ("request_id") REFERENCES "request" ("id") ON DELETE RESTRICT, FOREIGN KEY ("drafted_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT, FOREIGN KEY ("sent_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "letter_reply" ("id" SERIAL NOT NULL PRIMARY KEY, "letter_id" INTEGER NOT NULL, "received_on" DATE NOT NULL, "reference" VARCHAR(100) NOT NULL, "summary" TEXT NOT NULL, "attachment_id" INTEGER, "recorded_by_id" INTEGER NOT NULL, "created_at" TIMESTAMP NOT NULL, FOREIGN KEY ("letter_id") REFERENCES "ministry_letter" ("id") ON DELETE RESTRICT, FOREIGN KEY ("attachment_id") REFERENCES "attachment" ("id") ON DELETE SET NULL, FOREIGN KEY ("recorded_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
]

COMMON = [
    'CREATE UNIQUE INDEX "ministry_letter_request_id" ON "ministry_letter" ("request_id")',
    'CREATE UNIQUE INDEX "ministry_letter_reference" ON "ministry_letter" ("reference")',
    'CREATE INDEX "ministry_letter_drafted_by_id" ON "ministry_letter" ("drafted_by_id")',
    'CREATE INDEX "ministry_letter_sent_by_id" ON "ministry_letter" ("sent_by_id")',
    'CREATE INDEX "letter_awaiting_reply" ON "ministry_letter" ("reply_due", "id") WHERE ("status" = \'sent\')',
    'CREATE INDEX "letter_reply_letter_id" ON "letter_reply" ("letter_id")',
    'CREATE INDEX "letter_reply_attachment_id" ON "letter_reply" ("attachment_id")',
    'CREATE INDEX "letter_reply_recorded_by_id" ON "letter_reply" ("recorded_by_id")',
]


def up(db):
    run(db, SQLITE, POSTGRESQL, COMMON)
