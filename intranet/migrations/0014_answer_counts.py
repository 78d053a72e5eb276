"""The 45-day headline (issue 13): each local day's answers per department and request type, by the clock days
they took and whether in time, so that the share answered within the target and the percentiles of days taken
over any range are summed from counted days (the answered requests of three years are half a million rows at a
million requests: seconds to read again on every dashboard). Days counted before this migration get their
answers from the hourly job (`counted_day.answers` false until then); until then they are counted live."""
from intranet.migrations import run

SQLITE = [
    'CREATE TABLE "answer_count" ("id" INTEGER NOT NULL PRIMARY KEY, "day" DATE NOT NULL, "department_id" INTEGER NOT NULL, "request_type_id" INTEGER NOT NULL, "days" INTEGER NOT NULL, "in_time" INTEGER NOT NULL, "count" INTEGER NOT NULL, FOREIGN KEY ("department_id") REFERENCES "department" ("id") ON DELETE RESTRICT, FOREIGN KEY ("request_type_id") REFERENCES "request_type" ("id") ON DELETE RESTRICT)',
    'ALTER TABLE "counted_day" ADD COLUMN "answers" INTEGER NOT NULL DEFAULT 0',
]

POSTGRESQL = [
    'CREATE TABLE "answer_count" ("id" SERIAL NOT NULL PRIMARY KEY, "day" DATE NOT NULL, "department_id" INTEGER NOT NULL, "request_type_id" INTEGER NOT NULL, "days" INTEGER NOT NULL, "in_time" BOOLEAN NOT NULL, "count" INTEGER NOT NULL, FOREIGN KEY ("department_id") REFERENCES "department" ("id") ON DELETE RESTRICT, FOREIGN KEY ("request_type_id") REFERENCES "request_type" ("id") ON DELETE RESTRICT)',
    'ALTER TABLE "counted_day" ADD COLUMN "answers" BOOLEAN NOT NULL DEFAULT false',
]

COMMON = [
    'CREATE INDEX "answer_count_day_department_id" ON "answer_count" ("day", "department_id")',
]


def up(db):
    run(db, SQLITE, POSTGRESQL, COMMON)
