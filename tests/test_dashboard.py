"""The supervisor's dashboard: the period's figures per department and type, open items by time left, who holds
what, and each overdue count a link to the queue filtered to exactly those items."""
import datetime as dt
import re

import pytest

from intranet import workflow
from intranet.models import Request, utcnow
from intranet.stats import figures, open_work
from tests.factories import make_request, make_staff
from tests.test_stats_figures import DAY, known  # noqa: F401  (the dataset with known answers)

PATH = "/dashboard/"


@pytest.fixture
def late(data):
    """Three open health-care requests held by clerk h9: two past their due date (one paused: waiting for the
    citizen, it is neither overdue nor on track but paused), one due in three days; and one unassigned overdue
    request."""
    with data():
        clerk = make_staff("h9", "clerk", "health")
        made = []
        for days_left, paused in ((-5, False), (-1, True), (3, False), (-2, False)):
            req = make_request("health_care")
            if len(made) < 3:
                workflow.claim(clerk, req, req.version)
            Request.update(due_at=utcnow() + dt.timedelta(days=days_left),
                           paused_at=utcnow() if paused else None).where(Request.id == req.id).execute()
            made.append(req.id)
        open_work.recount()  # the dates were written past the workflow, which keeps the open work counted
        return {"clerk": clerk.id, "ids": made}


def cell(page, row_id, column):
    row = re.search(rf'<tr id="{row_id}">(.*?)</tr>', page, re.S).group(1)
    return re.sub(r"<[^>]+>", "", re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)[column]).strip()


def test_only_supervisors_and_administrators(client, auth):
    assert client.get(PATH).status_code == 302
    auth.login("health1")
    assert client.get(PATH).status_code == 403
    auth.logout()
    auth.login("admin1")
    assert client.get(PATH).status_code == 200


def test_a_range_shows_the_known_figures(client, auth, known):  # noqa: F811
    auth.login("supervisor1")
    page = client.get(f"{PATH}?period=range&from={DAY}&to={DAY}").text
    assert cell(page, "row-health-health_care", 2) == "2"  # received on DAY in Health
    assert [cell(page, "row-health-health_care", n) for n in (3, 4, 5, 6)] == ["1", "1", "1", "0"]
    assert cell(page, "row-citizens-inquiry", 6) == "1"  # completed
    figures.close_day(DAY)  # counted: the same page from the day's rows
    assert cell(client.get(f"{PATH}?period=range&from={DAY}&to={DAY}").text, "row-health-health_care", 2) == "2"


def test_open_items_by_time_left_and_who_holds_them(client, auth, late, data):
    auth.login("supervisor1")
    page = client.get(PATH).text
    # on track, at risk, overdue, clock paused
    assert [cell(page, "row-health-health_care", n) for n in (7, 8, 9, 10)] == ["0", "1", "2", "1"]
    held = re.search(rf'<tr id="clerk-{late["clerk"]}-health">(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r">(\d+)</a>", held) == ["3", "1", "1"]  # held, overdue, at risk (issue 18)
    link = re.search(r'class="overdue-link" href="([^"]+)"', held).group(1).replace("&amp;", "&")
    queue = client.get(link).text
    assert queue.count('id="request-row-') == 1 and f'id="request-row-{late["ids"][0]}"' in queue  # exactly those


def test_a_wrong_range_is_refused_with_a_reason(client, auth):
    auth.login("supervisor1")
    for query in ("from=2026-13-01&to=2026-11-01", "from=2026-11-10&to=2026-11-01", "from=2020-01-01&to=2026-11-01",
                  "from=2026-11-01&to=2099-01-01"):
        response = client.get(f"{PATH}?period=range&{query}")
        assert response.status_code == 422 and 'id="period-error"' in response.text, query
    assert "اكتب" in client.get(f"{PATH}?period=range&from=x&to=y").text  # in the reader's language


def test_every_table_downloads_as_csv_and_xlsx(client, auth, late):
    import csv
    import io

    from openpyxl import load_workbook

    auth.login("supervisor1")
    page = client.get(PATH).text
    assert 'href="/dashboard/export/by-type.csv' in page and 'href="/dashboard/export/clerks.xlsx' in page
    rows = list(csv.reader(io.StringIO(client.get(f"{PATH}export/by-type.csv").data.decode("utf-8-sig"))))
    health = next(row for row in rows if row[1] == "منحة رعاية صحية")
    assert rows[0][0] == "الإدارة" and health[-4:] == ["0", "1", "2", "1"]  # on track, at risk, overdue, paused
    sheet = load_workbook(io.BytesIO(client.get(f"{PATH}export/clerks.xlsx").data)).active
    assert sheet.sheet_view.rightToLeft and [c.value for c in sheet[2]][2:] == [3, 1, 1, ""]  # at work
    assert client.get(f"{PATH}export/by-type.csv?period=range&from=x&to=y").status_code == 422


@pytest.fixture
def answered(data):
    """Four health-care requests answered today in Health, 10, 30, 44 and 60 clock days after they came in (the
    last one late), and one open at risk."""
    with data():
        clerk = make_staff("h8", "clerk", "health")
        now = utcnow()
        for days in (10, 30, 44, 60):
            req = make_request("health_care")
            workflow.reject(clerk, req, req.version, "لا يستحق")
            Request.update(received_at=now - dt.timedelta(days=days), closed_at=now,
                           due_at=now - dt.timedelta(days=days - 45)).where(Request.id == req.id).execute()
        req = make_request("health_care")
        Request.update(due_at=now + dt.timedelta(days=3)).where(Request.id == req.id).execute()
        open_work.recount()  # the dates were written past the workflow, which keeps the open work counted


def test_the_share_answered_within_the_target_and_the_days_taken(client, auth, answered):
    import csv
    import io

    auth.login("supervisor1")
    page = client.get(PATH).text
    # answered, within the target, share, median, 90th percentile, will breach this week
    assert [cell(page, "answers-health-health_care", n) for n in range(2, 8)] == [
        "4", "3", "75%", "30 يومًا", "60 يومًا", "1"]
    assert re.search(r'id="headline-in-time">.*?75%.*?3 من 4', page, re.S)
    assert 'href="/queues/health?type=health_care&amp;sla=at_risk"' in page  # what will breach: in the queue
    rows = list(csv.reader(io.StringIO(client.get(f"{PATH}export/answers.csv").data.decode("utf-8-sig"))))
    assert rows[1][2:] == ["4", "3", "75.0", "30", "60", "1"]
    empty = client.get(f"{PATH}?period=range&from=2026-01-01&to=2026-01-02").text
    assert 'id="answers-total"' in empty and "لم يُجَب عن أي طلب في هذه المدة." in empty


@pytest.mark.parametrize("locale, start_x", [("en", "8"), ("ar", "632")])
def test_charts_name_their_axes_in_the_readers_language(locale, start_x):
    from intranet.stats import charts

    drawn = {draw: draw(["0–7", "8–14"], [("Open items", [3, 5])], title="T", locale=locale, x_title="Days since received",
                        y_title="Open items")
             for draw in (charts.histogram, charts.trend_chart, charts.stacked_bar_chart, charts.bar_comparison)}
    for draw, svg in drawn.items():
        titles = re.findall(r'<text x="([\d.]+)"[^>]*class="chart-axis-title"[^>]*>([^<]+)</text>', str(svg))
        assert sorted(text for _x, text in titles) == ["Days since received", "Open items"], draw.__name__
        assert dict((text, x) for x, text in titles)["Open items"] == start_x  # at the inline start (mirrored)
        plain = draw(["0–7", "8–14"], [("Open items", [3, 5])], title="T", locale=locale)
        assert "chart-axis-title" not in str(plain)
        taller = float(re.search(r'viewBox="0 0 640 ([\d.]+)"', str(svg)).group(1))
        assert taller - float(re.search(r'viewBox="0 0 640 ([\d.]+)"', str(plain)).group(1)) >= 24  # room for them
