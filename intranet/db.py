"""The database: a peewee proxy bound at start-up, SQLite pragmas, transactions and the migration runner."""
import datetime as dt
import fcntl
import importlib
import os
import pkgutil
import select as _select
import threading
from contextlib import contextmanager

import peewee
from playhouse.db_url import connect, parse
from playhouse.pool import PooledPostgresqlDatabase

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
        # a pool per process: opening a PostgreSQL connection costs more than most pages; no JIT: from about ten
        # million requests the planner's estimates pass jit_above_cost and compiling cost 80 ms of a 400 ms page
        return PostgresPool(**parse(url), max_connections=32, stale_timeout=300, timeout=10, options="-c jit=off")
    return connect(url)


class PostgresPool(PooledPostgresqlDatabase):
    """peewee's PostgreSQL pool, without its ping on every checkout: it ran SELECT 1 on each connection it handed
    out, a round trip on every request (issue 21). An idle connection has nothing to read; one the server ended
    (a restart, pg_terminate_backend, an idle timeout) has its goodbye or the end of the stream waiting. Only
    then, or when a transaction was left open, does peewee's own check run (a ping or a rollback), and a dead
    connection is dropped for a new one."""

    def _is_closed(self, conn):
        if conn.closed:
            return True
        if self._adapter.txn_status(conn) != self._adapter.txn_idle or _readable(conn.fileno()):
            return super()._is_closed(conn)
        return False


def _readable(fd: int) -> bool:
    poll = _select.poll()
    poll.register(fd, _select.POLLIN | _select.POLLERR | _select.POLLHUP)
    return bool(poll.poll(0))


def init_database(url: str) -> peewee.Database:
    db = open_database(url)
    database.initialize(db)
    return db


def is_sqlite() -> bool:
    return isinstance(database.obj, peewee.SqliteDatabase)


@contextmanager
def transaction():
    """One write transaction; on SQLite it takes the write lock up front so concurrent writers queue
    instead of failing with 'database is locked' half-way. Nested, it is a savepoint of the outer one.

    What `after_commit` registers inside runs once the outermost transaction has committed, and is dropped when
    the transaction (or the savepoint it was registered in) rolls back; what `before_commit` hands over is written
    at the end of the outermost transaction, just before it commits, and dropped the same way."""
    pending = getattr(_after_commit, "pending", None)
    outermost = pending is None
    if outermost:  # (inside a bare database.atomic(), the calls run when this block ends: use transaction())
        pending = _after_commit.pending = []
        _after_commit.before = []
    before = _after_commit.before
    mark, before_mark = len(pending), len(before)
    try:
        if is_sqlite():
            with _writer_turn(), database.atomic(lock_type="IMMEDIATE") as txn:
                yield txn
                if outermost:
                    _flush_before(before)
        else:
            with database.atomic() as txn:
                yield txn
                if outermost:
                    _flush_before(before)
    except BaseException:
        del pending[mark:]  # this transaction's or savepoint's work is undone: so are its after-commit calls
        del before[before_mark:]
        raise
    finally:
        if outermost:
            _after_commit.pending = _after_commit.before = None
    if outermost:
        failed = None
        for fn in pending:  # each one, even after one that failed (the commit stands)
            try:
                fn()
            except Exception as error:  # noqa: BLE001  raised below, once all have run
                failed = failed or error
        if failed is not None:
            raise failed


_after_commit = threading.local()  # the calls waiting for the outermost db.transaction() of this thread


def before_commit(kind: str, value, write) -> None:
    """Hand `value` to `write(values)`, once for all the values of the same `kind` handed over in the outermost
    `transaction()`, at its end, just before it commits (dropped with the savepoint it was handed over in when that
    rolls back); outside a managed transaction, `write([value])` now. For counts kept in the transaction of each
    change (stats/open_work.py): netted and written last, so their rows' locks are held for the commit only."""
    before = getattr(_after_commit, "before", None)
    if before is None:
        write([value])
    else:
        before.append((kind, value, write))


def _flush_before(before: list) -> None:
    groups: dict = {}
    for kind, value, write in before:
        groups.setdefault(kind, (write, []))[1].append(value)
    before.clear()
    for write, values in groups.values():
        write(values)


def in_managed_transaction() -> bool:
    """Inside a `transaction()` (whose commit runs what `after_commit` registers)."""
    return getattr(_after_commit, "pending", None) is not None


def after_commit(fn) -> None:
    """Call `fn()` once the outermost `transaction()` commits (dropped on rollback); outside any transaction,
    now. Starting a job goes through here (intranet/triggers.py), so a job never runs before the rows it reads
    are committed."""
    pending = getattr(_after_commit, "pending", None)
    if pending is not None:
        pending.append(fn)
    elif database.in_transaction():
        raise RuntimeError("after_commit inside a transaction not opened by db.transaction(): it could not wait")
    else:
        fn()


_insert_sql: dict = {}


def create(model, **values):
    """Model.create through insert_row: the saved instance, with its defaults and id."""
    row = _with_defaults(model, values)
    return model(**row, **{model._meta.primary_key.name: insert_row(model, row)})


def _with_defaults(model, values: dict) -> dict:
    meta = model._meta
    row = dict(values)
    for field in meta.sorted_fields:
        if field.name not in row and field is not meta.primary_key and field.default is not None:
            row[field.name] = field.default() if callable(field.default) else field.default
    return row


def insert_row(model, values: dict, ignore_conflict: bool = False) -> int | None:
    """INSERT one row and return its id (None when `ignore_conflict` and a unique key already had it).

    The hot path of intake writes five rows per submission; building each statement with peewee costs more
    than running it, so the text is made once per model and column set and reused. Values go through each
    field's db_value (foreign keys, dates, decimals) as with Model.create; unset fields get their defaults.
    """
    meta = model._meta
    row = _with_defaults(model, values)
    names = tuple(row)
    key = (model, names, ignore_conflict, is_sqlite())
    sql = _insert_sql.get(key)
    if sql is None:
        fields = [meta.fields[name] for name in names]
        columns = ", ".join(f'"{field.column_name}"' for field in fields)
        marks = ", ".join([database.param] * len(fields))
        conflict = " ON CONFLICT DO NOTHING" if ignore_conflict else ""
        sql = _insert_sql[key] = (f'INSERT INTO "{meta.table_name}" ({columns}) VALUES ({marks}){conflict} '
                                  f'RETURNING "{meta.primary_key.column_name}"')
    found = database.execute_sql(sql, [meta.fields[name].db_value(row[name]) for name in names]).fetchone()
    return found[0] if found else None


def update_where(model, values: dict, match: dict) -> int:
    """UPDATE the rows whose fields equal `match` (field name: value) with `values` (field name: plain value, no
    expression); how many rows changed. The conditional updates of the hot paths (a request's version, a claim)
    go through here: like insert_row, the text is made once per model and column sets, not built by peewee on
    every call."""
    meta = model._meta
    names, keys = tuple(values), tuple(match)
    key = (model, names, keys, is_sqlite())
    sql = _update_sql.get(key)
    if sql is None:
        sets = ", ".join(f'"{meta.fields[name].column_name}" = {database.param}' for name in names)
        where = " AND ".join(f'"{meta.fields[name].column_name}" = {database.param}' for name in keys)
        sql = _update_sql[key] = f'UPDATE "{meta.table_name}" SET {sets} WHERE {where}'
    params = ([meta.fields[name].db_value(values[name]) for name in names]
              + [meta.fields[name].db_value(match[name]) for name in keys])
    return database.execute_sql(sql, params).rowcount


_update_sql: dict = {}


def bulk_write(table: str, columns, rows) -> int:
    """Many rows at once, as tuples already in the database's terms, in the caller's transaction: executemany on
    SQLite, COPY on PostgreSQL (psycopg 3). For the seed and for audit entries of a whole batch, where building
    each INSERT with peewee would cost many times the writing. Returns how many rows."""
    rows = list(rows)
    if not rows:
        return 0
    names = ", ".join(f'"{c}"' for c in columns)
    connection = database.connection()
    if is_sqlite():
        marks = ", ".join("?" * len(columns))
        connection.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)
    else:
        with connection.cursor() as cursor, cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
    return len(rows)


_select_sql: dict = {}


def fetch_one(model, key: str, build, *params):
    """The first row of a query that runs on every API call, as a `model` instance or None: peewee builds the
    SQL once (from build(*params); its text must depend only on `key`), then it runs as a raw query."""
    slot = (key, is_sqlite())
    sql = _select_sql.get(slot)
    if sql is None:
        sql, built = build(*params).sql()
        assert list(built) == list(params), "fetch_one: the query must use each parameter once, in order"
        _select_sql[slot] = sql
    return next(iter(model.raw(sql, *params)), None)


def _run(key: str, build, values):
    """(the query, its cursor) of `select` and `select_tuples`."""
    slot = (key, is_sqlite())
    plan = _select_plans.get(slot)
    for value in values:
        if type(value) not in _PROBES:
            raise TypeError(f"db.select({key!r}): a value of type {type(value).__name__} (None or a flag changes "
                            "the statement: put it in the key)")
    if plan is None:
        if len(_select_plans) >= MAX_SELECT_PLANS:  # keys made of a URL's filters are many: never without bound
            _select_plans.clear()
            _converters.clear()
        plan = _select_plans[slot] = _plan(key, build, values)
    sql, sources, query = plan
    params = [source[1] if source[0] == "constant" else values[source[1]] if source[0] == "value"
              else values[source[1]] + source[2] for source in sources]
    if _checking():
        built_sql, built_params = build(*values).sql()
        if built_sql != sql or list(built_params) != params:
            raise AssertionError(f"db.select({key!r}): the statement depends on its values: {built_sql} {built_params}")
    return query, database.execute_sql(sql, params)


def select(key: str, build, *values):
    """The results of the SELECT `build(*values)` (model instances with their joins, or dicts, tuples: whatever the
    query gives), its SQL text made once per `key` and kind of database instead of by peewee on every call (issue
    21: building the text of a page's dozen SELECTs cost more than running them). For the pages' hot queries.

    `values` are what changes from one call to the next (ids, texts, dates and times), each used as a parameter;
    anything that changes the statement's shape (a filter present or not, how many ids) belongs in `key`. The first
    call of a key builds the query three times: with two sets of stand-in values and with the real ones, and learns
    for each parameter which value it is, the same constant, or a value plus a fixed interval (`now + 7 days`); a
    parameter that is none of these, or a text that differs, refuses the key (ValueError) instead of guessing.
    Under tests (app.testing) every call is checked against the query peewee builds."""
    query, cursor = _run(key, build, values)
    return query._get_cursor_wrapper(cursor)


def select_tuples(key: str, build, *values) -> list[tuple]:
    """The rows of the `.tuples()` query `build(*values)`, as `select` runs it, but read without peewee's cursor
    wrapper: as the driver gives them, and only the columns the driver does not give as Python values already
    (dates and times, flags and amounts on SQLite) converted, by their field's own `python_value`. Peewee passes
    every value of every row through its field, an int through int(), a text through str: a queue page's rows cost
    twice their query (issue 21). Under tests every call is checked against what peewee's wrapper gives."""
    query, cursor = _run(key, build, values)
    slot = (key, is_sqlite())
    converters = _converters.get(slot)
    if converters is None:
        _, fields, every, _, _ = peewee._resolve_model_columns(cursor, query.model, query._returning)
        converters = _converters[slot] = tuple(
            (index, convert) for index, (field, convert) in enumerate(zip(fields, every))
            if convert is not None and not _given_as_is(field))
    rows = cursor.fetchall()
    if converters:
        rows = [list(row) for row in rows]
        for row in rows:
            for index, convert in converters:
                row[index] = convert(row[index])
        rows = [tuple(row) for row in rows]
    if _checking():
        wrapped = list(build(*values))
        if wrapped != rows:
            raise AssertionError(f"db.select_tuples({key!r}): {rows!r} is not what peewee reads, {wrapped!r}")
    return rows


def instance(model, values, names=None):
    """A `model` row from the values of its fields (`names`, by default all in the order of
    `model._meta.sorted_fields`), as `select_tuples` reads them: built as peewee builds a row it reads (no defaults,
    nothing marked changed), without peewee's cursor wrapper, whose set-up for a query joining three models cost
    more than the query (issue 21)."""
    row = model(__no_default__=True, **dict(zip(names or model._meta.sorted_field_names, values)))
    row._dirty.clear()
    return row


_converters: dict = {}
_AS_IS = (peewee.AutoField, peewee.BigAutoField, peewee.IntegerField, peewee.BigIntegerField, peewee.CharField,
          peewee.TextField)


def _given_as_is(field) -> bool:
    """Both drivers give this field's values as its Python values: integers and texts (a reference to a row by
    its integer key too), which peewee's python_value returns unchanged."""
    if isinstance(field, peewee.ForeignKeyField):
        field = field.rel_field
    return type(field) in _AS_IS


_select_plans: dict = {}
MAX_SELECT_PLANS = 1000
_PROBES = {
    int: lambda n, r: -7_000_000_000 - 1000 * r - n,  # ids no row has
    str: lambda n, r: f"\x01diwan-probe-{r}-{n}",
    dt.datetime: lambda n, r: dt.datetime(1901, 1, 1) + dt.timedelta(days=(r + 2) * (n + 1) * 40),
    dt.date: lambda n, r: dt.date(1901, 1, 1) + dt.timedelta(days=(r + 2) * (n + 1) * 40),
}


def _plan(key, build, values):
    """(sql, where each parameter comes from, the query for its cursor wrapper): see `select`."""
    built = []
    for round_ in (0, 1):
        query = build(*[_PROBES[type(value)](n, round_) for n, value in enumerate(values)])
        built.append((query, *query.sql()))
    real_sql, real_params = build(*values).sql()
    (query, sql, first), (_, sql_again, second) = built
    if not (sql == sql_again == real_sql) or not (len(first) == len(second) == len(real_params)):
        raise ValueError(f"db.select({key!r}): the statement's text depends on its values")
    sources = []
    for a, b, real in zip(first, second, real_params):
        same = [n for n, value in enumerate(values)
                if a == _PROBES[type(value)](n, 0) and b == _PROBES[type(value)](n, 1)]
        if same:
            sources.append(("value", same[0]))
        elif type(a) is type(b) and a == b:
            sources.append(("constant", a))
        else:
            moved = [n for n, value in enumerate(values) if isinstance(a, (dt.date, dt.datetime))
                     and type(a) is type(value) and a - _PROBES[type(value)](n, 0) == b - _PROBES[type(value)](n, 1)]
            if len(moved) != 1:
                raise ValueError(f"db.select({key!r}): a parameter is not one of the values: pass it as one")
            shift = a - _PROBES[type(values[moved[0]])](moved[0], 0)
            sources.append(("shifted", moved[0], shift))
        kind, at = sources[-1][:2]
        expected = at if kind == "constant" else values[at] if kind == "value" else values[at] + sources[-1][2]
        if expected != real:
            raise ValueError(f"db.select({key!r}): a parameter's value was not understood ({real!r})")
    return sql, sources, query


def _checking() -> bool:
    from intranet import context

    app = context.app()
    return app is not None and app.testing


_thread_turn = threading.Lock()
_lock_files: dict[str, int] = {}


@contextmanager
def _writer_turn():
    """SQLite writers of every thread and process take turns here before BEGIN IMMEDIATE: a waiter is woken the
    moment the lock is free (a thread lock, then an flock on a file beside the database), instead of SQLite's
    busy handler sleeping and retrying, which at a few hundred writes a second costs more than the writes."""
    path = database.obj.database
    if database.in_transaction() or path == ":memory:":
        yield  # nested: the outer transaction has the turn
        return
    with _thread_turn:
        fd = _lock_files.get(path)
        if fd is None:
            fd = _lock_files[path] = os.open(f"{path}-writer", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


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
