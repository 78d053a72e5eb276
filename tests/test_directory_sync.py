"""The directory sync (issue 18) against the real slapd of the tests: a clerk taken out of their group mid-session
loses that session at their very next request, their items go back to the queue with a history row each, their
delegations are revoked and their digests stop; a department change applies at once; an unreachable directory
changes nothing and is reported on the staff page; administrators alone run it now."""
import datetime as dt
import json
from contextlib import contextmanager

import ldap
import pytest

from intranet import workflow
from intranet.models import HistoryEntry, Notification, Request, Staff
from intranet.models.delegations import Delegation
from intranet.models.sessions import SecurityEvent, StaffSession
from intranet.models.staff_admin import DirectorySync
from intranet.notify import digests
from intranet.staff import sync
from intranet.stats.figures import local_today
from jobs.directory import is_sync_minute, sync_directory
from tests.conftest import Auth, csrf_token
from tests.factories import make_request

PEOPLE = "ou=people,dc=diwan,dc=example"
CLERKS = "cn=diwan-clerks,ou=groups,dc=diwan,dc=example"


@contextmanager
def changed(directory, dn, changes):
    """The directory changed as its administrator would (python-ldap, bound as the slapd's root), put back after."""
    conn = ldap.initialize(directory.ldap_uri)
    conn.simple_bind_s(directory.root_dn, directory.root_pw)
    undo = []
    for op, attribute, value in changes:
        old = conn.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", [attribute])[0][1].get(attribute, [])
        conn.modify_s(dn, [(op, attribute, [value.encode()])])
        undo.append((ldap.MOD_REPLACE, attribute, old) if old else (ldap.MOD_DELETE, attribute, None))
    try:
        yield
    finally:
        conn.modify_s(dn, list(reversed(undo)))
        conn.unbind_s()


def _signed_in(app, username):
    client = app.test_client()
    Auth(client).login(username)
    return client


def _holding(app, data, username, count=2):
    """`count` open health-care requests held by `username` (signed in once), entered by the desk's reception1
    (signed in too: a person of the directory, whom the sync leaves alone)."""
    _signed_in(app, "reception1")
    with data():
        clerk = Staff.get(Staff.username == username)
        desk = Staff.get(Staff.username == "reception1")
        ids = []
        for _ in range(count):
            req = make_request(actor=desk)
            workflow.claim(clerk, req, req.version)
            ids.append(req.id)
        return ids


def test_a_clerk_removed_from_their_group_is_refused_at_the_next_request_and_their_items_go_back(
        app, directory, data):
    health1 = _signed_in(app, "health1")
    colleague = _signed_in(app, "health2")
    assert health1.get("/queues/health").status_code == 200
    ids = _holding(app, data, "health1")
    with data():
        clerk = Staff.get(Staff.username == "health1")
        supervisor = _signed_in(app, "supervisor1") and Staff.get(Staff.username == "supervisor1")
        today = local_today()
        given = Delegation.create(grantor=supervisor.id, delegate=clerk.id, scope="queue",
                                  department=clerk.department_id, starts_on=today, ends_on=today + dt.timedelta(days=5),
                                  reason="cover", created_by=supervisor.id)
        queued = digests.events.queue_staff_email(clerk, "clerk_digest", "ar", {"staff_name": "x", "department": "x",
                                                  "date": "x", "at_risk_count": 1, "overdue_count": 0, "items": ""},
                                                  "clerk_digest:test")
    with changed(directory, CLERKS, [(ldap.MOD_DELETE, "member", f"uid=health1,{PEOPLE}")]):
        with data():
            run = sync.run()
    assert run.error == "" and run.changes == 1 and run.finished_at is not None
    [change] = run.changed
    assert (change["username"], change["kind"], change["released"], change["delegations"]) == ("health1", "disabled",
                                                                                                 2, 1)
    refused = health1.get("/queues/health")  # the very next request of that session
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")
    assert colleague.get("/queues/health").status_code == 200  # nobody else is touched
    with data():
        assert Staff.get(Staff.username == "health1").active is False
        assert [s.end_reason for s in StaffSession.select().where(StaffSession.staff == clerk.id)] == ["directory"]
        assert SecurityEvent.get(SecurityEvent.subject == clerk.id).kind == "sessions_ended_by_directory"
        assert [r.assignee_id for r in Request.select().where(Request.id.in_(ids))] == [None, None]
        for rid in ids:  # back in the queue, a history row each by the system, saying from whom and why
            last = HistoryEntry.select().where(HistoryEntry.request == rid).order_by(HistoryEntry.id.desc()).get()
            assert (last.action, last.actor_id) == ("release", None)
            assert json.loads(last.details) == {"handed_over": "directory", "from": clerk.id, "from_name": clerk.full_name}
        assert Delegation.get_by_id(given.id).revoked_at is not None
        assert Notification.get_by_id(queued.id).status == "failed"  # the digest held back is not sent
        assert clerk.id not in {person.id for person in digests._recipients()}  # no further digest
    # the page of a request says the directory sync released it, from whom
    panel = colleague.get(f"/requests/{_number(data, ids[0])}")
    assert "The directory sync" in panel.text or "مزامنة الدليل" in panel.text
    # a second run finds nothing more to do
    with data():
        assert sync.run().changes == 0


def _number(data, rid):
    with data():
        return Request.get_by_id(rid).tracking_number


def test_a_department_change_applies_at_once(app, directory, data):
    health2 = _signed_in(app, "health2")
    ids = _holding(app, data, "health2", count=1)
    with changed(directory, f"uid=health2,{PEOPLE}", [(ldap.MOD_REPLACE, "departmentNumber", "compensation")]):
        with data():
            run = sync.run()
            person = Staff.get(Staff.username == "health2")
            assert run.changed[0]["kind"] == "department" and person.active
            assert person.department.code == "compensation" and person.role == "clerk"
            assert Request.get_by_id(ids[0]).assignee_id is None
        assert health2.get("/queues/compensation").status_code == 302  # signed out: signs in again as they are now
        again = _signed_in(app, "health2")
        assert again.get("/queues/compensation").status_code == 200
        assert again.get("/queues/health").status_code == 403


def test_an_account_the_directory_disables_is_ended_too(app, directory, data):
    """Disabled but still in its groups (Active Directory keeps them): LDAP_DISABLED_FILTER says which accounts."""
    comp1 = _signed_in(app, "comp1")
    app.config["LDAP_DISABLED_FILTER"] = "(employeeType=disabled)"
    with changed(directory, f"uid=comp1,{PEOPLE}", [(ldap.MOD_ADD, "employeeType", "disabled")]):
        with data():
            assert [c["kind"] for c in sync.run().changed] == ["disabled"]
            assert Staff.get(Staff.username == "comp1").active is False
        assert comp1.get("/queues/compensation").status_code == 302
        assert Auth(app.test_client()).login("comp1").status_code == 401  # sign-in refuses them the same way
    with data():
        assert sync.run().changes == 0  # enabled again: sign-in brings them back, the sync ends no one


def test_an_unreachable_directory_changes_nothing_and_is_shown(app, data):
    health1 = _signed_in(app, "health1")
    supervisor = _signed_in(app, "supervisor1")
    ids = _holding(app, data, "health1", count=1)
    app.config["LDAP_URL"] = "ldap://127.0.0.1:1"  # nothing listens there
    with data():
        result = sync_directory.call_local()  # the scheduled job, as the consumer runs it
        run = DirectorySync.get_by_id(result["id"])
        assert run.failed and result["error"] == run.error
        assert (run.trigger, run.checked, run.changes, run.changed) == ("schedule", 0, 0, [])
        assert Request.get_by_id(ids[0]).assignee.username == "health1"
        assert Staff.get(Staff.username == "health1").active
    assert health1.get("/queues/health").status_code == 200
    page = supervisor.get("/staff/").text
    assert 'id="last-sync"' in page and 'class="error"' in page and 'id="sync-now"' not in page


def test_only_administrators_run_it_now(app, data):
    supervisor = _signed_in(app, "supervisor1")
    token = csrf_token(supervisor, "/staff/")
    assert supervisor.post("/staff/sync", data={"csrf_token": token}).status_code == 403
    admin = _signed_in(app, "admin1")
    token = csrf_token(admin, "/staff/")
    response = admin.post("/staff/sync", data={"csrf_token": token})
    assert response.status_code == 303
    with data():
        run = DirectorySync.select().order_by(DirectorySync.id.desc()).get()
        assert (run.trigger, run.requested_by.username, run.error) == ("admin", "admin1", "")
        assert (run.checked, run.changes) == (2, 0)  # supervisor1 and admin1, as the directory has them
    assert 'id="sync-now"' in admin.get("/staff/").text


@pytest.mark.parametrize(("hour", "minute", "every", "due"), [
    (0, 0, 5, True), (10, 35, 5, True), (10, 36, 5, False), (10, 36, 0, False), (23, 59, 1, True)])
def test_the_schedule(hour, minute, every, due):
    assert is_sync_minute(dt.datetime(2026, 12, 3, hour, minute), every) is due
