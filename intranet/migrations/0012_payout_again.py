"""A payout rejected, then made again (issue 13): a request has one live payout at a time instead of one for ever.
The unique index on payout.request_id becomes a plain one (the request's payouts, rejected ones included), and a
partial unique index refuses a second payout while the first is not rejected."""
from intranet.migrations import run

COMMON = [
    'DROP INDEX "payout_request_id"',
    'CREATE INDEX "payout_request_id" ON "payout" ("request_id")',
    'CREATE UNIQUE INDEX "payout_one_live_per_request" ON "payout" ("request_id") WHERE ("status" != \'rejected\')',
]


def up(db):
    run(db, [], [], COMMON)
