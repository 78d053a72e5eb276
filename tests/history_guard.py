"""History is append-only in the database (migration 0016). A test that needs an action to have happened at
another time moves its history rows there behind the guard, as only someone with the database owner's rights
could, in one transaction that puts the guard back. Such rows no longer fit their keyed chain
(intranet/history_chain.py): those tests do not verify it."""
import importlib

from intranet import db
from intranet.models import HistoryEntry

_MIGRATION = "intranet.migrations.0016_audit_chain"


def backdate(where, when) -> int:
    """Set created_at = `when` on the history rows matching `where` (a peewee expression); returns how many."""
    with db.transaction():
        if db.is_sqlite():
            db.database.execute_sql('DROP TRIGGER "history_no_update"')
        else:
            db.database.execute_sql('ALTER TABLE "history" DISABLE TRIGGER "history_append_only"')
        changed = HistoryEntry.update(created_at=when).where(where).execute()
        if db.is_sqlite():
            db.database.execute_sql(importlib.import_module(_MIGRATION).SQLITE_NO_UPDATE)
        else:
            db.database.execute_sql('ALTER TABLE "history" ENABLE TRIGGER "history_append_only"')
    return changed
