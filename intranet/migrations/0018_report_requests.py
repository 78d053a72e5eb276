"""A printed document asked for from the archive page is a row (issue 15): written before its job is started, so a
job lost with a queue that was down is started again by the minute's sweeper (`jobs.reports.sweep_reports`)."""
from intranet.migrations import run

SQLITE = [
    'CREATE TABLE "report_request" ("id" INTEGER NOT NULL PRIMARY KEY, "kind" VARCHAR(20) NOT NULL, "day" DATE NOT NULL, "language" VARCHAR(5) NOT NULL, "created_at" DATETIME NOT NULL, "started_at" DATETIME, "attempts" INTEGER NOT NULL, "produced_at" DATETIME)',
]

POSTGRESQL = [
    'CREATE TABLE "report_request" ("id" SERIAL NOT NULL PRIMARY KEY, "kind" VARCHAR(20) NOT NULL, "day" DATE NOT NULL, "language" VARCHAR(5) NOT NULL, "created_at" TIMESTAMP NOT NULL, "started_at" TIMESTAMP, "attempts" INTEGER NOT NULL, "produced_at" TIMESTAMP)',
]

COMMON = [
    'CREATE INDEX "report_request_produced_at" ON "report_request" ("produced_at")',
]


def up(db):
    run(db, SQLITE, POSTGRESQL, COMMON)
