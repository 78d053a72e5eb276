"""Electronic intake: API clients, the inbox of raw submissions, webhook deliveries and attempts, file imports."""
from intranet.migrations import run

SQLITE = [
    'CREATE TABLE "api_client" ("id" INTEGER NOT NULL PRIMARY KEY, "name" VARCHAR(200) NOT NULL, "token_hash" VARCHAR(64) NOT NULL, "token_hint" VARCHAR(16) NOT NULL, "scopes" VARCHAR(200) NOT NULL, "signing_secret" VARCHAR(100), "webhook_url" VARCHAR(500), "webhook_secret" VARCHAR(100), "rate_per_minute" INTEGER NOT NULL, "created_by_id" INTEGER, "created_at" DATETIME NOT NULL, "revoked_at" DATETIME, "revoked_by_id" INTEGER, "last_used_at" DATETIME, FOREIGN KEY ("created_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT, FOREIGN KEY ("revoked_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "inbox" ("id" INTEGER NOT NULL PRIMARY KEY, "client_id" INTEGER, "source" VARCHAR(10) NOT NULL, "received_at" DATETIME NOT NULL, "idempotency_key" VARCHAR(200), "portal_reference" VARCHAR(100), "content_type" VARCHAR(200) NOT NULL, "payload" BLOB NOT NULL, "status" VARCHAR(12) NOT NULL, "errors" TEXT NOT NULL, "response_status" INTEGER, "request_id" INTEGER, FOREIGN KEY ("client_id") REFERENCES "api_client" ("id") ON DELETE RESTRICT, FOREIGN KEY ("request_id") REFERENCES "request" ("id") ON DELETE SET NULL)',
    'CREATE TABLE "webhook_delivery" ("id" INTEGER NOT NULL PRIMARY KEY, "client_id" INTEGER NOT NULL, "request_id" INTEGER NOT NULL, "history_id" INTEGER, "event" VARCHAR(40) NOT NULL, "payload" TEXT NOT NULL, "status" VARCHAR(12) NOT NULL, "attempts" INTEGER NOT NULL, "next_attempt_at" DATETIME NOT NULL, "lease_until" DATETIME, "last_error" TEXT NOT NULL, "created_at" DATETIME NOT NULL, "delivered_at" DATETIME, FOREIGN KEY ("client_id") REFERENCES "api_client" ("id") ON DELETE RESTRICT, FOREIGN KEY ("request_id") REFERENCES "request" ("id") ON DELETE CASCADE, FOREIGN KEY ("history_id") REFERENCES "history" ("id") ON DELETE CASCADE)',
    'CREATE TABLE "webhook_attempt" ("id" INTEGER NOT NULL PRIMARY KEY, "delivery_id" INTEGER NOT NULL, "started_at" DATETIME NOT NULL, "duration_ms" INTEGER NOT NULL, "status_code" INTEGER, "error" TEXT NOT NULL, FOREIGN KEY ("delivery_id") REFERENCES "webhook_delivery" ("id") ON DELETE CASCADE)',
    'CREATE TABLE "import_batch" ("id" INTEGER NOT NULL PRIMARY KEY, "uploaded_by_id" INTEGER NOT NULL, "filename" VARCHAR(255) NOT NULL, "sha256" VARCHAR(64) NOT NULL, "size" INTEGER NOT NULL, "content" BLOB NOT NULL, "status" VARCHAR(12) NOT NULL, "total_rows" INTEGER NOT NULL, "valid_rows" INTEGER NOT NULL, "processed" INTEGER NOT NULL, "imported" INTEGER NOT NULL, "existing" INTEGER NOT NULL, "failed" INTEGER NOT NULL, "report" TEXT NOT NULL, "created_at" DATETIME NOT NULL, "started_at" DATETIME, "finished_at" DATETIME, FOREIGN KEY ("uploaded_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
]

POSTGRESQL = [
    'CREATE TABLE "api_client" ("id" SERIAL NOT NULL PRIMARY KEY, "name" VARCHAR(200) NOT NULL, "token_hash" VARCHAR(64) NOT NULL, "token_hint" VARCHAR(16) NOT NULL, "scopes" VARCHAR(200) NOT NULL, "signing_secret" VARCHAR(100), "webhook_url" VARCHAR(500), "webhook_secret" VARCHAR(100), "rate_per_minute" INTEGER NOT NULL, "created_by_id" INTEGER, "created_at" TIMESTAMP NOT NULL, "revoked_at" TIMESTAMP, "revoked_by_id" INTEGER, "last_used_at" TIMESTAMP, FOREIGN KEY ("created_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT, FOREIGN KEY ("revoked_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
    'CREATE TABLE "inbox" ("id" SERIAL NOT NULL PRIMARY KEY, "client_id" INTEGER, "source" VARCHAR(10) NOT NULL, "received_at" TIMESTAMP NOT NULL, "idempotency_key" VARCHAR(200), "portal_reference" VARCHAR(100), "content_type" VARCHAR(200) NOT NULL, "payload" BYTEA NOT NULL, "status" VARCHAR(12) NOT NULL, "errors" TEXT NOT NULL, "response_status" INTEGER, "request_id" INTEGER, FOREIGN KEY ("client_id") REFERENCES "api_client" ("id") ON DELETE RESTRICT, FOREIGN KEY ("request_id") REFERENCES "request" ("id") ON DELETE SET NULL)',
    'CREATE TABLE "webhook_delivery" ("id" SERIAL NOT NULL PRIMARY KEY, "client_id" INTEGER NOT NULL, "request_id" INTEGER NOT NULL, "history_id" INTEGER, "event" VARCHAR(40) NOT NULL, "payload" TEXT NOT NULL, "status" VARCHAR(12) NOT NULL, "attempts" INTEGER NOT NULL, "next_attempt_at" TIMESTAMP NOT NULL, "lease_until" TIMESTAMP, "last_error" TEXT NOT NULL, "created_at" TIMESTAMP NOT NULL, "delivered_at" TIMESTAMP, FOREIGN KEY ("client_id") REFERENCES "api_client" ("id") ON DELETE RESTRICT, FOREIGN KEY ("request_id") REFERENCES "request" ("id") ON DELETE CASCADE, FOREIGN KEY ("history_id") REFERENCES "history" ("id") ON DELETE CASCADE)',
    'CREATE TABLE "webhook_attempt" ("id" SERIAL NOT NULL PRIMARY KEY, "delivery_id" INTEGER NOT NULL, "started_at" TIMESTAMP NOT NULL, "duration_ms" INTEGER NOT NULL, "status_code" INTEGER, "error" TEXT NOT NULL, FOREIGN KEY ("delivery_id") REFERENCES "webhook_delivery" ("id") ON DELETE CASCADE)',
    'CREATE TABLE "import_batch" ("id" SERIAL NOT NULL PRIMARY KEY, "uploaded_by_id" INTEGER NOT NULL, "filename" VARCHAR(255) NOT NULL, "sha256" VARCHAR(64) NOT NULL, "size" INTEGER NOT NULL, "content" BYTEA NOT NULL, "status" VARCHAR(12) NOT NULL, "total_rows" INTEGER NOT NULL, "valid_rows" INTEGER NOT NULL, "processed" INTEGER NOT NULL, "imported" INTEGER NOT NULL, "existing" INTEGER NOT NULL, "failed" INTEGER NOT NULL, "report" TEXT NOT NULL, "created_at" TIMESTAMP NOT NULL, "started_at" TIMESTAMP, "finished_at" TIMESTAMP, FOREIGN KEY ("uploaded_by_id") REFERENCES "staff" ("id") ON DELETE RESTRICT)',
]

COMMON = [
    'CREATE UNIQUE INDEX "api_client_token_hash" ON "api_client" ("token_hash")',
    'CREATE INDEX "api_client_created_by_id" ON "api_client" ("created_by_id")',
    'CREATE INDEX "api_client_revoked_by_id" ON "api_client" ("revoked_by_id")',
    'CREATE INDEX "inbox_request_id" ON "inbox" ("request_id")',
    'CREATE INDEX "inbox_client_id_idempotency_key" ON "inbox" ("client_id", "idempotency_key")',
    'CREATE INDEX "inbox_client_id_id" ON "inbox" ("client_id", "id")',
    'CREATE INDEX "inbox_status_received_at" ON "inbox" ("status", "received_at")',
    'CREATE UNIQUE INDEX "webhook_delivery_client_id_history_id" ON "webhook_delivery" ("client_id", "history_id")',
    'CREATE INDEX "webhook_delivery_request_id_id" ON "webhook_delivery" ("request_id", "id")',
    'CREATE INDEX "webhook_delivery_client_id_id" ON "webhook_delivery" ("client_id", "id")',
    'CREATE INDEX "webhook_delivery_status_next_attempt_at" ON "webhook_delivery" ("status", "next_attempt_at")',
    'CREATE INDEX "webhook_attempt_delivery_id" ON "webhook_attempt" ("delivery_id")',
    'CREATE INDEX "import_batch_uploaded_by_id" ON "import_batch" ("uploaded_by_id")',
    'CREATE INDEX "import_batch_sha256" ON "import_batch" ("sha256")',
]


def up(db):
    run(db, SQLITE, POSTGRESQL, COMMON)
