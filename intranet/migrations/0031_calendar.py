"""The office's calendar (issue 20): each year's weekend days (null: the default) and a stamp that every change
of that year's calendar renews (each process's cached copy is read again when it is behind), the public holidays
by year (one day or several in a row), and per request type whether its target counts working days (off: calendar
days, as every type did before)."""
from intranet.migrations import run

SQLITE = [
    'CREATE TABLE "calendar_year" ("year" INTEGER NOT NULL PRIMARY KEY, "weekend" VARCHAR(20), "stamp" VARCHAR(32) NOT NULL)',
    'CREATE TABLE "holiday" ("id" INTEGER NOT NULL PRIMARY KEY, "year" INTEGER NOT NULL, "starts_on" DATE NOT NULL, "ends_on" DATE NOT NULL, "name_ar" VARCHAR(200) NOT NULL, "name_en" VARCHAR(200) NOT NULL)',
    'ALTER TABLE "request_type" ADD COLUMN "working_days" INTEGER NOT NULL DEFAULT 0',
]

POSTGRESQL = [
    'CREATE TABLE "calendar_year" ("year" INTEGER NOT NULL PRIMARY KEY, "weekend" VARCHAR(20), "stamp" VARCHAR(32) NOT NULL)',
    'CREATE TABLE "holiday" ("id" SERIAL NOT NULL PRIMARY KEY, "year" INTEGER NOT NULL, "starts_on" DATE NOT NULL, "ends_on" DATE NOT NULL, "name_ar" VARCHAR(200) NOT NULL, "name_en" VARCHAR(200) NOT NULL)',
    'ALTER TABLE "request_type" ADD COLUMN "working_days" BOOLEAN NOT NULL DEFAULT FALSE',
]

COMMON = [
    'CREATE INDEX "holiday_year_starts_on" ON "holiday" ("year", "starts_on")',
]


def up(db):
    run(db, SQLITE, POSTGRESQL, COMMON)
