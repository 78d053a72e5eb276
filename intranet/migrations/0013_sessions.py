"""Sessions the server can end (issue 14): one row per sign-in, keyed by the SHA-256 of the token in the person's
signed cookie; the security events administrators review (lockouts after failed passwords, sessions ended)."""
from intranet.migrations import run

SQLITE = [
    'CREATE TABLE "staff_session" ("id" VARCHAR(64) NOT NULL PRIMARY KEY, "staff_id" INTEGER NOT NULL, "created_at" DATETIME NOT NULL, "last_seen_at" DATETIME NOT NULL, "ended_at" DATETIME, "end_reason" VARCHAR(12), "user_agent" VARCHAR(300) NOT NULL, "address" VARCHAR(64) NOT NULL, FOREIGN KEY ("staff_id") REFERENCES "staff" ("id") ON DELETE CASCADE)',
    'CREATE TABLE "security_event" ("id" INTEGER NOT NULL PRIMARY KEY, "kind" VARCHAR(30) NOT NULL, "username" VARCHAR(100) NOT NULL, "address" VARCHAR(64) NOT NULL, "staff_id" INTEGER, "subject_id" INTEGER, "detail" VARCHAR(300) NOT NULL, "created_at" DATETIME NOT NULL, FOREIGN KEY ("staff_id") REFERENCES "staff" ("id") ON DELETE SET NULL, FOREIGN KEY ("subject_id") REFERENCES "staff" ("id") ON DELETE SET NULL)',
]

POSTGRESQL = [
    'CREATE TABLE "staff_session" ("id" VARCHAR(64) NOT NULL PRIMARY KEY, "staff_id" INTEGER NOT NULL, "created_at" TIMESTAMP NOT NULL, "last_seen_at" TIMESTAMP NOT NULL, "ended_at" TIMESTAMP, "end_reason" VARCHAR(12), "user_agent" VARCHAR(300) NOT NULL, "address" VARCHAR(64) NOT NULL, FOREIGN KEY ("staff_id") REFERENCES "staff" ("id") ON DELETE CASCADE)',
    'CREATE TABLE "security_event" ("id" SERIAL NOT NULL PRIMARY KEY, "kind" VARCHAR(30) NOT NULL, "username" VARCHAR(100) NOT NULL, "address" VARCHAR(64) NOT NULL, "staff_id" INTEGER, "subject_id" INTEGER, "detail" VARCHAR(300) NOT NULL, "created_at" TIMESTAMP NOT NULL, FOREIGN KEY ("staff_id") REFERENCES "staff" ("id") ON DELETE SET NULL, FOREIGN KEY ("subject_id") REFERENCES "staff" ("id") ON DELETE SET NULL)',
]

COMMON = [
    # a person's sessions, newest first; ending them all
    'CREATE INDEX "staff_session_staff_id_created_at" ON "staff_session" ("staff_id", "created_at")',
    # the administrators' overview: who has live sessions
    'CREATE INDEX "staff_session_live" ON "staff_session" ("staff_id", "last_seen_at") WHERE ("ended_at" IS NULL)',
]


def up(db):
    run(db, SQLITE, POSTGRESQL, COMMON)
