"""Automatic renewals (issue 17): a request type may be renewed every so many months (`renewal_months`, from the
definitions file); a periodic benefit per citizen and renewable type (unique pair) with the date its next renewal
falls due (indexed with its id: the scheduled job's keyset order, overdue first), and a row per benefit and period
renewed (unique pair: a period is renewed once; unique request), by creation time for the execution statement."""
from intranet.migrations import run

SQLITE = [
    'ALTER TABLE "request_type" ADD COLUMN "renewal_months" INTEGER',
    'CREATE TABLE "benefit" ("id" INTEGER NOT NULL PRIMARY KEY, "citizen_id" INTEGER NOT NULL, "request_type_id" INTEGER NOT NULL, "every_months" INTEGER NOT NULL, "next_due" DATE NOT NULL, "period" INTEGER NOT NULL, "amount" DECIMAL(14, 3), "subject" VARCHAR(300) NOT NULL, "origin_id" INTEGER NOT NULL, "active" INTEGER NOT NULL, "created_at" DATETIME NOT NULL, "updated_at" DATETIME NOT NULL, FOREIGN KEY ("citizen_id") REFERENCES "citizen" ("id") ON DELETE RESTRICT, FOREIGN KEY ("request_type_id") REFERENCES "request_type" ("id") ON DELETE RESTRICT, FOREIGN KEY ("origin_id") REFERENCES "request" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "renewal" ("id" INTEGER NOT NULL PRIMARY KEY, "benefit_id" INTEGER NOT NULL, "period" INTEGER NOT NULL, "due_on" DATE NOT NULL, "request_id" INTEGER NOT NULL, "created_at" DATETIME NOT NULL, FOREIGN KEY ("benefit_id") REFERENCES "benefit" ("id") ON DELETE CASCADE, FOREIGN KEY ("request_id") REFERENCES "request" ("id") ON DELETE CASCADE)',
]

POSTGRESQL = [
    'ALTER TABLE "request_type" ADD COLUMN "renewal_months" INTEGER',
    'CREATE TABLE "benefit" ("id" SERIAL NOT NULL PRIMARY KEY, "citizen_id" INTEGER NOT NULL, "request_type_id" INTEGER NOT NULL, "every_months" INTEGER NOT NULL, "next_due" DATE NOT NULL, "period" INTEGER NOT NULL, "amount" NUMERIC(14, 3), "subject" VARCHAR(300) NOT NULL, "origin_id" INTEGER NOT NULL, "active" BOOLEAN NOT NULL, "created_at" TIMESTAMP NOT NULL, "updated_at" TIMESTAMP NOT NULL, FOREIGN KEY ("citizen_id") REFERENCES "citizen" ("id") ON DELETE RESTRICT, FOREIGN KEY ("request_type_id") REFERENCES "request_type" ("id") ON DELETE RESTRICT, FOREIGN KEY ("origin_id") REFERENCES "request" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "renewal" ("id" SERIAL NOT NULL PRIMARY KEY, "benefit_id" INTEGER NOT NULL, "period" INTEGER NOT NULL, "due_on" DATE NOT NULL, "request_id" INTEGER NOT NULL, "created_at" TIMESTAMP NOT NULL, FOREIGN KEY ("benefit_id") REFERENCES "benefit" ("id") ON DELETE CASCADE, FOREIGN KEY ("request_id") REFERENCES "request" ("id") ON DELETE CASCADE)',
]

COMMON = [
    'CREATE INDEX "benefit_request_type_id" ON "benefit" ("request_type_id")',
    'CREATE INDEX "benefit_origin_id" ON "benefit" ("origin_id")',
    'CREATE UNIQUE INDEX "benefit_citizen_id_request_type_id" ON "benefit" ("citizen_id", "request_type_id")',
    'CREATE INDEX "benefit_next_due_id" ON "benefit" ("next_due", "id")',
    'CREATE UNIQUE INDEX "renewal_request_id" ON "renewal" ("request_id")',
    'CREATE INDEX "renewal_created_at" ON "renewal" ("created_at")',
    'CREATE UNIQUE INDEX "renewal_benefit_id_period" ON "renewal" ("benefit_id", "period")',
]


def up(db):
    run(db, SQLITE, POSTGRESQL, COMMON)
