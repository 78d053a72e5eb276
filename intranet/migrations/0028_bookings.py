"""Appointments at reception (issue 19): the bookable services (hours, slot length, capacity), the desks of the hall
and the department or service each belongs to, the bookings (a unique index over service, slot and seat keeps the
capacity; a partial unique index keeps one active booking per citizen and service), the facilitators' urgent
overrides, and on a visitor ticket the slot it was booked for and the department or service whose desks call it."""
from intranet.migrations import run

SQLITE = [
    'CREATE TABLE "booking_service" ("id" INTEGER NOT NULL PRIMARY KEY, "code" VARCHAR(40) NOT NULL, "name_ar" VARCHAR(200) NOT NULL, "name_en" VARCHAR(200) NOT NULL, "department_id" INTEGER, "ticket_service" VARCHAR(20) NOT NULL, "opens" VARCHAR(5) NOT NULL, "closes" VARCHAR(5) NOT NULL, "weekdays" VARCHAR(20) NOT NULL, "slot_minutes" INTEGER NOT NULL, "capacity" INTEGER NOT NULL, "active" INTEGER NOT NULL, "updated_at" DATETIME NOT NULL, FOREIGN KEY ("department_id") REFERENCES "department" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "reception_desk" ("id" INTEGER NOT NULL PRIMARY KEY, "label" VARCHAR(10) NOT NULL, "department_id" INTEGER, "service_id" INTEGER, FOREIGN KEY ("department_id") REFERENCES "department" ("id") ON DELETE SET NULL, FOREIGN KEY ("service_id") REFERENCES "booking_service" ("id") ON DELETE SET NULL)',
    'CREATE TABLE "booking" ("id" INTEGER NOT NULL PRIMARY KEY, "service_id" INTEGER NOT NULL, "citizen_id" INTEGER NOT NULL, "slot_at" DATETIME NOT NULL, "seat" INTEGER, "status" VARCHAR(12) NOT NULL, "channel" VARCHAR(10) NOT NULL, "client_id" INTEGER, "booked_by_id" INTEGER, "over_capacity" INTEGER NOT NULL, "code_hash" VARCHAR(64) NOT NULL, "code_expires_at" DATETIME, "code_attempts" INTEGER NOT NULL, "created_at" DATETIME NOT NULL, "confirmed_at" DATETIME, "checked_in_at" DATETIME, "closed_at" DATETIME, "ticket_id" INTEGER, FOREIGN KEY ("service_id") REFERENCES "booking_service" ("id") ON DELETE RESTRICT, FOREIGN KEY ("citizen_id") REFERENCES "citizen" ("id") ON DELETE CASCADE, FOREIGN KEY ("client_id") REFERENCES "api_client" ("id") ON DELETE SET NULL, FOREIGN KEY ("booked_by_id") REFERENCES "staff" ("id") ON DELETE SET NULL, FOREIGN KEY ("ticket_id") REFERENCES "visitor_ticket" ("id") ON DELETE SET NULL)',
    'CREATE TABLE "reception_override" ("id" INTEGER NOT NULL PRIMARY KEY, "kind" VARCHAR(20) NOT NULL, "staff_id" INTEGER NOT NULL, "reason" TEXT NOT NULL, "day" DATE NOT NULL, "ticket_id" INTEGER, "booking_id" INTEGER, "created_at" DATETIME NOT NULL, FOREIGN KEY ("staff_id") REFERENCES "staff" ("id") ON DELETE RESTRICT, FOREIGN KEY ("ticket_id") REFERENCES "visitor_ticket" ("id") ON DELETE SET NULL, FOREIGN KEY ("booking_id") REFERENCES "booking" ("id") ON DELETE SET NULL)',
    'ALTER TABLE "visitor_ticket" ADD COLUMN "booked_for" DATETIME',
    'ALTER TABLE "visitor_ticket" ADD COLUMN "department_id" INTEGER REFERENCES "department" ("id") ON DELETE SET NULL',
    'ALTER TABLE "visitor_ticket" ADD COLUMN "booking_service_id" INTEGER REFERENCES "booking_service" ("id") ON DELETE SET NULL',
]

POSTGRESQL = [
    'CREATE TABLE "booking_service" ("id" SERIAL NOT NULL PRIMARY KEY, "code" VARCHAR(40) NOT NULL, "name_ar" VARCHAR(200) NOT NULL, "name_en" VARCHAR(200) NOT NULL, "department_id" INTEGER, "ticket_service" VARCHAR(20) NOT NULL, "opens" VARCHAR(5) NOT NULL, "closes" VARCHAR(5) NOT NULL, "weekdays" VARCHAR(20) NOT NULL, "slot_minutes" INTEGER NOT NULL, "capacity" INTEGER NOT NULL, "active" BOOLEAN NOT NULL, "updated_at" TIMESTAMP NOT NULL, FOREIGN KEY ("department_id") REFERENCES "department" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "reception_desk" ("id" SERIAL NOT NULL PRIMARY KEY, "label" VARCHAR(10) NOT NULL, "department_id" INTEGER, "service_id" INTEGER, FOREIGN KEY ("department_id") REFERENCES "department" ("id") ON DELETE SET NULL, FOREIGN KEY ("service_id") REFERENCES "booking_service" ("id") ON DELETE SET NULL)',
    'CREATE TABLE "booking" ("id" SERIAL NOT NULL PRIMARY KEY, "service_id" INTEGER NOT NULL, "citizen_id" INTEGER NOT NULL, "slot_at" TIMESTAMP NOT NULL, "seat" INTEGER, "status" VARCHAR(12) NOT NULL, "channel" VARCHAR(10) NOT NULL, "client_id" INTEGER, "booked_by_id" INTEGER, "over_capacity" BOOLEAN NOT NULL, "code_hash" VARCHAR(64) NOT NULL, "code_expires_at" TIMESTAMP, "code_attempts" INTEGER NOT NULL, "created_at" TIMESTAMP NOT NULL, "confirmed_at" TIMESTAMP, "checked_in_at" TIMESTAMP, "closed_at" TIMESTAMP, "ticket_id" INTEGER, FOREIGN KEY ("service_id") REFERENCES "booking_service" ("id") ON DELETE RESTRICT, FOREIGN KEY ("citizen_id") REFERENCES "citizen" ("id") ON DELETE CASCADE, FOREIGN KEY ("client_id") REFERENCES "api_client" ("id") ON DELETE SET NULL, FOREIGN KEY ("booked_by_id") REFERENCES "staff" ("id") ON DELETE SET NULL, FOREIGN KEY ("ticket_id") REFERENCES "visitor_ticket" ("id") ON DELETE SET NULL)',
    'CREATE TABLE "reception_override" ("id" SERIAL NOT NULL PRIMARY KEY, "kind" VARCHAR(20) NOT NULL, "staff_id" INTEGER NOT NULL, "reason" TEXT NOT NULL, "day" DATE NOT NULL, "ticket_id" INTEGER, "booking_id" INTEGER, "created_at" TIMESTAMP NOT NULL, FOREIGN KEY ("staff_id") REFERENCES "staff" ("id") ON DELETE RESTRICT, FOREIGN KEY ("ticket_id") REFERENCES "visitor_ticket" ("id") ON DELETE SET NULL, FOREIGN KEY ("booking_id") REFERENCES "booking" ("id") ON DELETE SET NULL)',
    'ALTER TABLE "visitor_ticket" ADD COLUMN "booked_for" TIMESTAMP',
    'ALTER TABLE "visitor_ticket" ADD COLUMN "department_id" INTEGER REFERENCES "department" ("id") ON DELETE SET NULL',
    'ALTER TABLE "visitor_ticket" ADD COLUMN "booking_service_id" INTEGER REFERENCES "booking_service" ("id") ON DELETE SET NULL',
]

COMMON = [
    'CREATE UNIQUE INDEX "booking_service_code" ON "booking_service" ("code")',
    'CREATE INDEX "booking_service_department_id" ON "booking_service" ("department_id")',
    'CREATE UNIQUE INDEX "reception_desk_label" ON "reception_desk" ("label")',
    'CREATE INDEX "reception_desk_department_id" ON "reception_desk" ("department_id")',
    'CREATE INDEX "reception_desk_service_id" ON "reception_desk" ("service_id")',
    'CREATE INDEX "booking_client_id" ON "booking" ("client_id")',
    'CREATE INDEX "booking_booked_by_id" ON "booking" ("booked_by_id")',
    'CREATE INDEX "booking_ticket_id" ON "booking" ("ticket_id")',
    'CREATE UNIQUE INDEX "booking_service_id_slot_at_seat" ON "booking" ("service_id", "slot_at", "seat")',
    'CREATE INDEX "booking_status_slot_at" ON "booking" ("status", "slot_at")',
    'CREATE INDEX "booking_citizen_id_status_slot_at" ON "booking" ("citizen_id", "status", "slot_at")',
    'CREATE UNIQUE INDEX "booking_one_active" ON "booking" ("citizen_id", "service_id") '
    'WHERE ("status" IN (\'pending\', \'confirmed\'))',
    'CREATE INDEX "reception_override_staff_id" ON "reception_override" ("staff_id")',
    'CREATE INDEX "reception_override_ticket_id" ON "reception_override" ("ticket_id")',
    'CREATE INDEX "reception_override_booking_id" ON "reception_override" ("booking_id")',
    'CREATE INDEX "reception_override_day_kind" ON "reception_override" ("day", "kind")',
]


def up(db):
    run(db, SQLITE, POSTGRESQL, COMMON)
