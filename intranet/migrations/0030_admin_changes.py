"""Administration (issue 20): the administration record, one row per administrative change (who, when, subject and
key, the thing before and after as JSON; indexed by subject and id for the history page's filter, read newest first
by key); and versioned request types: the type's current version number, its owning department and currency, a
row per version with the definition as saved (its fields and documents, which the requests started under it keep),
each request's version, and stages that belong to a range of versions (`first_version` .. `last_version`, null
while current): only the current stages are unique by position, the earlier ones stay for the requests and
history that name them."""
from intranet.migrations import run

SQLITE = [
    'CREATE TABLE "admin_change" ("id" INTEGER NOT NULL PRIMARY KEY, "actor_id" INTEGER, "created_at" DATETIME NOT NULL, "subject" VARCHAR(40) NOT NULL, "key" VARCHAR(200) NOT NULL, "before" TEXT, "after" TEXT, FOREIGN KEY ("actor_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'ALTER TABLE "request_type" ADD COLUMN "version" INTEGER NOT NULL DEFAULT 1',
    'ALTER TABLE "request_type" ADD COLUMN "currency" VARCHAR(3)',
    'ALTER TABLE "request_type" ADD COLUMN "department_id" INTEGER REFERENCES "department" ("id") ON DELETE RESTRICT',
    'CREATE TABLE "request_type_version" ("id" INTEGER NOT NULL PRIMARY KEY, "request_type_id" INTEGER NOT NULL, "number" INTEGER NOT NULL, "definition" TEXT NOT NULL, "created_by_id" INTEGER, "created_at" DATETIME NOT NULL, FOREIGN KEY ("request_type_id") REFERENCES "request_type" ("id") ON DELETE CASCADE, FOREIGN KEY ("created_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'ALTER TABLE "stage" ADD COLUMN "first_version" INTEGER NOT NULL DEFAULT 1',
    'ALTER TABLE "stage" ADD COLUMN "last_version" INTEGER',
    'ALTER TABLE "request" ADD COLUMN "type_version" INTEGER NOT NULL DEFAULT 1',
]

POSTGRESQL = [
    'CREATE TABLE "admin_change" ("id" SERIAL NOT NULL PRIMARY KEY, "actor_id" INTEGER, "created_at" TIMESTAMP NOT NULL, "subject" VARCHAR(40) NOT NULL, "key" VARCHAR(200) NOT NULL, "before" TEXT, "after" TEXT, FOREIGN KEY ("actor_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'ALTER TABLE "request_type" ADD COLUMN "version" INTEGER NOT NULL DEFAULT 1',
    'ALTER TABLE "request_type" ADD COLUMN "currency" VARCHAR(3)',
    'ALTER TABLE "request_type" ADD COLUMN "department_id" INTEGER REFERENCES "department" ("id") ON DELETE RESTRICT',
    'CREATE TABLE "request_type_version" ("id" SERIAL NOT NULL PRIMARY KEY, "request_type_id" INTEGER NOT NULL, "number" INTEGER NOT NULL, "definition" TEXT NOT NULL, "created_by_id" INTEGER, "created_at" TIMESTAMP NOT NULL, FOREIGN KEY ("request_type_id") REFERENCES "request_type" ("id") ON DELETE CASCADE, FOREIGN KEY ("created_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'ALTER TABLE "stage" ADD COLUMN "first_version" INTEGER NOT NULL DEFAULT 1',
    'ALTER TABLE "stage" ADD COLUMN "last_version" INTEGER',
    'ALTER TABLE "request" ADD COLUMN "type_version" INTEGER NOT NULL DEFAULT 1',
]

COMMON = [
    'CREATE INDEX "admin_change_actor_id" ON "admin_change" ("actor_id")',
    'CREATE INDEX "admin_change_subject_id" ON "admin_change" ("subject", "id")',
    'CREATE UNIQUE INDEX "request_type_version_request_type_id_number" ON "request_type_version" ("request_type_id", "number")',
    'CREATE INDEX "request_type_version_created_by_id" ON "request_type_version" ("created_by_id")',
    'DROP INDEX "stage_request_type_id_position"',
    'CREATE UNIQUE INDEX "stage_current_position" ON "stage" ("request_type_id", "position") WHERE ("last_version" IS NULL)',
    'CREATE INDEX "stage_request_type_id_first_version" ON "stage" ("request_type_id", "first_version")',
]


def up(db):
    run(db, SQLITE, POSTGRESQL, COMMON)
