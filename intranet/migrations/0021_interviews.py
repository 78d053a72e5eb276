"""Interview requests (issue 16): the interview the clerk set for an interview request, its moment (UTC) and its
place, null until it is set (and for every other request). A partial index over the requests that have one serves
the reminder sweep, which looks for the interviews falling on tomorrow's local date."""
from intranet.migrations import run

SQLITE = [
    'ALTER TABLE "request" ADD COLUMN "interview_at" DATETIME',
    'ALTER TABLE "request" ADD COLUMN "interview_place" VARCHAR(200)',
]

POSTGRESQL = [
    'ALTER TABLE "request" ADD COLUMN "interview_at" TIMESTAMP',
    'ALTER TABLE "request" ADD COLUMN "interview_place" VARCHAR(200)',
]

COMMON = [
    'CREATE INDEX "request_interview_at" ON "request" ("interview_at") WHERE ("interview_at" IS NOT NULL)',
]


def up(db):
    run(db, SQLITE, POSTGRESQL, COMMON)
