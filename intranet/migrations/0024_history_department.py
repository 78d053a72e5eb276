"""A transferred or routed request is counted in its real department (issue 16): each history row keeps the
department that held the request when the step was taken (for a submission: the department it was routed to, an
inquiry subject's), so the figures by department, the dashboard, the daily summary and the queue agree. Rows from
before this have none: they are counted under their stage's department, as before (history is append-only: they
are not filled in). Not part of the row's keyed hash (intranet/history_chain.py): the triggers keep it as written."""
from intranet.migrations import run

SQLITE = [
    'ALTER TABLE "history" ADD COLUMN "department_id" INTEGER REFERENCES "department" ("id") ON DELETE RESTRICT',
]

POSTGRESQL = [
    'ALTER TABLE "history" ADD COLUMN "department_id" INTEGER REFERENCES "department" ("id") ON DELETE RESTRICT',
]


def up(db):
    run(db, SQLITE, POSTGRESQL)
