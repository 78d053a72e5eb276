"""The record of corrections made to citizens' data at the desk."""
from intranet.migrations import run

SQLITE = [
    'CREATE TABLE "citizen_change" ("id" INTEGER NOT NULL PRIMARY KEY, "citizen_id" INTEGER NOT NULL, '
    '"changed_by_id" INTEGER NOT NULL, "changes" TEXT NOT NULL, "created_at" DATETIME NOT NULL, '
    'FOREIGN KEY ("citizen_id") REFERENCES "citizen" ("id") ON DELETE CASCADE, '
    'FOREIGN KEY ("changed_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
]

POSTGRESQL = [
    'CREATE TABLE "citizen_change" ("id" SERIAL NOT NULL PRIMARY KEY, "citizen_id" INTEGER NOT NULL, '
    '"changed_by_id" INTEGER NOT NULL, "changes" TEXT NOT NULL, "created_at" TIMESTAMP NOT NULL, '
    'FOREIGN KEY ("citizen_id") REFERENCES "citizen" ("id") ON DELETE CASCADE, '
    'FOREIGN KEY ("changed_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
]

COMMON = [
    'CREATE INDEX "citizen_change_citizen_id" ON "citizen_change" ("citizen_id")',
    'CREATE INDEX "citizen_change_changed_by_id" ON "citizen_change" ("changed_by_id")',
]


def up(db):
    run(db, SQLITE, POSTGRESQL, COMMON)
