"""The staff lifecycle (issue 18): a row per run of the directory sync (when, who asked, what changed or the error
that kept it from changing anything), newest first by id; and staff absences, read by person and end day (is the
person away today) and by end day (everyone away today)."""
from intranet.migrations import run

SQLITE = [
    'CREATE TABLE "directory_sync" ("id" INTEGER NOT NULL PRIMARY KEY, "started_at" DATETIME NOT NULL, "finished_at" DATETIME, "trigger" VARCHAR(10) NOT NULL, "requested_by_id" INTEGER, "checked" INTEGER NOT NULL, "changes" INTEGER NOT NULL, "details" TEXT NOT NULL, "error" TEXT NOT NULL, FOREIGN KEY ("requested_by_id") REFERENCES "staff" ("id") ON DELETE SET NULL)',
    'CREATE TABLE "absence" ("id" INTEGER NOT NULL PRIMARY KEY, "staff_id" INTEGER NOT NULL, "starts_on" DATE NOT NULL, "ends_on" DATE NOT NULL, "reason" VARCHAR(300) NOT NULL, "recorded_by_id" INTEGER NOT NULL, "created_at" DATETIME NOT NULL, "cancelled_at" DATETIME, "cancelled_by_id" INTEGER, FOREIGN KEY ("staff_id") REFERENCES "staff" ("id") ON DELETE CASCADE, FOREIGN KEY ("recorded_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT, FOREIGN KEY ("cancelled_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
]

POSTGRESQL = [
    'CREATE TABLE "directory_sync" ("id" SERIAL NOT NULL PRIMARY KEY, "started_at" TIMESTAMP NOT NULL, "finished_at" TIMESTAMP, "trigger" VARCHAR(10) NOT NULL, "requested_by_id" INTEGER, "checked" INTEGER NOT NULL, "changes" INTEGER NOT NULL, "details" TEXT NOT NULL, "error" TEXT NOT NULL, FOREIGN KEY ("requested_by_id") REFERENCES "staff" ("id") ON DELETE SET NULL)',
    'CREATE TABLE "absence" ("id" SERIAL NOT NULL PRIMARY KEY, "staff_id" INTEGER NOT NULL, "starts_on" DATE NOT NULL, "ends_on" DATE NOT NULL, "reason" VARCHAR(300) NOT NULL, "recorded_by_id" INTEGER NOT NULL, "created_at" TIMESTAMP NOT NULL, "cancelled_at" TIMESTAMP, "cancelled_by_id" INTEGER, FOREIGN KEY ("staff_id") REFERENCES "staff" ("id") ON DELETE CASCADE, FOREIGN KEY ("recorded_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT, FOREIGN KEY ("cancelled_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
]

COMMON = [
    'CREATE INDEX "absence_staff_id_ends_on" ON "absence" ("staff_id", "ends_on")',
    'CREATE INDEX "absence_ends_on_starts_on" ON "absence" ("ends_on", "starts_on")',
]


def up(db):
    run(db, SQLITE, POSTGRESQL, COMMON)
