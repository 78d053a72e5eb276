"""PostgreSQL: one sequence per year for tracking numbers (tracking_2000 ... tracking_2099), carried on from
the tracking_sequence table. nextval takes no row lock, so concurrent submissions no longer queue behind the
year's row until commit; a number taken by a transaction that rolls back is skipped. SQLite keeps the table
(its write lock serialises submissions anyway)."""
from intranet.migrations import run

YEARS = range(2000, 2100)

POSTGRESQL = [f'CREATE SEQUENCE "tracking_{year}" MINVALUE 1 MAXVALUE 9999999' for year in YEARS] + [
    "SELECT setval(('tracking_' || year)::regclass, last_value) FROM tracking_sequence "
    "WHERE year BETWEEN 2000 AND 2099 AND last_value > 0",
]


def up(db):
    run(db, [], POSTGRESQL)
