"""Numbered schema migrations: NNNN_name.py, each with up(db); run by `diwan db upgrade`."""


def run(db, sqlite, postgresql, common=()):
    """The statements of this database's dialect, then those both share."""
    import peewee

    dialect = sqlite if isinstance(db, peewee.SqliteDatabase) else postgresql
    for statement in list(dialect) + list(common):
        db.execute_sql(statement)
