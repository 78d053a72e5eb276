"""Statistics and printed documents (issue 8): each local day's counts from history, the open items at the end
of each day, which days are counted, the archive of printed PDFs; an attachment for staff e-mails; indexes for a
day's history and for what was still open at the end of a past day."""
from intranet.migrations import run

SQLITE = [
    'CREATE TABLE "daily_count" ("id" INTEGER NOT NULL PRIMARY KEY, "day" DATE NOT NULL, "department_id" INTEGER NOT NULL, "request_type_id" INTEGER NOT NULL, "channel" VARCHAR(12) NOT NULL, "governorate_id" INTEGER, "event" VARCHAR(12) NOT NULL, "count" INTEGER NOT NULL, FOREIGN KEY ("department_id") REFERENCES "department" ("id") ON DELETE RESTRICT, FOREIGN KEY ("request_type_id") REFERENCES "request_type" ("id") ON DELETE RESTRICT, FOREIGN KEY ("governorate_id") REFERENCES "governorate" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "open_snapshot" ("id" INTEGER NOT NULL PRIMARY KEY, "day" DATE NOT NULL, "department_id" INTEGER NOT NULL, "request_type_id" INTEGER NOT NULL, "state" VARCHAR(10) NOT NULL, "count" INTEGER NOT NULL, FOREIGN KEY ("department_id") REFERENCES "department" ("id") ON DELETE RESTRICT, FOREIGN KEY ("request_type_id") REFERENCES "request_type" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "counted_day" ("id" INTEGER NOT NULL PRIMARY KEY, "day" DATE NOT NULL, "counted_at" DATETIME NOT NULL)',
    'CREATE TABLE "report_file" ("id" INTEGER NOT NULL PRIMARY KEY, "kind" VARCHAR(20) NOT NULL, "day" DATE NOT NULL, "language" VARCHAR(5) NOT NULL, "path" VARCHAR(300) NOT NULL, "sha256" VARCHAR(64) NOT NULL, "size" INTEGER NOT NULL, "pages" INTEGER NOT NULL, "created_at" DATETIME NOT NULL)',
]

POSTGRESQL = [
    'CREATE TABLE "daily_count" ("id" SERIAL NOT NULL PRIMARY KEY, "day" DATE NOT NULL, "department_id" INTEGER NOT NULL, "request_type_id" INTEGER NOT NULL, "channel" VARCHAR(12) NOT NULL, "governorate_id" INTEGER, "event" VARCHAR(12) NOT NULL, "count" INTEGER NOT NULL, FOREIGN KEY ("department_id") REFERENCES "department" ("id") ON DELETE RESTRICT, FOREIGN KEY ("request_type_id") REFERENCES "request_type" ("id") ON DELETE RESTRICT, FOREIGN KEY ("governorate_id") REFERENCES "governorate" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "open_snapshot" ("id" SERIAL NOT NULL PRIMARY KEY, "day" DATE NOT NULL, "department_id" INTEGER NOT NULL, "request_type_id" INTEGER NOT NULL, "state" VARCHAR(10) NOT NULL, "count" INTEGER NOT NULL, FOREIGN KEY ("department_id") REFERENCES "department" ("id") ON DELETE RESTRICT, FOREIGN KEY ("request_type_id") REFERENCES "request_type" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "counted_day" ("id" SERIAL NOT NULL PRIMARY KEY, "day" DATE NOT NULL, "counted_at" TIMESTAMP NOT NULL)',
    'CREATE TABLE "report_file" ("id" SERIAL NOT NULL PRIMARY KEY, "kind" VARCHAR(20) NOT NULL, "day" DATE NOT NULL, "language" VARCHAR(5) NOT NULL, "path" VARCHAR(300) NOT NULL, "sha256" VARCHAR(64) NOT NULL, "size" INTEGER NOT NULL, "pages" INTEGER NOT NULL, "created_at" TIMESTAMP NOT NULL)',
]

COMMON = [
    'CREATE INDEX "daily_count_day_department_id" ON "daily_count" ("day", "department_id")',
    'CREATE INDEX "open_snapshot_day_department_id" ON "open_snapshot" ("day", "department_id")',
    'CREATE UNIQUE INDEX "counted_day_day" ON "counted_day" ("day")',
    'CREATE UNIQUE INDEX "report_file_kind_day_language" ON "report_file" ("kind", "day", "language")',
    'ALTER TABLE "notification" ADD COLUMN "attachment" VARCHAR(300) NOT NULL DEFAULT \'\'',
    'CREATE INDEX "history_created_at" ON "history" ("created_at")',
    'CREATE INDEX "request_closed_since" ON "request" ("closed_at") WHERE ("closed_at" IS NOT NULL)',
]


def up(db):
    run(db, SQLITE, POSTGRESQL, COMMON)
