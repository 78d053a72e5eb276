"""An attachment may say which of its request type's documents it is (issue 16): the request page lists the
documents the type needs as received or missing, with their files, and the rest under "Other attachments".
Files attached before this have no code: they are the other attachments."""
from intranet.migrations import run

SQLITE = [
    'ALTER TABLE "attachment" ADD COLUMN "document" VARCHAR(40)',
]

POSTGRESQL = [
    'ALTER TABLE "attachment" ADD COLUMN "document" VARCHAR(40)',
]


def up(db):
    run(db, SQLITE, POSTGRESQL)
