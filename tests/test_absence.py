"""Absences (issue 18): marked for a period by the person, their supervisor or an administrator; take-next refuses
an absent person and assignment skips them; their open items are handed over in one action, to the queue or to a
colleague, with a history row per item; bad input changes nothing."""
import datetime as dt
import json

import pytest

from intranet import workflow
from intranet.models import Department, HistoryEntry, Request
from intranet.models.staff_admin import Absence
from intranet.queues import services
from intranet.staff import absence
from intranet.stats.figures import local_today
from tests.factories import make_request, make_staff


@pytest.fixture
def people(ctx):
    return {"desk": make_staff("desk", "reception", "reception"), "h1": make_staff("h1", "clerk", "health"),
            "h2": make_staff("h2", "clerk", "health"), "c1": make_staff("c1", "clerk", "compensation"),
            "sup": make_staff("sup", "supervisor", None), "sup_c": make_staff("sup_c", "supervisor", "compensation"),
            "admin": make_staff("adm", "admin", None)}


def _days(first=0, last=0):
    today = local_today()
    return today + dt.timedelta(days=first), today + dt.timedelta(days=last)


def _health():
    return Department.get(Department.code == "health")


def test_an_absent_clerk_takes_nothing_and_is_given_nothing(people):
    waiting = make_request(actor=people["desk"])
    absence.mark(people["h1"], people["h1"], *_days(0, 3), "إجازة")
    with pytest.raises(workflow.NotAllowed):
        workflow.take_next(people["h1"], _health())
    assert Request.get_by_id(waiting.id).assignee_id is None  # nothing taken
    assert [c.username for c in services.clerks_of(_health())] == ["h2"]  # the assign list skips them
    with pytest.raises(workflow.WorkflowError):
        workflow.assign(people["sup"], [waiting.id], people["h1"])
    assert workflow.take_next(people["h2"], _health()).request.id == waiting.id  # the colleague at work takes it


def test_an_absence_to_come_or_cancelled_does_not_stop_work(people):
    make_request(actor=people["desk"])
    absence.mark(people["sup"], people["h1"], *_days(2, 4))  # from the day after tomorrow
    assert not absence.is_absent(people["h1"].id)
    today = absence.mark(people["admin"], people["h2"], *_days(0, 0), "مرض")
    absence.cancel(people["h2"], people["h2"], today.id)  # back early
    assert workflow.take_next(people["h2"], _health()) is not None
    with pytest.raises(absence.AbsenceRefused):
        absence.cancel(people["h2"], people["h2"], today.id)  # cancelled already


WHO_MARKS = [("h1", "h1", True), ("h2", "h1", False), ("sup", "h1", True), ("sup_c", "h1", False),
             ("sup_c", "c1", True), ("admin", "h2", True), ("desk", "h2", False)]


def test_who_marks_whose_absence(people):
    for day, (actor, whose, allowed) in enumerate(WHO_MARKS):
        first, last = _days(day, day)  # a day each: no overlap between the rows
        if allowed:
            assert absence.mark(people[actor], people[whose], first, last).recorded_by_id == people[actor].id
        else:
            before = Absence.select().count()
            with pytest.raises(absence.AbsenceRefused):
                absence.mark(people[actor], people[whose], first, last)
            assert Absence.select().count() == before, (actor, whose)


BAD_INPUT = [
    ("2026-13-01", "2026-12-31", ""), ("tomorrow", "", ""), (None, None, ""),  # not dates
    (3, 1, ""),  # the last day before the first
    (-5, -1, ""),  # over already
    (0, 400, ""),  # more than a year
    (0, 1, "س" * 301),  # a reason too long
]


def test_bad_input_is_refused_and_changes_nothing(people):
    for first, last, reason in BAD_INPUT:
        if isinstance(first, int):
            first, last = _days(first, last)
        with pytest.raises(absence.AbsenceRefused) as refused:
            absence.mark(people["h1"], people["h1"], first, last, reason)
        assert str(refused.value.message), (first, last)
    assert Absence.select().count() == 0


def test_an_overlapping_absence_is_refused(people):
    absence.mark(people["h1"], people["h1"], *_days(0, 5))
    with pytest.raises(absence.AbsenceRefused):
        absence.mark(people["sup"], people["h1"], *_days(5, 8))
    assert Absence.select().count() == 1
    assert absence.mark(people["sup"], people["h1"], *_days(6, 8)) is not None  # the day after: fine


def test_hand_over_to_the_queue_or_to_a_colleague_with_a_history_row_each(people):
    held = []
    for _ in range(3):
        req = make_request(actor=people["desk"])
        workflow.claim(people["h1"], req, req.version)
        held.append(req.id)
    absence.mark(people["h1"], people["h1"], *_days(0, 2))
    # to an absent colleague, or by someone who may not: refused, nothing moves
    absence.mark(people["h2"], people["h2"], *_days(0, 0))
    with pytest.raises(workflow.WorkflowError):
        workflow.hand_over(people["sup"], people["h1"], people["h2"])
    with pytest.raises(workflow.NotAllowed):
        workflow.hand_over(people["c1"], people["h1"])
    with pytest.raises(workflow.NotAllowed):
        workflow.hand_over(people["sup"], people["h1"], reason="directory")  # only administrators run the sync
    assert {Request.get_by_id(i).assignee_id for i in held} == {people["h1"].id}
    # to a colleague at work: every item theirs, one "assign" row each, saying from whom
    Absence.update(cancelled_at=Absence.created_at).where(Absence.staff == people["h2"].id).execute()
    done = workflow.hand_over(people["sup"], people["h1"], people["h2"], "تغطية الإجازة")
    assert (sorted(done["assigned"]), done["released"]) == (held, [])
    for rid in held:
        last = HistoryEntry.select().where(HistoryEntry.request == rid).order_by(HistoryEntry.id.desc()).get()
        assert (last.action, last.actor_id, last.comment) == ("assign", people["sup"].id, "تغطية الإجازة")
        assert json.loads(last.details)["from"] == people["h1"].id and Request.get_by_id(rid).assignee_id == people["h2"].id
    # the person hands their own back to the queue
    assert workflow.hand_over(people["h2"], people["h2"])["released"] == held
    assert {Request.get_by_id(i).assignee_id for i in held} == {None}


def test_an_item_the_colleague_may_not_work_goes_back_to_its_queue(people):
    ours = make_request(actor=people["desk"])
    workflow.claim(people["h1"], ours, ours.version)
    theirs = make_request("compensation", actor=people["desk"])  # another department's item, held by supervisor
    workflow.claim(people["sup"], theirs, theirs.version)
    done = workflow.hand_over(people["admin"], people["sup"], people["h2"])
    assert done == {"released": [theirs.id], "assigned": []}
    assert Request.get_by_id(ours.id).assignee_id == people["h1"].id  # someone else's item is not touched
