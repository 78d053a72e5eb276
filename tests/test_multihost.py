"""Several hosts, one truth (issue 21, item 1), the short version of `tests/bench/run.py --only multihost`.

Two gunicorn hosts and two Huey consumers, each with an instance folder of its own, on one PostgreSQL database
(a fresh one in the suite's cluster), one Redis and one shared volume; sign-in against the suite's slapd. The
scenarios are tests/bench/multihost.py's: a session and a sign-out honoured on both hosts, the wrong-password
count shared, 50 clerks on take next with host B SIGKILLed and restarted, SMS by both consumers with one SIGKILLed
mid-send and its leases picked up by the sweeper, four export tasks racing for one payout batch. PostgreSQL only:
SQLite serves one host (`diwan check-config` refuses it with INTRANET_HOSTS above 1).

At the end, on both databases: what one process remembers (intranet/reference.py) gives way to an edit another
process (another host) made, from the next request on.
"""
import psycopg
import pytest

from intranet import create_app, db, definitions
from intranet.auth import demo_directory
from intranet.seed import seed
from tests.bench import multihost

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def database_url(postgres_url):
    """A database of its own in the suite's cluster, dropped afterwards."""
    name = "diwan_multihost"
    admin = postgres_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def outcome(database_url, directory, tmp_path_factory):
    """The whole scenario, run once; each test below reads its part."""
    workdir = tmp_path_factory.mktemp("multihost")
    ldap = demo_directory.ldap_settings(directory)
    previous = db.database.obj  # the suite's database, bound again afterwards
    with db.init_database(database_url).connection_context():
        db.upgrade()
    app = create_app({"DATABASE_URL": database_url, "INSTANCE_DIR": workdir / "driver",
                      "SECRET_KEY": multihost.SECRET_KEY, "AUDIT_KEY": multihost.AUDIT_KEY,
                      "PAYOUT_ARCHIVE_DIR": workdir / "shared" / "payout-files", **ldap})
    with app.app_context():
        with db.database.connection_context():
            definitions.load(app.config["REQUEST_TYPES_FILE"])
            seed(2000, seed=21)
        with multihost.Cluster(database_url, workdir, ldap, workers=1, threads=8, lease=2.0) as cluster:
            result = multihost.run(cluster, clerks=50, take_seconds=5, backlog=300, sms_count=400, payouts=200)
    yield result
    db.database.close()
    db.database.initialize(previous)


def test_a_session_made_on_one_host_is_honoured_and_ended_on_the_other(outcome):
    s = outcome["sessions"]
    assert s["problems"] == []
    assert (s["queue_on_a"], s["queue_on_b"]) == (200, 200)
    assert s["after_sign_out_a"] == 302 and "/login" in s["after_sign_out_a_to"] and s["after_sign_out_b"] == 302


def test_wrong_passwords_are_counted_across_hosts(outcome):
    r = outcome["rate_limit"]
    assert r["problems"] == []
    assert [status for _, status in r["wrong"]] == [401] * multihost.FAILURES
    assert {host for host, _ in r["wrong"]} == {"a", "b"}
    assert [status for _, status in r["then"]] == [429, 429]


def test_fifty_clerks_on_two_hosts_one_killed_never_take_a_request_twice(outcome):
    t = outcome["take"]
    assert t["problems"] == []
    assert t["clerks"] == 50 and t["takes_a"] > 0 and t["takes_b"] > 0
    assert (t["double_assignments"], t["wrong_assignee"], t["told_twice"], t["told_not_assignee"]) == (0, 0, 0, 0)
    assert t["errors_a"] == 0


def test_two_consumers_one_killed_send_every_sms_exactly_once(outcome):
    n = outcome["sms"]
    assert n["problems"] == []
    assert n["sent"] == n["accepted"] == n["count"] and n["lost"] == 0
    assert n["interrupted"] > 0  # the killed consumer held rows; the sweeper gave them back after the lease
    assert all(runs > 0 for runs in n["by_consumer"].values())


def test_two_consumers_racing_for_one_payout_export_release_it_once(outcome):
    e = outcome["export"]
    assert e["problems"] == []
    assert (e["released_entries"], e["files"], e["folders"], e["exported"]) == (1, 3, 1, e["payouts"])


# --- what each process remembers: an edit made on another host counts here at once ---------------------------------

def test_a_wording_saved_on_another_host_is_sent_from_here_at_once(data, monkeypatch):
    """The wording an administrator saves on host A is the one host B's next request or job sends. Each process
    remembers reference rows (intranet/reference.py) and a save forgets only its own process's copy: here the
    save is made as another host makes it, without telling this process."""
    from intranet import reference
    from intranet.notify import wording
    from tests.factories import make_staff

    context = {"tracking_number": "26-0000001-5", "request_type": "منحة", "stage": "التدقيق", "due_date": "1"}
    with data():
        admin = make_staff("admin-other-host", "admin", None)
        before = wording.message("moved_on", "sms", "ar", context)[1]  # remembered by this process
    with data():
        monkeypatch.setattr(reference, "forget", lambda: None)  # the save runs on the other host
        wording.save(admin, "moved_on", "sms", "ar", "", "طلبكم {tracking_number} انتقل إلى مرحلة {stage}.")
        monkeypatch.undo()
    with data():
        after = wording.message("moved_on", "sms", "ar", context)[1]
    assert after != before and after == "طلبكم 26-0000001-5 انتقل إلى مرحلة التدقيق."


def test_a_department_renamed_on_another_host_is_shown_here_at_once(data):
    """An administrator's change of a reference row (recorded in the change log, as intranet/admin/reference.py
    does) made by another process is seen by this one's next request."""
    from intranet import reference
    from intranet.admin import changes
    from intranet.db import transaction
    from intranet.models import Department

    with data():
        health = Department.get(Department.code == "health")
        assert reference.cached("department_by_id", health.id, Department.get_or_none).name_en == health.name_en
        with transaction():  # the other host's update and its record; this process is not told
            Department.update(name_en="Health and Care").where(Department.id == health.id).execute()
            changes.record(None, "department", "health", {"name_en": health.name_en}, {"name_en": "Health and Care"})
    try:
        with data():
            assert reference.cached("department_by_id", health.id, Department.get_or_none).name_en == "Health and Care"
    finally:
        with data():  # a reference table outlives the test (tests/conftest.py empties the others)
            Department.update(name_en=health.name_en).where(Department.id == health.id).execute()
            reference.forget()


def test_a_department_renamed_on_another_host_is_in_the_next_pages_header(auth, client, data):
    """The stamp of reference data comes with the sign-in check's row (auth/sessions.load): the page after another
    process's change names the department anew in its header."""
    from intranet import reference
    from intranet.admin import changes
    from intranet.db import transaction
    from intranet.models import Department

    auth.login("health1")
    with data():
        health = Department.get(Department.code == "health")
    assert health.name_ar in client.get("/queues/health").text  # the header's name, now kept by this process
    with data(), transaction():  # the other host's update and its record; this process is not told
        Department.update(name_ar="الصحة والرعاية").where(Department.id == health.id).execute()
        changes.record(None, "department", "health", {"name_ar": health.name_ar}, {"name_ar": "الصحة والرعاية"})
    try:
        assert "الصحة والرعاية" in client.get("/queues/health").text
    finally:
        with data():
            Department.update(name_ar=health.name_ar).where(Department.id == health.id).execute()
            reference.forget()
