"""Overdue means one thing (issue 13): the one time rule of `models.requests` (on track, at risk, overdue, clock
paused; answered in time or late) in Python and in SQL, and every screen and document agreeing on one set of
requests in every state: the queue tabs and filters, the request page, the dashboard, the daily summary (as a PDF,
read back with pdftotext), the statements and the morning digests. Then the 45-day headline: the share answered
within the target and the median and 90th percentile of the days taken, against known answers."""
import datetime as dt
import re

import pytest

from intranet import workflow
from intranet.models import Department, Request, RequestType, Staff, sla_at, utcnow
from intranet.models.requests import Sla
from intranet.notify import digests
from intranet.queues import services
from intranet.queues.filters import QueueFilters
from intranet.reports import archive, pdf, statements, summary
from intranet.stats import dashboard, figures, open_work
from tests.conftest import csrf_token
from tests.factories import make_request, make_staff
from tests.test_reports import pdf_text

DAY = dt.timedelta(days=1)
T0 = dt.datetime(2026, 3, 1, 12, 0)


# --- the rule itself -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("due, paused, closed, expected", [
    (T0 + 35 * DAY, None, None, Sla("on_track", 35)),
    (T0 + 7 * DAY + dt.timedelta(seconds=1), None, None, Sla("on_track", 7)),
    (T0 + 7 * DAY, None, None, Sla("at_risk", 7)),
    (T0 + 4 * DAY + dt.timedelta(hours=9), None, None, Sla("at_risk", 4)),
    (T0, None, None, Sla("at_risk", 0)),  # due this very moment: not late yet
    (T0 - dt.timedelta(hours=2), None, None, Sla("overdue", 1)),  # never "0 days overdue"
    (T0 - 5 * DAY - dt.timedelta(hours=15), None, None, Sla("overdue", 5)),
    (T0 - 455 * DAY, T0 - 460 * DAY, None, Sla("paused")),  # waiting for the citizen: not 455 days overdue
    (T0 - 455 * DAY, T0 + DAY, None, Sla("overdue", 455)),  # paused only later: it was overdue at T0
    (T0 + 15 * DAY, None, T0, Sla("in_time")),
    (T0 - 15 * DAY, None, T0, Sla("late", 15)),
    (T0 - 2 * DAY, T0 - 10 * DAY, T0, Sla("in_time")),  # closed while with the citizen: the clock stopped before
    (T0 - 10 * DAY, T0 - 2 * DAY, T0, Sla("late", 8)),  # it went to the citizen already late
    (T0 + 15 * DAY, None, T0 + DAY, Sla("on_track", 15)),  # answered after the moment: open then
])
def test_the_rule_in_python(due, paused, closed, expected):
    assert sla_at(due, paused, closed, T0) == expected


def _made(**dates):
    req = make_request("health_care")
    Request.update(**dates).where(Request.id == req.id).execute()
    return Request.get_by_id(req.id)


def test_the_rule_in_sql_is_the_rule_in_python(ctx):
    """Open requests in every state and at every edge: the CASE and each state's condition give what `sla` gives;
    closed ones: in time in SQL exactly when in Python, and the whole days begun past the due date."""
    now = utcnow().replace(microsecond=0)
    open_ones = [_made(due_at=now + offset, paused_at=paused) for offset, paused in [
        (35 * DAY, None), (7 * DAY + dt.timedelta(minutes=1), None), (7 * DAY - dt.timedelta(minutes=1), None),
        (dt.timedelta(minutes=1), None), (-dt.timedelta(minutes=1), None), (-50 * DAY, None),
        (-455 * DAY, now - 460 * DAY), (20 * DAY, now - DAY)]]
    expected = {req.id: req.sla(now).state for req in open_ones}
    assert sorted(expected.values()) == sorted(["on_track", "on_track", "at_risk", "at_risk", "overdue", "overdue",
                                                "paused", "paused"])
    case = dict(Request.select(Request.id, Request.sla_case(now)).where(Request.closed_at.is_null()).tuples())
    assert case == expected
    for state in ("on_track", "at_risk", "overdue", "paused"):
        chosen = {r.id for r in Request.select(Request.id).where(Request.closed_at.is_null()
                                                                 & Request.sla_where(state, now))}
        assert chosen == {rid for rid, s in expected.items() if s == state}, state
    closed = {}
    for due_offset, paused, days_late in [(-15 * DAY, None, 15), (-dt.timedelta(hours=2), None, 1),
                                          (-(DAY + dt.timedelta(hours=2)), None, 2), (17 * DAY, None, -17),
                                          (DAY, None, -1), (dt.timedelta(0), None, 0),
                                          (-2 * DAY, now - 10 * DAY, -8), (-10 * DAY, now - 2 * DAY, 8)]:
        req = _made(due_at=now + due_offset, paused_at=paused, closed_at=now, status="rejected")
        closed[req.id] = (req.sla(now).state == "in_time", days_late)
    found = {rid: (bool(in_time), late) for rid, in_time, late in Request.select(
        Request.id, Request.answered_in_time(), Request.days_late()).where(Request.closed_at.is_null(False)).tuples()}
    assert found == closed


# --- every screen and document on one set of requests ----------------------------------------------------------

@pytest.fixture
def states(data):
    """Health-care requests in Health, now: one in each open state, and two answered just now (one in time, in
    Citizens Affairs; one 15 days late, in Health)."""
    with data():
        desk = make_staff("desk", "reception", "reception")
        clerk = make_staff("hclerk", "clerk", "health")
        boss = make_staff("hsup", "supervisor", "health")
        boss.email = "hsup@example.org"
        boss.save()
        now = utcnow()

        def received(days_ago, type_code="health_care"):
            req = make_request(type_code, actor=desk)
            at = now - days_ago * DAY
            Request.update(received_at=at, due_at=at + 45 * DAY).where(Request.id == req.id).execute()
            return Request.get_by_id(req.id)

        r = {"on_track": received(10), "at_risk": received(40), "overdue": received(50)}
        paused = received(500)
        workflow.return_(clerk, paused, paused.version, "صورة الهوية غير واضحة")
        Request.update(paused_at=now - 460 * DAY).where(Request.id == paused.id).execute()
        r["paused"] = Request.get_by_id(paused.id)
        in_time = received(30, "ministry_letter")
        workflow.accept(make_staff("cclerk", "clerk", "citizens"), in_time, in_time.version)
        late = received(60)
        workflow.reject(clerk, late, late.version, "لا يستحق")
        for req in (in_time, late):  # answered at the fixture's `now`: 30 and 60 days after they came in
            Request.update(closed_at=now).where(Request.id == req.id).execute()
        r["in_time"], r["late"] = Request.get_by_id(in_time.id), Request.get_by_id(late.id)
        open_work.recount()  # the dates were written past the workflow, which keeps the open work counted
        return {"requests": r, "numbers": {k: v.tracking_number for k, v in r.items()}, "boss": boss, "now": now}


def _row_states(html) -> dict[int, str]:
    """{request id: the state its queue row shows (its class, and its badge in words)}."""
    found = {}
    for rid, state, body in re.findall(r'<tr id="request-row-(\d+)" class="sla-(\w+)[^"]*"(.*?)</tr>', html, re.S):
        badge = re.search(r'class="sla sla-(\w+)">([^<]+)<', body)
        assert badge and badge.group(1) == state, body
        found[int(rid)] = (state, badge.group(2).strip())
    return found


NEGATIVE = re.compile(r"(?<![\w/.:-])-\d")  # a minus before a number (not a tracking number's or a date's dash)


def _text(html):
    return re.sub(r"<[^>]+>", " ", html)


def test_every_screen_and_document_agrees(states, client, auth, data, app, tmp_path):
    r, numbers = states["requests"], states["numbers"]
    app.config["REPORT_ARCHIVE_DIR"] = tmp_path / "reports"
    expected_open = {"on_track": 1, "at_risk": 1, "overdue": 1, "paused": 1}

    # the queue: each tab and filter holds exactly its request, and the row says so in words
    with data():
        health = Department.get(Department.code == "health")
        boss = Staff.get_by_id(states["boss"].id)
        assert services.tab_counts(health, boss)["overdue"] == 1
        for state in expected_open:
            rows, _ = services.queue_page(health, QueueFilters.from_args({"sla": state}), boss)
            assert [row.tracking_number for row in rows] == [numbers[state]], state
        rows, _ = services.queue_page(health, QueueFilters.from_args({"tab": "overdue"}), boss)
        assert [row.tracking_number for row in rows] == [numbers["overdue"]]
    auth.login("supervisor1")
    client.post("/language", data={"lang": "en", "next": "/", "csrf_token": csrf_token(client, "/")})
    queue = client.get("/queues/health").text
    assert _row_states(queue) == {r["on_track"].id: ("on_track", "34 days left"),
                                  r["at_risk"].id: ("at_risk", "4 days left"),
                                  r["overdue"].id: ("overdue", "5 days overdue"),
                                  r["paused"].id: ("paused", "clock paused")}
    assert not NEGATIVE.search(_text(queue)), "a negative day count on the queue page"
    for state, words in (("in_time", "answered in time"), ("late", "answered 15 days late")):
        page = client.get(f"/requests/{numbers[state]}").text
        assert f'<span class="sla sla-{state}">{words}</span>' in page
        assert "left" not in re.search(r'class="sla sla-\w+">([^<]+)<', page).group(1)
        assert not NEGATIVE.search(_text(page))

    # the dashboard, today: the open items by state, and the answers against the target
    with data():
        built = dashboard.build(dashboard.Period("today", figures.local_today(), figures.local_today()))
    by_key = {(row.department.code, row.request_type.code): row for row in built["rows"]}
    assert by_key[("health", "health_care")].open == expected_open
    assert built["totals"].open == expected_open
    late_row, letters = by_key[("health", "health_care")], by_key[("citizens", "ministry_letter")]
    assert (late_row.answers.total, late_row.answers.in_time, late_row.answers.median) == (1, 0, 60)
    assert (letters.answers.total, letters.answers.in_time, letters.answers.median) == (1, 1, 30)
    assert (built["totals"].answers.share_in_time, built["totals"].answers.median,
            built["totals"].answers.p90) == (0.5, 30, 60)
    assert late_row.will_breach == 1
    page = client.get("/dashboard/").text
    assert 'id="answers-health-health_care"' in page and 'id="headline-in-time"' in page

    # the daily summary of today, as figures and as the PDF read back
    with data():
        doc = summary.build(figures.local_today())
        health_page = next(p for p in doc.pages if p.department.code == "health")
        assert doc.sla == expected_open and health_page.sla == expected_open
        assert {item.tracking_number: item.state for item in health_page.oldest} == {
            numbers[s]: s for s in expected_open}
        assert [item.tracking_number for item in health_page.overdue] == [numbers["overdue"]]
        assert health_page.will_breach == {r["at_risk"].request_type_id: 1}
        assert (doc.answers_total.total, doc.answers_total.in_time) == (2, 1)
        report = archive.produce("daily_summary", figures.local_today(), "en")
        text = pdf_text(archive.root() / report.path)
    assert not NEGATIVE.search(text), "a negative number in the daily summary"
    sheet = text.split("\f")[1 + [p.department.code for p in doc.pages].index("health")]
    line = next(line for line in sheet.splitlines() if numbers["paused"] in line)
    assert "clock paused" in line and "overdue" not in line
    assert "5 days overdue" in next(line for line in sheet.splitlines() if numbers["overdue"] in line)
    assert "4 days left" in next(line for line in sheet.splitlines() if numbers["at_risk"] in line)
    cover = text.split("\f")[0]
    open_row = cover.splitlines()[cover.splitlines().index(next(
        line for line in cover.splitlines() if "Clock paused" in line)) + 1]
    assert [int(n) for n in open_row.split()] == [1, 1, 1, 1, 4]  # on track, at risk, overdue, paused, total
    total = next(line for line in cover.splitlines() if line.strip().startswith("Total") and "%" in line)
    assert total.split()[1:] == ["2", "1", "50%", "30", "60", "1"]  # answered, in time, share, median, p90, breach

    # the statements: the alert of today (as at its start) and the execution statement that includes today
    with data():
        alert = {s.department.code: s for s in statements.alert(figures.local_today()).sections}
        assert [i.tracking_number for i in alert["health"].overdue] == [numbers["late"], numbers["overdue"]]
        assert [i.tracking_number for i in alert["health"].due_soon] == [numbers["at_risk"]]
        assert numbers["paused"] not in {i.tracking_number for s in alert.values() for i in s.due_soon + s.overdue}
        execution = statements.execution(figures.local_today() + DAY)
        decided = {d.tracking_number: d.sla for s in execution.sections for d in s.decided["completed"]
                   + s.decided["rejected"]}
        assert decided == {numbers["in_time"]: Sla("in_time"), numbers["late"]: Sla("late", 15)}
        html = pdf.render_html("execution_statement", figures.local_today() + DAY, "en")
    assert "answered in time" in html and "answered 15 days late" in html
    assert not NEGATIVE.search(_text(html))

    # the morning digest of Health's supervisor: the at-risk and the overdue one, never the paused one
    with data():
        context = digests.build_context(Staff.get_by_id(states["boss"].id), "department_digest",
                                        figures.local_today(), utcnow())
    assert (context["at_risk_count"], context["overdue_count"]) == (1, 1)
    assert numbers["at_risk"] in context["items"] and numbers["overdue"] in context["items"]
    assert numbers["paused"] not in context["items"] and numbers["on_track"] not in context["items"]


# --- the 45-day headline against known answers --------------------------------------------------------------

@pytest.mark.parametrize("histogram, p50, p90", [
    ({d: 1 for d in range(1, 11)}, 5, 9),
    ({30: 1, 60: 1}, 30, 60),
    ({12: 1}, 12, 12),
    ({10: 9, 100: 1}, 10, 10),
    ({10: 8, 100: 2}, 10, 100),
    ({}, None, None),
])
def test_percentiles_are_the_nearest_rank(histogram, p50, p90):
    assert (figures.percentile(histogram, 50), figures.percentile(histogram, 90)) == (p50, p90)


def test_answer_times_per_department_and_type(ctx):
    """Twelve answered requests with known days taken; one outside the range, one still open. Days taken count the
    clock only: a request that waited 10 days for the citizen and was answered 50 days after it came in took 40."""
    now = utcnow().replace(microsecond=0)
    today = figures.local_today()
    health = Department.get(Department.code == "health").id
    health_care = RequestType.get(RequestType.code == "health_care").id
    for taken in (3, 10, 20, 30, 40, 44, 45, 45, 46, 60, 90):  # answered now, `taken` clock days after receipt
        _made(received_at=now - taken * DAY, due_at=now - taken * DAY + 45 * DAY, closed_at=now, status="completed")
    # 44 days and 2 hours: 45 begun, in time
    _made(received_at=now - 44 * DAY - dt.timedelta(hours=2), due_at=now + dt.timedelta(hours=22), closed_at=now,
          status="completed")
    # waited 10 days for the citizen (due date moved on by 10) and answered 50 days after it came in: 40 days
    _made(received_at=now - 50 * DAY, due_at=now + 5 * DAY, closed_at=now, status="completed")
    _made(received_at=now - 90 * DAY, due_at=now - 45 * DAY, closed_at=now - 10 * DAY, status="completed")  # before
    _made(received_at=now - 90 * DAY, due_at=now - 45 * DAY)  # open
    times = figures.answer_times(today - dt.timedelta(days=5), today)
    assert set(times) == {(health, health_care)}
    found = times[(health, health_care)]
    assert dict(found.days) == {3: 1, 10: 1, 20: 1, 30: 1, 40: 2, 44: 1, 45: 3, 46: 1, 60: 1, 90: 1}
    assert (found.total, found.in_time, found.late) == (13, 10, 3)
    assert (found.median, found.p90) == (44, 60)
    assert found.buckets() == {(0, 7): 1, (8, 14): 1, (15, 30): 2, (31, 45): 6, (46, None): 3}
    assert figures.answer_times(today, today, department=health + 1000) == {}
    figures.close_day(today)  # counted: the same figures from the day's rows, not from the requests
    Request.update(closed_at=now - 30 * DAY).where(Request.closed_at == now).execute()
    assert figures.answer_times(today - dt.timedelta(days=5), today) == times
