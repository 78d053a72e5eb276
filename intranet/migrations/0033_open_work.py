"""The dashboard at ten million requests (issue 21): today counted by the hourly job up to its last full hour
(`counted_day.counted_to`, the page counts only the rest live), and the open work counted as it changes:
`open_work`, kept by each workflow step in its transaction (`stats/open_work.py`), filled here from the requests
open now."""
from intranet.migrations import run

SQLITE = [
    'ALTER TABLE "counted_day" ADD COLUMN "counted_to" DATETIME',
    'CREATE TABLE "open_work" ("id" INTEGER NOT NULL PRIMARY KEY, "department_id" INTEGER NOT NULL, "request_type_id" INTEGER NOT NULL, "stage_id" INTEGER NOT NULL, "assignee_id" INTEGER NOT NULL, "due_day" DATE NOT NULL, "received_day" DATE NOT NULL, "paused" INTEGER NOT NULL, "count" INTEGER NOT NULL)',
]

POSTGRESQL = [
    'ALTER TABLE "counted_day" ADD COLUMN "counted_to" TIMESTAMP',
    'CREATE TABLE "open_work" ("id" SERIAL NOT NULL PRIMARY KEY, "department_id" INTEGER NOT NULL, "request_type_id" INTEGER NOT NULL, "stage_id" INTEGER NOT NULL, "assignee_id" INTEGER NOT NULL, "due_day" DATE NOT NULL, "received_day" DATE NOT NULL, "paused" BOOLEAN NOT NULL, "count" INTEGER NOT NULL)',
]

COMMON = [
    'CREATE UNIQUE INDEX "open_work_key" ON "open_work" ("department_id", "request_type_id", "stage_id", "assignee_id", "due_day", "received_day", "paused")',
]


def up(db):
    from intranet.stats import open_work

    run(db, SQLITE, POSTGRESQL, COMMON)
    open_work.recount(db)
