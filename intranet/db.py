"""The database: a peewee proxy bound at start-up, SQLite pragmas, transactions and the migration runner."""
import importlib
import pkgutil
from contextlib import contextmanager

import peewee
from playhouse.db_url import connect

database = peewee.DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 5000,
    "synchronous": "normal",
    "cache_size": -64000,
}


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False


def open_database(url: str) -> peewee.Database:
    """A database object for a URL: sqlite:///path or postgresql://user@host:port/name."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        # pooled too: closing a SQLite connection checkpoints the WAL and drops the page cache, and a new one
        # runs the pragmas again; a connection is used by one thread at a time, whichever thread that is
        url = url.replace("sqlite://", "sqlite+pool://", 1)
        return connect(url, pragmas=SQLITE_PRAGMAS, timeout=5, check_same_thread=False, max_connections=32,
                       stale_timeout=300)
    if url.startswith("sqlite"):
        return connect(url, pragmas=SQLITE_PRAGMAS, timeout=5)
    if url.startswith(("postgresql://", "postgres://")):
        # a pool per process: opening a PostgreSQL connection costs more than most pages
        url = url.replace("://", "+pool://", 1)
        return connect(url, max_connections=32, stale_timeout=300, timeout=10)
    return connect(url)


def init_database(url: str) -> peewee.Database:
    db = open_database(url)
    database.initialize(db)
    return db


def is_sqlite() -> bool:
    return isinstance(database.obj, peewee.SqliteDatabase)


@contextmanager
def transaction():
    """One write transaction; on SQLite it takes the write lock up front so concurrent writers queue
    instead of failing with 'database is locked' half-way."""
    if is_sqlite():
        with database.atomic(lock_type="IMMEDIATE") as txn:
            yield txn
    else:
        with database.atomic() as txn:
            yield txn


# --- migrations -------------------------------------------------------------------------------

class SchemaBehind(RuntimeError):
    """The database is older than the code."""


def _migrations():
    from intranet import migrations

    found = []
    for info in pkgutil.iter_modules(migrations.__path__):
        if info.name[:4].isdigit():
            found.append((int(info.name[:4]), importlib.import_module(f"intranet.migrations.{info.name}")))
    return sorted(found, key=lambda pair: pair[0])


def _ensure_version_table():
    database.execute_sql("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")


def current_version() -> int:
    _ensure_version_table()
    row = database.execute_sql("SELECT MAX(version) FROM schema_version").fetchone()
    return row[0] or 0


def latest_version() -> int:
    found = _migrations()
    return found[-1][0] if found else 0


def applied_versions() -> set[int]:
    _ensure_version_table()
    return {row[0] for row in database.execute_sql("SELECT version FROM schema_version").fetchall()}


def upgrade() -> list[int]:
    """Apply every migration not yet applied (also one numbered below the newest, merged later), each in its own
    transaction with its version row."""
    applied = []
    done = applied_versions()
    for number, module in _migrations():
        if number in done:
            continue
        with database.atomic():
            module.up(database.obj)
            database.execute_sql("INSERT INTO schema_version (version) VALUES (%d)" % number)
        applied.append(number)
    return applied


def check_schema():
    missing = sorted({number for number, _ in _migrations()} - applied_versions())
    if missing:
        raise SchemaBehind(
            f"The database schema is at version {current_version()} but this code needs {latest_version()} "
            f"(missing {', '.join(map(str, missing))}). Run: .venv/bin/diwan db upgrade"
        )
