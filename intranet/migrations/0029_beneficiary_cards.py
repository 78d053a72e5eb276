"""Beneficiary cards (issue 19): a card per citizen and serial (unique pair), at most one live (not revoked) per
citizen (a partial unique index), the card that replaced it; the card history (`card_event`, read per citizen newest
first by key); and the desk a member of staff called from last (`staff.desk_choice`), remembered per person."""
from intranet.migrations import run

SQLITE = [
    'CREATE TABLE "beneficiary_card" ("id" INTEGER NOT NULL PRIMARY KEY, "citizen_id" INTEGER NOT NULL, "serial" INTEGER NOT NULL, "issued_at" DATETIME NOT NULL, "issued_by_id" INTEGER NOT NULL, "revoked_at" DATETIME, "revoked_by_id" INTEGER, "revoked_reason" VARCHAR(300), "replaced_by_id" INTEGER, FOREIGN KEY ("citizen_id") REFERENCES "citizen" ("id") ON DELETE RESTRICT, FOREIGN KEY ("issued_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT, FOREIGN KEY ("revoked_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT, FOREIGN KEY ("replaced_by_id") REFERENCES "beneficiary_card" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "card_event" ("id" INTEGER NOT NULL PRIMARY KEY, "citizen_id" INTEGER NOT NULL, "card_id" INTEGER NOT NULL, "action" VARCHAR(20) NOT NULL, "actor_id" INTEGER NOT NULL, "reason" VARCHAR(300), "created_at" DATETIME NOT NULL, FOREIGN KEY ("citizen_id") REFERENCES "citizen" ("id") ON DELETE RESTRICT, FOREIGN KEY ("card_id") REFERENCES "beneficiary_card" ("id") ON DELETE RESTRICT, FOREIGN KEY ("actor_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
]

POSTGRESQL = [
    'CREATE TABLE "beneficiary_card" ("id" SERIAL NOT NULL PRIMARY KEY, "citizen_id" INTEGER NOT NULL, "serial" INTEGER NOT NULL, "issued_at" TIMESTAMP NOT NULL, "issued_by_id" INTEGER NOT NULL, "revoked_at" TIMESTAMP, "revoked_by_id" INTEGER, "revoked_reason" VARCHAR(300), "replaced_by_id" INTEGER, FOREIGN KEY ("citizen_id") REFERENCES "citizen" ("id") ON DELETE RESTRICT, FOREIGN KEY ("issued_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT, FOREIGN KEY ("revoked_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT, FOREIGN KEY ("replaced_by_id") REFERENCES "beneficiary_card" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "card_event" ("id" SERIAL NOT NULL PRIMARY KEY, "citizen_id" INTEGER NOT NULL, "card_id" INTEGER NOT NULL, "action" VARCHAR(20) NOT NULL, "actor_id" INTEGER NOT NULL, "reason" VARCHAR(300), "created_at" TIMESTAMP NOT NULL, FOREIGN KEY ("citizen_id") REFERENCES "citizen" ("id") ON DELETE RESTRICT, FOREIGN KEY ("card_id") REFERENCES "beneficiary_card" ("id") ON DELETE RESTRICT, FOREIGN KEY ("actor_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
]

COMMON = [
    'CREATE INDEX "beneficiary_card_citizen_id" ON "beneficiary_card" ("citizen_id")',
    'CREATE INDEX "beneficiary_card_issued_by_id" ON "beneficiary_card" ("issued_by_id")',
    'CREATE INDEX "beneficiary_card_revoked_by_id" ON "beneficiary_card" ("revoked_by_id")',
    'CREATE INDEX "beneficiary_card_replaced_by_id" ON "beneficiary_card" ("replaced_by_id")',
    'CREATE UNIQUE INDEX "beneficiary_card_citizen_id_serial" ON "beneficiary_card" ("citizen_id", "serial")',
    'CREATE UNIQUE INDEX "beneficiary_card_one_live" ON "beneficiary_card" ("citizen_id") WHERE ("revoked_at" IS NULL)',
    'CREATE INDEX "card_event_citizen_id" ON "card_event" ("citizen_id")',
    'CREATE INDEX "card_event_card_id" ON "card_event" ("card_id")',
    'CREATE INDEX "card_event_actor_id" ON "card_event" ("actor_id")',
    'CREATE INDEX "card_event_citizen_id_id" ON "card_event" ("citizen_id", "id")',
    'ALTER TABLE "staff" ADD COLUMN "desk_choice" VARCHAR(200)',
]


def up(db):
    run(db, SQLITE, POSTGRESQL, COMMON)
