"""Fixtures: a real slapd, a throwaway PostgreSQL, the app on SQLite and on PostgreSQL, signed-in clients."""
import contextlib
import importlib
import os
import re

os.environ["INTRANET_HUEY_URL"] = "memory://"  # unit tests run tasks inline; consumer tests use real queues

import pytest  # noqa: E402

from intranet import create_app, db, definitions  # noqa: E402
from intranet.auth import demo_directory  # noqa: E402
from intranet.models import MODELS  # noqa: E402
from tests.servers import Postgres  # noqa: E402

# reference data (departments, governorates, types, stages, bank layouts) stays loaded; every other table is emptied
REFERENCE_TABLES = {"department", "governorate", "request_type", "stage", "bank_profile"}


@pytest.fixture(scope="session")
def directory(tmp_path_factory):
    server = demo_directory.start(run_dir=str(tmp_path_factory.mktemp("ldap")))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_url():
    given = os.environ.get("INTRANET_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    server = Postgres().start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request, tmp_path_factory):
    """The database URL of a migrated database with the request types loaded, once per backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'diwan.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    database = db.init_database(url)
    with database.connection_context():
        db.upgrade()
    return url


def _empty_tables():
    tables = [m._meta.table_name for m in MODELS if m._meta.table_name not in REFERENCE_TABLES]
    if db.is_sqlite():
        with db.database.atomic():
            db.database.execute_sql("PRAGMA defer_foreign_keys = ON")  # checked at commit, when all are gone
            db.database.execute_sql('DROP TRIGGER IF EXISTS "payout_audit_no_delete"')  # the guards, lifted
            db.database.execute_sql('DROP TRIGGER IF EXISTS "history_no_delete"')
            for table in tables:
                db.database.execute_sql(f'DELETE FROM "{table}"')
            db.database.execute_sql(importlib.import_module("intranet.migrations.0009_payouts").SQLITE_NO_DELETE)
            db.database.execute_sql(importlib.import_module("intranet.migrations.0016_audit_chain").SQLITE_NO_DELETE)
    else:
        guards = (("history", "history_no_truncate"), ("payout_audit", "payout_audit_no_truncate"))
        with db.database.atomic():  # the guards against TRUNCATE, lifted for this transaction only
            for table, trigger in guards:
                db.database.execute_sql(f'ALTER TABLE "{table}" DISABLE TRIGGER "{trigger}"')
            db.database.execute_sql("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
            for table, trigger in guards:
                db.database.execute_sql(f'ALTER TABLE "{table}" ENABLE TRIGGER "{trigger}"')
        db.database.execute_sql("SELECT setval(oid::regclass, 1, false) FROM pg_class "
                                "WHERE relkind = 'S' AND left(relname, 9) = 'tracking_'")  # the years' tracking numbers


def _forget_added_request_types(path):
    """Request types a test created (issue 20: the type editor) go with their stages, and so do the stages a new
    version closed, so the next test starts from the definitions file's types and current stages (their requests
    and history are gone already)."""
    import tomllib

    from intranet.models import RequestType, Stage
    codes = [t["code"] for t in tomllib.loads(open(path, encoding="utf-8").read())["request_types"]]
    Stage.delete().where(Stage.last_version.is_null(False)).execute()  # stages a test's new version closed
    added = [t.id for t in RequestType.select(RequestType.id).where(RequestType.code.not_in(codes))]
    if added:
        Stage.delete().where(Stage.request_type.in_(added)).execute()
        RequestType.delete().where(RequestType.id.in_(added)).execute()


def _restore_bank_layouts():
    """The bank layouts as the upgrade imported them (the built-in two), when a test changed them (issue 20)."""
    from intranet.models import BankLayout
    from intranet.payouts import bank_profiles

    if list(bank_profiles.offered().values()) != list(bank_profiles.DEFAULT_PROFILES.values()) \
            or BankLayout.select().count() != len(bank_profiles.DEFAULT_PROFILES):
        BankLayout.delete().execute()
        importlib.import_module("intranet.migrations.0032_bank_profiles").insert(
            db.database.obj, bank_profiles.DEFAULT_PROFILES.values())


@pytest.fixture
def app(backend, directory, tmp_path):
    app = create_app({
        "TESTING": True, "DATABASE_URL": backend, "INSTANCE_DIR": tmp_path, "SECRET_KEY": "test",
        "ATTACHMENT_DIR": tmp_path / "attachments", **demo_directory.ldap_settings(directory),
        # the suite signs supervisors and administrators in with the password alone: the second factor
        # (intranet/auth/mfa.py) is off here and tested, switched on, in tests/test_mfa.py and test_mfa_browser.py
        "MFA_ROLES": "",
    })
    with app.app_context(), db.database.connection_context():
        definitions.load(app.config["REQUEST_TYPES_FILE"])
    yield app
    with app.app_context(), db.database.connection_context():
        _empty_tables()
        _forget_added_request_types(app.config["REQUEST_TYPES_FILE"])
        _restore_bank_layouts()


@pytest.fixture
def gateway(app):
    """The citizens' SMS gateway on loopback (tests/test_notify_delivery.Gateway), the app sending to it at once:
    quiet hours off, no delivery job started (the test sends with notify.delivery)."""
    from tests.test_notify_delivery import TOKEN, Gateway

    server = Gateway().start()
    app.config.update(SMS_GATEWAY="http", SMS_GATEWAY_URL=server.url, SMS_GATEWAY_TOKEN=TOKEN, SMS_SENDER_ID="Diwan",
                      SMS_GATEWAY_TIMEOUT=2, QUIET_HOURS="off", NOTIFY_TRIGGER=False)
    yield server
    server.stop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ctx(app):
    """An app context with an open connection, for tests that call domain functions directly."""
    with app.test_request_context(), db.database.connection_context():
        yield


@pytest.fixture
def data(app):
    """Run domain code between requests without holding a request context across them (it would pin the
    locale): `with data(): ...`."""
    @contextlib.contextmanager
    def opened():
        with app.test_request_context(), db.database.connection_context():
            yield
    return opened


CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, path="/login") -> str:
    return CSRF.search(client.get(path, follow_redirects=True).text).group(1)


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, username, password="demo"):
        token = csrf_token(self.client)
        return self.client.post("/login", data={"username": username, "password": password, "csrf_token": token})

    def logout(self):
        token = csrf_token(self.client)
        return self.client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client):
    return Auth(client)


@pytest.fixture
def live_server(app):
    """The app served on a free loopback port, for the browser tests."""
    from tests.browser import LiveServer

    with LiveServer(app) as server:
        yield server
