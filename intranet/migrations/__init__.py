"""Numbered schema migrations: NNNN_name.py, each with up(db); run by `diwan db upgrade`."""


def run(db, sqlite, postgresql, common=()):
    """The statements of this database's dialect, then those both share."""
    dialect = sqlite if db.__class__.__name__.startswith("Sqlite") else postgresql
    for statement in list(dialect) + list(common):
        db.execute_sql(statement)
