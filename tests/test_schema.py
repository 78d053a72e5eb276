"""Migrations: numbered, run by a command, and the app refuses a database that is behind."""
import pytest

from intranet import create_app, db
from intranet.cli import main
from intranet.models import MODELS


def test_app_refuses_a_database_that_is_behind(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with pytest.raises(db.SchemaBehind) as behind:
        create_app({"DATABASE_URL": url, "INSTANCE_DIR": tmp_path})
    assert "version 0" in str(behind.value) and "diwan db upgrade" in str(behind.value)


def test_upgrade_command_then_start(tmp_path, monkeypatch):
    monkeypatch.setenv("INTRANET_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    monkeypatch.setenv("INTRANET_INSTANCE_DIR", str(tmp_path))
    from click.testing import CliRunner
    runner = CliRunner()
    first = runner.invoke(main, ["db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert f"schema version {db.latest_version()}" in first.output
    again = runner.invoke(main, ["db", "upgrade"])
    assert "schema is current" in again.output
    loaded = runner.invoke(main, ["load-definitions"])
    assert "10 request_types" in loaded.output, loaded.output
    create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}", "INSTANCE_DIR": tmp_path})


def test_migrated_schema_matches_the_models(app):
    with db.database.connection_context():
        for model in MODELS:
            columns = {c.name for c in db.database.get_columns(model._meta.table_name)} - {"name_tsv"}
            assert columns == {f.column_name for f in model._meta.sorted_fields}, model.__name__
            indexes = {i.name for i in db.database.get_indexes(model._meta.table_name)}
            for index in model._meta.fields_to_index():
                assert index._name in indexes or not index._name, (model.__name__, index._name)


def test_sqlite_pragmas(tmp_path):
    database = db.open_database(f"sqlite:///{tmp_path / 'p.db'}")
    with database.connection_context():
        pragma = lambda name: database.execute_sql(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
        assert (pragma("journal_mode"), pragma("foreign_keys"), pragma("busy_timeout")) == ("wal", 1, 5000)
        assert pragma("synchronous") == 1  # normal
