"""Department queues: tabs and counts, filters, Arabic-aware search, take-next under concurrency, reassignment,
returns with a checklist and a paused clock, and permissions on every queue route."""
import datetime as dt
import re
import threading

import pytest

from intranet import workflow
from intranet.db import database
from intranet.models import HistoryEntry, Request, Staff, utcnow
from intranet.queues import services
from intranet.queues.filters import QueueFilters
from tests.conftest import csrf_token
from tests.factories import make_citizen, make_request, make_staff


@pytest.fixture
def people(ctx):
    return {"desk": make_staff("desk", "reception", "reception"), "h1": make_staff("h1", "clerk", "health"),
            "h2": make_staff("h2", "clerk", "health"), "c1": make_staff("c1", "clerk", "compensation"),
            "sup": make_staff("sup", "supervisor", None)}


def page(department_code, user, **args):
    from intranet.models import Department
    rows, _ = services.queue_page(Department.get(Department.code == department_code),
                                  QueueFilters.from_args(args), user)
    return [row.tracking_number for row in rows]


def _age(req, days):
    """Move a request back in time, as if it had been received `days` ago."""
    received = utcnow() - dt.timedelta(days=days)
    Request.update(received_at=received, due_at=received + dt.timedelta(days=45)).where(Request.id == req.id).execute()
    return Request.get_by_id(req.id)


def test_tabs_and_counts(people):
    fresh, old, mine = (make_request("health_care", actor=people["desk"]) for _ in range(3))
    _age(old, 50)
    workflow.claim(people["h1"], mine, 1)
    returned = make_request("health_care", actor=people["desk"])
    workflow.accept(people["h1"], returned, 1)
    workflow.return_(people["c1"], Request.get_by_id(returned.id), 2, "invoice missing")
    from intranet.models import Department
    counts = services.tab_counts(Department.get(Department.code == "health"), people["h1"])
    assert counts == {"unassigned": 2, "mine": 1, "returned": 1, "all": 4, "overdue": 1}
    assert page("health", people["h1"], tab="mine") == [mine.tracking_number]
    assert page("health", people["h1"], tab="overdue") == [old.tracking_number]
    assert page("health", people["h1"], tab="returned") == [returned.tracking_number]
    assert page("health", people["h1"])[0] == old.tracking_number  # most urgent first


@pytest.mark.parametrize("args", [{}, {"tab": "mine"}, {"tab": "overdue"}, {"tab": "returned"},
                                  {"sla": "on_track", "sort": "received"}, {"q": "no such name"},
                                  {"channel": "electronic"}])
def test_the_page_with_its_counts_is_the_page_and_the_counts(people, args):
    """queue_page(counts=True), as the queue view asks (on PostgreSQL one statement: the counts joined to every
    row; asked alone for a page with no row, and for a search), gives the rows and the key of the next page that
    queue_page gives, and the counts tab_counts gives: for every tab, a filter, a search and an empty page."""
    from intranet.models import Department
    health = Department.get(Department.code == "health")
    fresh, old, mine = (make_request("health_care", actor=people["desk"]) for _ in range(3))
    _age(old, 50)
    workflow.claim(people["h1"], mine, 1)
    filters = QueueFilters.from_args(args)
    for size in (1, 25):
        rows, after, counts = services.queue_page(health, filters, people["h1"], size=size, counts=True)
        alone, alone_after = services.queue_page(health, filters, people["h1"], size=size)
        assert [row.tracking_number for row in rows] == [row.tracking_number for row in alone]
        assert [(row.status, row.assignee_id, row.due_at) for row in rows] == \
            [(row.status, row.assignee_id, row.due_at) for row in alone]
        assert after == alone_after
        assert counts == services.tab_counts(health, people["h1"]) == \
            {"all": 3, "unassigned": 2, "mine": 1, "returned": 0, "overdue": 1}


def test_filters(people):
    walk_in = make_request("health_care", actor=people["desk"])
    electronic = make_request("health_care", actor=people["desk"], channel="electronic")
    from intranet.models import Governorate
    north = make_request("health_care", actor=people["desk"],
                         citizen=make_citizen(governorate=Governorate.get(Governorate.code == "shamal")))
    at_risk = _age(make_request("health_care", actor=people["desk"]), 40)
    assert page("health", people["h1"], channel="electronic") == [electronic.tracking_number]
    assert page("health", people["h1"], governorate="shamal") == [north.tracking_number]
    assert page("health", people["h1"], sla="at_risk") == [at_risk.tracking_number]
    assert at_risk.tracking_number not in page("health", people["h1"], sla="on_track")
    assert page("health", people["h1"], age="older") == [at_risk.tracking_number]
    assert at_risk.tracking_number not in page("health", people["h1"], age="week")
    assert page("health", people["h1"], sort="received")[-1] == north.tracking_number
    assert set(page("health", people["h1"], channel="nonsense")) == {walk_in.tracking_number, electronic.tracking_number,
                                                                     north.tracking_number, at_risk.tracking_number}


@pytest.mark.parametrize("typed, found", [
    ("احمد", True), ("أحمد", True), ("مُحَمَّد", True), ("محمـــد الكواري", True), ("ابراهيم", False), ("كوار", True),
])
def test_arabic_name_search(people, typed, found):
    req = make_request("health_care", actor=people["desk"], citizen=make_citizen(full_name="أحمد مُحمّد الكواري"))
    make_request("health_care", actor=people["desk"], citizen=make_citizen(full_name="سالم علي المري"))
    assert (page("health", people["h1"], q=typed) == [req.tracking_number]) is found


def test_search_by_tracking_number_national_id_and_phone(people):
    citizen = make_citizen(phone="+97455998877")
    req = make_request("health_care", actor=people["desk"], citizen=citizen)
    other = make_request("health_care", actor=people["desk"])
    digits = req.tracking_number.replace("-", "")
    for typed in (req.tracking_number, digits, citizen.national_id, "55998877", "+974 5599 8877"):
        assert page("health", people["h1"], q=typed) == [req.tracking_number], typed
    assert other.tracking_number not in page("health", people["h1"], q=citizen.national_id)


def test_take_next_gives_most_urgent_and_never_twice(people):
    newer = make_request("health_care", actor=people["desk"])
    overdue = _age(make_request("health_care", actor=people["desk"]), 60)
    from intranet.models import Department
    health = Department.get(Department.code == "health")
    first = workflow.take_next(people["h1"], health)
    assert first.request.id == overdue.id and first.request.assignee_id == people["h1"].id
    second = workflow.take_next(people["h2"], health)
    assert second.request.id == newer.id
    assert workflow.take_next(people["h1"], health) is None
    assert HistoryEntry.select().where(HistoryEntry.action == "claim").count() == 2
    with pytest.raises(workflow.NotAllowed):
        workflow.take_next(people["c1"], health)


def test_take_next_under_concurrency(app, people):
    """Many clerks pressing take-next at once, each thread with its own connection: no request given twice."""
    from intranet.models import Department
    for _ in range(40):
        make_request("health_care", actor=people["desk"])
    clerks = [make_staff(f"clerk{i}", "clerk", "health") for i in range(12)]
    health = Department.get(Department.code == "health")
    taken, errors = [], []

    def work(clerk):
        try:
            with app.app_context(), database.connection_context():
                while (outcome := workflow.take_next(clerk, health)) is not None:
                    taken.append((outcome.request.id, clerk.id))
        except Exception as error:  # collected: the assertion below reports it
            errors.append(error)

    threads = [threading.Thread(target=work, args=(clerk,)) for clerk in clerks]  # peewee: a connection each
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    ids = [request_id for request_id, _ in taken]
    assert len(ids) == len(set(ids)) == 40
    assert {r.assignee_id for r in Request.select()} <= {c.id for c in clerks}
    for request_id, clerk_id in taken:
        assert Request.get_by_id(request_id).assignee_id == clerk_id
    assert HistoryEntry.select().where(HistoryEntry.action == "claim").count() == 40


def test_supervisor_reassigns_many(people):
    reqs = [make_request("health_care", actor=people["desk"]) for _ in range(3)]
    done = workflow.assign(people["sup"], [r.id for r in reqs], people["h2"])
    assert len(done) == 3 and all(Request.get_by_id(r.id).assignee_id == people["h2"].id for r in reqs)
    with pytest.raises(workflow.NotAllowed):
        workflow.assign(people["h1"], [reqs[0].id], people["h1"])
    assert workflow.assign(people["sup"], [reqs[0].id], people["c1"]) == []  # not in compensation's queue


def test_return_to_citizen_pauses_the_clock(people):
    req = make_request("health_care", actor=people["desk"])
    due = req.due_at
    workflow.return_(people["h1"], req, 1, "bring the invoice", missing=["invoice", "medical_report"])
    req = Request.get_by_id(req.id)
    assert req.status == "awaiting_citizen" and req.paused_at is not None
    entry = HistoryEntry.select().where(HistoryEntry.action == "return").get()
    assert entry.info["missing"] == ["invoice", "medical_report"]
    Request.update(paused_at=req.paused_at - dt.timedelta(days=10)).where(Request.id == req.id).execute()
    workflow.resubmit(people["desk"], Request.get_by_id(req.id), 2, "invoice brought")
    req = Request.get_by_id(req.id)
    assert req.paused_at is None and req.status == "open"
    assert abs((req.due_at - due) - dt.timedelta(days=10)) < dt.timedelta(minutes=1)


def test_return_checklist_over_http_and_changes_since_return(auth, client, people):
    req = make_request("health_care", actor=people["desk"])
    auth.login("health1")
    token = csrf_token(client, f"/requests/{req.tracking_number}")
    bad = client.post(f"/requests/{req.tracking_number}/act", data={
        "csrf_token": token, "action": "return", "version": "1", "comment": "x", "missing": ["passport"]})
    assert bad.status_code == 422 and Request.get_by_id(req.id).version == 1
    response = client.post(f"/requests/{req.tracking_number}/act", data={
        "csrf_token": token, "action": "return", "version": "1", "comment": "الفاتورة ناقصة", "missing": ["invoice"]})
    assert response.status_code == 303
    auth.logout()
    auth.login("reception1")
    token = csrf_token(client, f"/requests/{req.tracking_number}")
    client.post(f"/requests/{req.tracking_number}/act", data={
        "csrf_token": token, "action": "comment", "version": "2", "comment": "أحضر المواطن الفاتورة"})
    text = client.get(f"/requests/{req.tracking_number}").text
    assert "فاتورة العلاج" in text and "ما تغيّر منذ الإعادة" in text and "أحضر المواطن الفاتورة" in text


def test_queue_page_over_http_with_counts_and_fragments(auth, client, people):
    req = make_request("health_care", actor=people["desk"])
    auth.login("health1")
    full = client.get("/queues/health?tab=unassigned&channel=walk_in")
    assert full.status_code == 200 and req.tracking_number in full.text
    assert 'aria-current="page"' in full.text and "HX-Request" in full.headers["Vary"]
    fragment = client.get("/queues/health?tab=unassigned", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="queue-results"')
    counts = client.get("/queues/health/counts", headers={"HX-Request": "true"})
    assert counts.text.lstrip().startswith('<nav id="queue-tabs"') and 'data-tab="all">1<' in counts.text
    restore = client.get("/queues/health", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert restore.text.lstrip().startswith("<!doctype html>")


def test_act_from_queue_panel_updates_row_and_counts_out_of_band(auth, client, people):
    req = make_request("health_care", actor=people["desk"])
    auth.login("health1")
    panel = client.get(f"/requests/{req.tracking_number}?queue=health", headers={"HX-Request": "true"})
    assert 'name="queue" value="health"' in panel.text
    token = csrf_token(client, "/queues/health")
    response = client.post(f"/requests/{req.tracking_number}/act", headers={"HX-Request": "true"}, data={
        "csrf_token": token, "action": "accept", "version": "1", "queue": "health"})
    assert response.status_code == 200
    assert re.search(rf'<tr id="request-row-{req.id}" class="[^"]*row-done"[^>]*hx-swap-oob="true"', response.text)
    assert re.search(r'<nav id="queue-tabs"[^>]*hx-swap-oob="true"', response.text)
    assert 'data-tab="all">0<' in response.text


def test_take_next_and_reassign_over_http(auth, client, people):
    req = make_request("health_care", actor=people["desk"])
    auth.login("health1")
    token = csrf_token(client, "/queues/health")
    response = client.post("/queues/health/take-next", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == f"/requests/{req.tracking_number}"
    again = client.post("/queues/health/take-next", data={"csrf_token": token})
    assert again.headers["Location"] == "/queues/health"
    assert client.post("/queues/health/assign", data={"csrf_token": token, "request_ids": [req.id],
                                                      "clerk": people["h2"].id}).status_code == 403
    auth.logout()
    auth.login("supervisor1")
    token = csrf_token(client, "/queues/health")
    response = client.post("/queues/health/assign?tab=mine", data={"csrf_token": token, "request_ids": [req.id],
                                                                   "clerk": people["h2"].id})
    assert response.status_code == 303 and response.headers["Location"] == "/queues/health?tab=mine"
    assert Request.get_by_id(req.id).assignee_id == people["h2"].id
    bad = client.post("/queues/health/assign", data={"csrf_token": token, "request_ids": [req.id], "clerk": 99999})
    assert bad.status_code == 303 and Request.get_by_id(req.id).assignee_id == people["h2"].id


@pytest.mark.parametrize("username", ["comp1", "citizens1", "reception1", "pension1"])
def test_every_queue_route_refuses_other_departments(auth, client, people, username):
    req = make_request("health_care", actor=people["desk"])
    auth.login(username)
    token = csrf_token(client, "/")
    gets = ["/queues/health", "/queues/health?tab=mine", "/queues/health/counts", f"/requests/{req.tracking_number}?queue=health"]
    posts = ["/queues/health/take-next", "/queues/health/assign"]
    for path in gets:
        expected = 200 if (username == "reception1" and path.startswith("/requests/")) else 403
        assert client.get(path).status_code == expected, path
    for path in posts:
        assert client.post(path, data={"csrf_token": token, "request_ids": [req.id], "clerk": 1}).status_code == 403, path
    for action in ("accept", "claim", "return", "reject", "release"):
        response = client.post(f"/requests/{req.tracking_number}/act",
                               data={"csrf_token": token, "action": action, "version": "1", "comment": "x"})
        assert response.status_code == 403, action
    req = Request.get_by_id(req.id)
    assert (req.version, req.assignee_id) == (1, None)
    assert Staff.select().where(Staff.username == username).exists()
