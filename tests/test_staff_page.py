"""The staff page (issue 18): who is who with their load, absences and delegations, paged by key; a supervisor of a
department sees its people, one of every department and administrators everyone; a person's own page for their
absences; handing work over from the page; the dashboard's load per clerk (at risk, absent until)."""
import datetime as dt
import re

import ldap

from intranet import workflow
from intranet.models import Request, Staff
from intranet.models.delegations import Delegation
from intranet.models.staff_admin import Absence
from intranet.stats.figures import local_today
from tests.conftest import Auth, csrf_token
from tests.factories import make_request
from tests.test_directory_sync import PEOPLE, changed

EVERYONE = ("reception1", "health1", "health2", "comp1", "supervisor1", "admin1")


def _client(app, username):
    client = app.test_client()
    Auth(client).login(username)
    return client


def _ids(data):
    with data():
        return {s.username: s.id for s in Staff.select()}


def _post(client, path, form, page):
    return client.post(path, data={"csrf_token": csrf_token(client, page), **form})


def test_who_sees_whom(app, data, directory):
    for username in EVERYONE:
        _client(app, username)
    ids = _ids(data)
    everything = _client(app, "supervisor1").get("/staff/").text  # a supervisor of every department
    assert all(f'id="staff-{ids[name]}"' in everything for name in EVERYONE)
    assert 'id="directory-sync"' in everything and 'id="sync-now"' not in everything
    with changed(directory, f"uid=supervisor1,{PEOPLE}", [(ldap.MOD_ADD, "departmentNumber", "health")]):
        health_supervisor = _client(app, "supervisor1")  # signs in as the supervisor of Health now
        page = health_supervisor.get("/staff/").text
        assert f'id="staff-{ids["health1"]}"' in page and f'id="staff-{ids["comp1"]}"' not in page
        assert health_supervisor.get(f"/staff/{ids['comp1']}").status_code == 403
        assert health_supervisor.get(f"/staff/{ids['health2']}").status_code == 200
    clerk = _client(app, "health1")
    assert clerk.get("/staff/").headers["Location"].endswith(f"/staff/{ids['health1']}")  # their own page
    assert clerk.get(f"/staff/{ids['health2']}").status_code == 403
    assert clerk.get("/staff/99999").status_code == 404
    assert _post(clerk, f"/staff/{ids['health2']}/absences", {"starts_on": "2099-01-01", "ends_on": "2099-01-02"},
                 f"/staff/{ids['health1']}").status_code == 403
    admin = _client(app, "admin1")
    assert all(f'id="staff-{ids[name]}"' in admin.get("/staff/").text for name in EVERYONE)


def test_pages_by_key(app, data):
    for username in EVERYONE:
        _client(app, username)
    app.config["QUEUE_PAGE_SIZE"] = 4
    admin = _client(app, "admin1")
    first = admin.get("/staff/").text
    after = re.search(r'href="/staff/\?after=(\d+)"', first).group(1)
    second = admin.get(f"/staff/?after={after}").text
    shown = re.findall(r'<tr id="staff-(\d+)"', first) + re.findall(r'<tr id="staff-(\d+)"', second)
    assert sorted(map(int, shown)) == sorted(_ids(data).values()) and len(set(shown)) == len(shown)
    assert admin.get("/staff/?after=abc").status_code == 200  # a key that names nothing: the first page


def test_a_clerk_marks_their_absence_and_the_supervisor_hands_their_work_over(app, data):
    clerk = _client(app, "health1")
    _client(app, "health2"), _client(app, "reception1")
    ids = _ids(data)
    own = f"/staff/{ids['health1']}"
    with data():
        desk, holder = Staff.get_by_id(ids["reception1"]), Staff.get_by_id(ids["health1"])
        held = []
        for _ in range(2):
            req = make_request(actor=desk)
            workflow.claim(holder, req, req.version)
            held.append(req.id)
    today = local_today()
    refused = _post(clerk, f"{own}/absences", {"starts_on": today.isoformat(), "ends_on": "yesterday"}, own)
    assert refused.status_code == 303
    assert "YYYY-MM-DD" in clerk.get(own).text or "YYYY" in clerk.get(own).text
    with data():
        assert Absence.select().count() == 0
    marked = _post(clerk, f"{own}/absences", {"starts_on": today.isoformat(),
                                              "ends_on": (today + dt.timedelta(days=2)).isoformat(), "reason": "إجازة"},
                   own)
    assert marked.status_code == 303
    supervisor = _client(app, "supervisor1")
    listing = supervisor.get("/staff/").text
    row = re.search(rf'<tr id="staff-{ids["health1"]}">(.*?)</tr>', listing, re.S).group(1)
    assert '<td class="open-items">2</td>' in row and "datetime=\"" + (today + dt.timedelta(days=2)).isoformat() in row
    dashboard = supervisor.get("/dashboard/").text
    assert f'href="/staff/{ids["health1"]}"' in dashboard  # absent until, beside their load
    # the colleague is offered; the absent person is not
    person = supervisor.get(own).text
    assert f'<option value="{ids["health2"]}">' in person
    handed = _post(supervisor, f"{own}/hand-over", {"to": str(ids["health2"]), "comment": "تغطية"}, own)
    assert handed.status_code == 303
    with data():
        assert {Request.get_by_id(i).assignee_id for i in held} == {ids["health2"]}
    # a colleague who is not offered (themselves, someone of another department) is refused with a reason
    assert _post(supervisor, f"/staff/{ids['health2']}/hand-over", {"to": str(ids["health2"])},
                 "/staff/").status_code == 303
    with data():
        assert {Request.get_by_id(i).assignee_id for i in held} == {ids["health2"]}


def test_delegations_given_and_received_with_those_ending_soon_flagged(app, data):
    for username in ("health1", "health2", "supervisor1"):
        _client(app, username)
    ids = _ids(data)
    today = local_today()
    with data():
        for delegate, days in (("health1", 2), ("health2", 30)):
            Delegation.create(grantor=ids["supervisor1"], delegate=ids[delegate], scope="queue",
                              department=Staff.get_by_id(ids[delegate]).department_id, starts_on=today,
                              ends_on=today + dt.timedelta(days=days), reason="cover", created_by=ids["supervisor1"])
    supervisor = _client(app, "supervisor1")
    listing = supervisor.get("/staff/").text
    soon = re.search(rf'<tr id="staff-{ids["health1"]}">(.*?)</tr>', listing, re.S).group(1)
    later = re.search(rf'<tr id="staff-{ids["health2"]}">(.*?)</tr>', listing, re.S).group(1)
    given = re.search(rf'<tr id="staff-{ids["supervisor1"]}">(.*?)</tr>', listing, re.S).group(1)
    assert 'class="received">1 <span class="badge warning expiring">' in soon
    assert 'class="received">1</td>' in later and 'class="given">2 <span' in given
    page = supervisor.get(f"/staff/{ids['supervisor1']}").text
    assert page.count('class="badge warning expiring"') == 1 and 'id="delegations-given"' in page
