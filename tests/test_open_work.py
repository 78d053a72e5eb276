"""The open work counted as it changes (issue 21): every workflow step keeps `open_work` equal to a count of the
requests, the dashboard's states follow the one rule at any hour, and the recount repairs what was written past the
workflow."""
import datetime as dt
import random
import threading

import pytest

from intranet import workflow
from intranet.models import HistoryEntry, OpenWork, Request, RequestType, utcnow
from intranet.models.requests import AT_RISK, OPEN_SLA_STATES
from intranet.stats import figures, open_work
from intranet.workflow import NotAllowed, WorkflowError
from tests.factories import make_citizen, make_request, make_staff

TYPES = ("health_care", "compensation", "pension", "inquiry", "grievance", "pension_verification")


def expected(now: dt.datetime) -> dict:
    """What `open_now` must say, from each open request by the one rule in Python (`Request.sla`)."""
    by_type, clerks = {}, {}
    ages = dict.fromkeys(figures.AGE_BUCKETS, 0)
    today = figures.local_today(now)
    for req in Request.select().where(Request.open_work()):
        state = req.sla(now).state
        by_type.setdefault((req.department_id, req.request_type_id), dict.fromkeys(OPEN_SLA_STATES, 0))[state] += 1
        age = (today - figures.local_today(req.received_at)).days
        ages[next(b for b in figures.AGE_BUCKETS if b[1] is None or age <= b[1])] += 1
        if req.assignee_id is not None:
            held, overdue, at_risk = clerks.get((req.assignee_id, req.department_id), (0, 0, 0))
            clerks[(req.assignee_id, req.department_id)] = (held + 1, overdue + (state == "overdue"),
                                                            at_risk + (state == "at_risk"))
    return {"by_type": by_type, "ages": ages, "clerks": clerks}


@pytest.fixture
def staff(ctx):
    return {
        "desk": make_staff("desk", "reception", "reception"),
        "clerks": [make_staff("h1", "clerk", "health"), make_staff("h2", "clerk", "health"),
                   make_staff("c1", "clerk", "compensation"), make_staff("z1", "clerk", "citizens"),
                   make_staff("r1", "clerk", "retirement")],
        "head": make_staff("hd", "head", "health"),
        "supervisor": make_staff("s1", "supervisor", None),
    }


def _one_step(rng, staff, types):
    """One random thing a person does to the work; refusals (not allowed now, stale) are part of the walk."""
    clerks, supervisor = staff["clerks"], staff["supervisor"]
    pick = rng.random()
    open_ids = [i for (i,) in Request.select(Request.id).where(Request.open_work()).tuples()]
    if pick < 0.22 or not open_ids:
        code = rng.choice(TYPES)
        if code == "inquiry" and rng.random() < 0.3:
            workflow.answer_at_desk(staff["desk"], make_citizen(), types[code], "سؤال", "جواب")
        else:
            make_request(code, actor=staff["desk"])
        return
    req = Request.get_by_id(rng.choice(open_ids))
    if pick < 0.3:
        clerk = rng.choice(clerks)
        workflow.take_next(clerk, clerk.department)
    elif pick < 0.35:
        clerk = rng.choice(clerks)
        workflow.assign(supervisor, rng.sample(open_ids, min(3, len(open_ids))), clerk, "توزيع")
    elif pick < 0.39:
        department = rng.choice([c.department for c in clerks])
        workflow.transfer(supervisor, req, req.version, department, "ليست لنا")
    elif pick < 0.42:
        clerk = rng.choice(clerks)
        others = [c for c in clerks if c.department_id == clerk.department_id and c.id != clerk.id]
        workflow.hand_over(supervisor, clerk, rng.choice(others + [None]), "غياب")
    elif pick < 0.45:
        done = Request.select().where(Request.status == "completed").order_by(Request.id.desc()).first()
        if done is not None:
            workflow.reopen(supervisor, done, "أعيد")
    else:
        people = [p for p in [*clerks, staff["head"], supervisor, staff["desk"]]
                  if set(workflow.allowed_actions(req, p)) - {"comment"}]
        if not people:
            return
        person = rng.choice(people)
        action = rng.choice(workflow.allowed_actions(req, person))
        if action == "resubmit":
            workflow.resubmit(person, req, req.version, "أكمل")
        else:
            workflow.act(person, req, action, req.version, "سبب" if action != "answer" else "جواب")


def test_random_workflow_steps_keep_the_open_work_counted(staff):
    rng = random.Random(21)
    types = {code: RequestType.get(RequestType.code == code) for code in TYPES}
    for _ in range(8):
        make_request(rng.choice(TYPES), actor=staff["desk"])
    done = 0
    for n in range(160):
        try:
            _one_step(rng, staff, types)
            done += 1
        except (NotAllowed, WorkflowError):
            pass
        if n % 40 == 39:
            assert open_work.differences() == {}, n
    assert done > 120
    assert Request.select().where(Request.closed_at.is_null(False)).count() > 10  # the walk closed work too
    steps = {action for (action,) in HistoryEntry.select(HistoryEntry.action).distinct().tuples()}
    print(sorted(steps), Request.select().where(Request.open_work()).count(), Request.select().count())
    assert steps >= {"submit", "claim", "accept", "return", "resubmit", "reject", "transfer", "assign", "release",
                     "answer", "reopen"}, steps
    for now in (utcnow(), utcnow() + dt.timedelta(days=3, hours=5), utcnow() + dt.timedelta(days=50)):
        assert open_work.open_now(now=now) == expected(now)
    assert open_work.recount() == 0


def test_each_hour_of_the_boundary_days_follows_the_one_rule(staff):
    """Due dates every 5 hours from 2 days past to 2 days after the at-risk window, some paused, received on days
    around the age buckets' edges: the states and ages at several moments are those of the one rule."""
    now = utcnow()
    clerk = staff["clerks"][0]
    hours = range(-48, int(AT_RISK / dt.timedelta(hours=1)) + 48, 5)
    for n, offset in enumerate(hours):
        req = make_request("health_care", actor=staff["desk"])
        if n % 3 == 0:
            workflow.claim(clerk, req, req.version)
        Request.update(due_at=now + dt.timedelta(hours=offset),
                       received_at=now - dt.timedelta(days=(0, 7, 8, 14, 15, 30, 31, 45, 46)[n % 9], hours=n % 4),
                       paused_at=now - dt.timedelta(days=2) if n % 7 == 0 else None).where(
            Request.id == req.id).execute()
    assert open_work.differences()  # written past the workflow: the counts are wrong until recounted
    assert open_work.recount() > 0 and open_work.differences() == {}
    for moment in (now, now + dt.timedelta(hours=7), now + dt.timedelta(hours=19), now - dt.timedelta(hours=11)):
        found = open_work.open_now(now=moment)
        assert found == expected(moment), moment
        department = clerk.department_id
        assert open_work.open_now(department=department, now=moment)["by_type"] == {
            key: value for key, value in expected(moment)["by_type"].items() if key[0] == department}


def test_the_command_checks_and_recounts(staff, app):
    make_request("health_care", actor=staff["desk"])
    OpenWork.update(count=OpenWork.count + 2).execute()
    runner = app.test_cli_runner()
    checked = runner.invoke(args=["stats", "recount-open-work", "--check"])
    assert checked.exit_code == 1 and "1 counts disagree" in checked.output
    fixed = runner.invoke(args=["stats", "recount-open-work"])
    assert fixed.exit_code == 0 and "1 counts were wrong" in fixed.output, fixed.output
    assert runner.invoke(args=["stats", "recount-open-work", "--check"]).exit_code == 0
    assert open_work.tidy() == 0


def test_steps_at_once_keep_the_counts(staff, app):
    """Four people walking at once, each thread with its own connection (PostgreSQL: row locks on the counts, in one
    order; SQLite: one writer at a time): no deadlock, no error but refusals, and the counts agree afterwards."""
    from intranet.db import database

    types = {code: RequestType.get(RequestType.code == code) for code in TYPES}
    for n in range(16):
        make_request(TYPES[n % len(TYPES)], actor=staff["desk"])
    errors, done = [], []

    def walk(seed):
        rng = random.Random(seed)
        try:
            with app.test_request_context(), database.connection_context():
                for _ in range(30):
                    try:
                        _one_step(rng, staff, types)
                        done.append(seed)
                    except (NotAllowed, WorkflowError):
                        pass
        except Exception as error:  # collected: the assertion below names it
            errors.append(error)

    threads = [threading.Thread(target=walk, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors and len(done) > 60
    assert open_work.differences() == {}
