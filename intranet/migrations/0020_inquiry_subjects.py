"""Inquiries answered (issue 16): inquiry subjects as data, each with the department competent for it, and the
subject an inquiry was asked about (`request.inquiry_subject_id`, null for every other request and for inquiries
from before this), so that inquiries are routed by subject and counted by it."""
from intranet.migrations import run

SQLITE = [
    'CREATE TABLE "inquiry_subject" ("id" INTEGER NOT NULL PRIMARY KEY, "code" VARCHAR(40) NOT NULL, "name_ar" VARCHAR(200) NOT NULL, "name_en" VARCHAR(200) NOT NULL, "department_id" INTEGER NOT NULL, "active" INTEGER NOT NULL, FOREIGN KEY ("department_id") REFERENCES "department" ("id") ON DELETE RESTRICT)',
    'ALTER TABLE "request" ADD COLUMN "inquiry_subject_id" INTEGER REFERENCES "inquiry_subject" ("id") ON DELETE RESTRICT',
]

POSTGRESQL = [
    'CREATE TABLE "inquiry_subject" ("id" SERIAL NOT NULL PRIMARY KEY, "code" VARCHAR(40) NOT NULL, "name_ar" VARCHAR(200) NOT NULL, "name_en" VARCHAR(200) NOT NULL, "department_id" INTEGER NOT NULL, "active" BOOLEAN NOT NULL, FOREIGN KEY ("department_id") REFERENCES "department" ("id") ON DELETE RESTRICT)',
    'ALTER TABLE "request" ADD COLUMN "inquiry_subject_id" INTEGER REFERENCES "inquiry_subject" ("id") ON DELETE RESTRICT',
]

COMMON = [
    'CREATE UNIQUE INDEX "inquiry_subject_code" ON "inquiry_subject" ("code")',
    'CREATE INDEX "inquiry_subject_department_id" ON "inquiry_subject" ("department_id")',
]


def up(db):
    run(db, SQLITE, POSTGRESQL, COMMON)
