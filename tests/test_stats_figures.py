"""The figures behind the dashboard and the printed summaries, against a dataset with known answers: requests
returned and resubmitted, steps just before and just after the office's midnight, a day counted once and again."""
import datetime as dt

import pytest
from peewee import fn

from intranet import workflow
from intranet.models import Department, HistoryEntry, Request, RequestType
from intranet.models.stats import CountedDay, DailyCount, OpenSnapshot
from intranet.stats import figures, open_work
from tests.factories import make_request, make_staff
from tests.history_guard import backdate

DAY = dt.date(2026, 11, 10)  # the office is in Asia/Qatar, UTC+3: local midnight is 21:00 UTC the day before


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A local time on `day` as naive UTC."""
    return dt.datetime.combine(day, dt.time(hour, minute)) - dt.timedelta(hours=3)


def dated(entry: HistoryEntry, when: dt.datetime):
    backdate(HistoryEntry.id == entry.id, when)


def last_entry(req) -> HistoryEntry:
    return HistoryEntry.select().where(HistoryEntry.request == req.id).order_by(HistoryEntry.id.desc()).get()


def received(req, when):
    """The submission happened at `when`: its history entry and the request's dates (45 days from then)."""
    dated(last_entry(req), when)
    Request.update(received_at=when, due_at=when + dt.timedelta(days=45)).where(Request.id == req.id).execute()
    open_work.recount()  # written past the workflow, which keeps the open work counted


def step(action, clerk, req, when, **kwargs):
    fresh = Request.get_by_id(req.id)
    if action != "resubmit" and fresh.assignee_id != clerk.id and fresh.status == "open":
        workflow.claim(clerk, fresh, fresh.version)
        dated(last_entry(fresh), when)
        fresh = Request.get_by_id(req.id)
    assert getattr(workflow, action)(clerk, fresh, fresh.version, **kwargs).entry.action == action.rstrip("_")
    dated(last_entry(fresh), when)
    Request.update(closed_at=when).where((Request.id == req.id) & Request.closed_at.is_null(False)).execute()
    open_work.recount()
    return Request.get_by_id(req.id)


@pytest.fixture
def known(ctx):
    """A: received on DAY 10:00, accepted at 23:50 (DAY) and again at 00:10 (DAY+1, after midnight).
    B: received on DAY, returned to the citizen the same day, resubmitted on DAY+1.
    C: received at 23:55 on DAY-1 (that day's), rejected at 00:05 on DAY (this day's).
    D: an electronic inquiry received on DAY, completed at once (one stage)."""
    health = make_staff("h1", "clerk", "health")
    comp = make_staff("c1", "clerk", "compensation")
    citizens = make_staff("ci1", "clerk", "citizens")
    desk = make_staff("desk", "reception", "reception")
    a = make_request("health_care", actor=desk)
    received(a, at(DAY, 10))
    a = step("accept", health, a, at(DAY, 23, 50))
    a = step("accept", comp, a, at(DAY + dt.timedelta(days=1), 0, 10))
    b = make_request("health_care", actor=desk)
    received(b, at(DAY, 11))
    b = step("return_", health, b, at(DAY, 12), comment="ناقص", missing=("invoice",))
    b = step("resubmit", desk, b, at(DAY + dt.timedelta(days=1), 9))
    c = make_request("health_care", actor=desk)
    received(c, at(DAY - dt.timedelta(days=1), 23, 55))
    c = step("reject", health, c, at(DAY, 0, 5), comment="غير مستحق")
    d = make_request("inquiry", actor=desk, channel="electronic")
    received(d, at(DAY, 14))
    d = step("accept", citizens, d, at(DAY, 15))
    return {"a": a, "b": b, "c": c, "d": d}


def dept(code):
    return Department.get(Department.code == code).id


def kind(code):
    return RequestType.get(RequestType.code == code).id


def test_a_day_counts_what_happened_in_its_local_hours(known):
    by_department = figures.counts(DAY, DAY, by=("department",))
    assert by_department[(dept("health"),)] == {
        "received": 2, "accepted": 1, "completed": 0, "returned": 1, "rejected": 1, "resubmitted": 0}
    assert by_department[(dept("citizens"),)]["received"] == 1 and by_department[(dept("citizens"),)]["completed"] == 1
    after = figures.counts(DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=1), by=("department",))
    assert after[(dept("compensation"),)]["accepted"] == 1  # 00:10 belongs to the next day
    assert after[(dept("health"),)]["resubmitted"] == 1
    before = figures.counts(DAY - dt.timedelta(days=1), DAY - dt.timedelta(days=1), by=("department",))
    assert before[(dept("health"),)]["received"] == 1  # 23:55 the day before
    channels = figures.counts(DAY, DAY, by=("channel",))
    assert channels[("walk_in",)]["received"] == 2 and channels[("electronic",)]["received"] == 1


def test_counting_a_day_again_gives_the_same_figures(known):
    live = figures.counts(DAY, DAY, by=("department", "request_type", "channel"))
    figures.close_day(DAY)
    assert CountedDay.select().where(CountedDay.day == DAY).exists()
    assert figures.counts(DAY, DAY, by=("department", "request_type", "channel")) == live  # from the rows now
    first = sorted(DailyCount.select(DailyCount.department, DailyCount.request_type, DailyCount.event,
                                     DailyCount.count).where(DailyCount.day == DAY).tuples())
    health = make_staff("h2", "clerk", "health")
    late = make_request("health_care")
    step("accept", health, late, at(DAY + dt.timedelta(days=2), 10))  # later work changes nothing of DAY
    figures.close_day(DAY)
    assert sorted(DailyCount.select(DailyCount.department, DailyCount.request_type, DailyCount.event,
                                    DailyCount.count).where(DailyCount.day == DAY).tuples()) == first
    span = figures.counts(DAY - dt.timedelta(days=1), DAY + dt.timedelta(days=1), by=("request_type",))
    assert span[(kind("health_care"),)]["received"] == 3 and span[(kind("inquiry"),)]["received"] == 1


def test_a_day_counted_in_part_reads_as_the_whole_day(known):
    """The hourly job counts today up to its last full hour; a reader adds the rest live, split at the same moment:
    the sums are those of the whole day however far the job got, and the day is counted whole once it is over."""
    keys = ("department", "request_type", "channel", "governorate")
    whole, answers = figures.counts(DAY, DAY, by=keys), figures.answer_times(DAY, DAY)
    events = {hour: sum(1 for e in HistoryEntry.select().where(
        (HistoryEntry.created_at >= figures.day_bounds(DAY)[0]) & (HistoryEntry.created_at < at(DAY, hour))
        & HistoryEntry.action.in_(("submit", "accept", "answer", "return", "reject", "resubmit")))) for hour in
        (0, 10, 12, 15, 23)}
    for hour in (0, 10, 12, 15, 23):
        until = figures.count_so_far(now=at(DAY, hour, 30))
        assert until == at(DAY, hour) or (hour == 0 and until == figures.day_bounds(DAY)[0])
        assert CountedDay.get(CountedDay.day == DAY).counted_to == until
        assert (DailyCount.select(fn.SUM(DailyCount.count)).where(DailyCount.day == DAY).scalar() or 0) == events[
            hour], hour
        assert figures.counts(DAY, DAY, by=keys) == whole, hour
        assert figures.answer_times(DAY, DAY) == answers, hour
    assert DAY in figures.close_missing(DAY + dt.timedelta(days=1))  # counted in part: not counted yet
    assert CountedDay.get(CountedDay.day == DAY).counted_to is None
    assert figures.counts(DAY, DAY, by=keys) == whole and figures.answer_times(DAY, DAY) == answers


def test_open_items_at_the_end_of_a_day(known):
    end = figures.day_bounds(DAY)[1]
    opened = {(d, t, s): n for d, t, s, n in figures.open_at(end)}
    # A (its second accept came after midnight) and B (waiting for the citizen); C and D were closed on DAY
    assert sum(opened.values()) == 2
    figures.close_day(DAY)
    states = figures.snapshots(DAY, DAY)[DAY]
    assert sum(states.values()) == 2 and OpenSnapshot.select().where(OpenSnapshot.day == DAY).count() >= 1


def test_close_missing_counts_each_past_day_once(known):
    today = DAY + dt.timedelta(days=3)
    done = figures.close_missing(today)
    assert DAY in done and DAY + dt.timedelta(days=2) in done and today not in done
    assert figures.close_missing(today) == []


def test_open_now_by_state_age_and_clerk(known):
    now = at(DAY + dt.timedelta(days=50), 12)
    found = open_work.open_now(now=now)
    total = sum(sum(states.values()) for states in found["by_type"].values())
    assert total == 2 and sum(found["ages"].values()) == 2
    assert found["ages"][(46, None)] == 2  # received 50 days earlier


@pytest.fixture
def routed(ctx):
    """Inquiries not in their stage's department (Citizens Affairs): R1 routed to Retirement by its subject on DAY
    and answered there; R2 asked without a subject on DAY, transferred to Health the same day and answered there on
    DAY+1; R3 routed to Retirement on DAY and transferred to Health on DAY+1 (open in Retirement at DAY's end)."""
    from intranet.models import InquirySubject

    desk = make_staff("desk", "reception", "reception")
    pension = make_staff("p1", "clerk", "retirement")
    health = make_staff("h1", "clerk", "health")
    citizens = make_staff("ci1", "clerk", "citizens")
    inquiry = RequestType.get(RequestType.code == "inquiry")
    to_pensions = InquirySubject.get(InquirySubject.code == "pension")
    health_dept = Department.get(Department.code == "health")

    def ask(hour, subject=None):
        req = workflow.submit(desk, make_request("health_care").citizen, inquiry, "walk_in", "سؤال",
                              inquiry_subject=subject).request
        received(req, at(DAY, hour))
        return req

    r1 = ask(10, to_pensions)
    step("answer", pension, r1, at(DAY, 12), comment="جواب")
    r2 = ask(9)
    step("transfer", citizens, r2, at(DAY, 11), department=health_dept, reason="من اختصاص الشؤون الصحية")
    step("answer", health, r2, at(DAY + dt.timedelta(days=1), 10), comment="جواب")
    r3 = ask(13, to_pensions)
    step("transfer", pension, r3, at(DAY + dt.timedelta(days=1), 9), department=health_dept, reason="ليست لنا")
    # the health-care requests made for their citizens: received on another day, out of the way
    Request.update(received_at=at(DAY, 1)).where(Request.request_type != inquiry.id).execute()
    open_work.recount()
    backdate(HistoryEntry.request.in_(Request.select(Request.id).where(Request.request_type != inquiry.id)),
             at(DAY - dt.timedelta(days=5), 10))
    return {"r1": r1, "r2": r2, "r3": r3, "inquiry": inquiry.id}


def test_routed_and_transferred_inquiries_count_in_their_real_department(routed, client, auth):
    """By-department figures, the dashboard and the daily summary count a routed or transferred inquiry where the
    queue has it (they counted it under its stage's department, Citizens Affairs, while the queue, the open work and
    the counts by subject used the request's)."""
    from intranet.reports import summary
    from tests.test_dashboard import cell

    inquiry, next_day = routed["inquiry"], DAY + dt.timedelta(days=1)
    on_day = figures.counts(DAY, DAY, by=("department", "request_type"))
    assert on_day[(dept("retirement"), inquiry)]["received"] == 2
    assert on_day[(dept("retirement"), inquiry)]["completed"] == 1
    assert on_day[(dept("citizens"), inquiry)]["received"] == 1  # R2 was asked there, before its transfer
    assert on_day[(dept("citizens"), inquiry)]["completed"] == 0
    after = figures.counts(next_day, next_day, by=("department", "request_type"))
    assert after[(dept("health"), inquiry)]["completed"] == 1
    assert (dept("citizens"), inquiry) not in after

    auth.login("supervisor1")
    page = client.get(f"/dashboard/?period=range&from={DAY}&to={next_day}").text
    assert cell(page, "row-retirement-inquiry", 2) == "2"  # received
    assert cell(page, "row-health-inquiry", 2) == "0" and cell(page, "row-citizens-inquiry", 2) == "1"

    figures.close_day(DAY)  # counted from the day's rows as live
    doc = summary.build(DAY)
    pages = {page.department.code: page for page in doc.pages}
    assert pages["retirement"].by_type[inquiry]["walk_in"]["received"] == 2
    assert pages["retirement"].by_type[inquiry]["walk_in"]["completed"] == 1
    assert pages["citizens"].by_type[inquiry]["walk_in"]["received"] == 1
    # open at DAY's end, where each was then: R2 in Health (transferred that day), R3 in Retirement (routed there)
    held = {item.tracking_number: page for page, p in pages.items() for item in p.oldest}
    assert held[routed["r2"].tracking_number] == "health"
    assert held[routed["r3"].tracking_number] == "retirement"
