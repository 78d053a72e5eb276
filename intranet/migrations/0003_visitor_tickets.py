"""Visitor tickets (take-a-number) and the ticket a walk-in request was entered for."""
from intranet.migrations import run

SQLITE = [
    'CREATE TABLE "visitor_ticket" ("id" INTEGER NOT NULL PRIMARY KEY, "day" DATE NOT NULL, "service" VARCHAR(20) NOT NULL, '
    '"number" INTEGER NOT NULL, "status" VARCHAR(10) NOT NULL, "issued_at" DATETIME NOT NULL, "called_at" DATETIME, '
    '"recalled_at" DATETIME, "served_at" DATETIME, "finished_at" DATETIME, "desk" VARCHAR(10), "called_by_id" INTEGER, '
    '"citizen_id" INTEGER, FOREIGN KEY ("called_by_id") REFERENCES "staff" ("id") ON DELETE SET NULL, '
    'FOREIGN KEY ("citizen_id") REFERENCES "citizen" ("id") ON DELETE SET NULL)',
]

POSTGRESQL = [
    'CREATE TABLE "visitor_ticket" ("id" SERIAL NOT NULL PRIMARY KEY, "day" DATE NOT NULL, "service" VARCHAR(20) NOT NULL, '
    '"number" INTEGER NOT NULL, "status" VARCHAR(10) NOT NULL, "issued_at" TIMESTAMP NOT NULL, "called_at" TIMESTAMP, '
    '"recalled_at" TIMESTAMP, "served_at" TIMESTAMP, "finished_at" TIMESTAMP, "desk" VARCHAR(10), "called_by_id" INTEGER, '
    '"citizen_id" INTEGER, FOREIGN KEY ("called_by_id") REFERENCES "staff" ("id") ON DELETE SET NULL, '
    'FOREIGN KEY ("citizen_id") REFERENCES "citizen" ("id") ON DELETE SET NULL)',
]

COMMON = [
    'ALTER TABLE "request" ADD COLUMN "visitor_ticket_id" INTEGER REFERENCES "visitor_ticket" ("id") ON DELETE SET NULL',
    'CREATE INDEX "visitor_ticket_called_by_id" ON "visitor_ticket" ("called_by_id")',
    'CREATE INDEX "visitor_ticket_citizen_id" ON "visitor_ticket" ("citizen_id")',
    # the per-day number of each service is given once; issue_ticket relies on it
    'CREATE UNIQUE INDEX "visitor_ticket_day_service_number" ON "visitor_ticket" ("day", "service", "number")',
    # call-next reads the day's waiting line oldest first
    'CREATE INDEX "visitor_ticket_day_status_issued_at" ON "visitor_ticket" ("day", "status", "issued_at")',
    'CREATE INDEX "request_visitor_ticket_id" ON "request" ("visitor_ticket_id")',
]


def up(db):
    run(db, SQLITE, POSTGRESQL, COMMON)
