"""Statistics by governorate and by request type: known figures over a range (a counted day, days counted live),
the CSV and XLSX downloads holding the same numbers, refused ranges, and who may read them."""
import csv
import datetime as dt
import io
import re
from decimal import Decimal

import openpyxl
import pytest

from intranet import workflow
from intranet.models import Department, Governorate, HistoryEntry, Request
from intranet.stats import export, figures
from intranet.stats.export import Table
from intranet.stats.views import governorate_table, type_table
from tests.conftest import csrf_token
from tests.factories import make_citizen, make_request, make_staff
from tests.history_guard import backdate

# (governorate, received, completed, returned, rejected) over the four days, in the page's order
BY_GOVERNORATE = [
    ("الدوحة", 2, 0, 0, 0), ("الريان", 1, 1, 0, 0), ("الوكرة", 1, 0, 0, 1), ("الخور والذخيرة", 0, 0, 0, 0),
    ("الشمال", 0, 0, 0, 0), ("أم صلال", 0, 0, 0, 0), ("الضعاين", 0, 0, 0, 0), ("الشحانية", 0, 0, 0, 0),
    ("المحافظة غير مسجلة", 1, 0, 1, 0),
]
# (type, received, at the desk, electronically, accepted, completed, returned, rejected, resubmitted)
BY_TYPE = [
    ("منحة تعويض", 0, 0, 0, 0, 0, 0, 0, 0), ("منحة رعاية صحية", 2, 1, 1, 2, 0, 0, 0, 0),
    ("معاملة تقاعد", 1, 0, 1, 0, 0, 0, 1, 0), ("تظلم وشكوى", 1, 1, 0, 0, 0, 1, 0, 1),
    ("مخاطبة وزارة", 0, 0, 0, 0, 0, 0, 0, 0), ("استفسار", 1, 0, 1, 0, 1, 0, 0, 0),
    ("التحقق الشهري من استحقاق المعاش", 0, 0, 0, 0, 0, 0, 0, 0), ("استثناء في هيئة الطعن", 0, 0, 0, 0, 0, 0, 0, 0), ("طلب دراسات عليا", 0, 0, 0, 0, 0, 0, 0, 0),
    ("طلب مقابلة", 0, 0, 0, 0, 0, 0, 0, 0),
]


@pytest.fixture
def days(data):
    """Requests over four local days: one before the range, the range's first day (counted by close_day), the
    second (not counted: summed live) and today (live)."""
    with data():
        today = figures.local_today()
        when = {"before": today - dt.timedelta(days=10), "first": today - dt.timedelta(days=3),
                "second": today - dt.timedelta(days=2), "today": today}
        boss = make_staff("boss", "supervisor", None)
        place = {g.code: g for g in Governorate.select()}

        def on(day, outcome):
            """The step happened at 10:00 on `day`, local time."""
            moment = figures.day_bounds(when[day])[0] + dt.timedelta(hours=10)
            backdate(HistoryEntry.id == outcome.entry.id, moment)
            return outcome.request

        def new(day, type_code, channel, governorate):
            req = make_request(type_code, actor=boss, channel=channel,
                               citizen=make_citizen(governorate=place[governorate]))
            first = HistoryEntry.get((HistoryEntry.request == req.id) & (HistoryEntry.action == "submit"))
            on(day, workflow.Outcome(req, first))
            return req

        new("before", "health_care", "walk_in", "doha")
        care = new("first", "health_care", "walk_in", "doha")
        care = on("first", workflow.accept(boss, care, care.version))
        inquiry = new("first", "inquiry", "electronic", "rayyan")
        on("first", workflow.accept(boss, inquiry, inquiry.version))
        grievance = new("first", "grievance", "walk_in", "khor")
        Request.update(governorate=None).where(Request.id == grievance.id).execute()  # an old import left it out
        pension = new("second", "pension", "electronic", "wakrah")
        on("second", workflow.reject(boss, pension, pension.version, "not eligible"))
        grievance = on("second", workflow.return_(boss, grievance, grievance.version, "the decision is missing"))
        new("today", "health_care", "electronic", "doha")
        on("today", workflow.accept(boss, care, care.version))
        on("today", workflow.resubmit(boss, grievance, grievance.version, "attached"))
        figures.close_day(when["before"])
        figures.close_day(when["first"])
    return when


def args(when, first="first", last="today", **more):
    return {"from": when[first].isoformat(), "to": when[last].isoformat(), **more}


def numbers(table: Table):
    return [tuple(row) for row in table.rows]


def test_figures_by_governorate_and_type_over_a_range(days, data):
    with data():
        assert numbers(governorate_table(days["first"], days["today"])) == BY_GOVERNORATE
        assert numbers(type_table(days["first"], days["today"])) == BY_TYPE
        one_day = governorate_table(days["second"], days["second"])
        assert [row for row in numbers(one_day) if any(row[1:])] == [
            ("الوكرة", 1, 0, 0, 1), ("المحافظة غير مسجلة", 0, 0, 1, 0)]
        assert one_day.footer == [["المجموع", 1, 0, 1, 1]]


def test_department_filter_counts_the_steps_taken_there(days, data):
    """Health Affairs received both care requests and accepted one of them: the second acceptance happened in
    Compensation; the types without a stage in Health Affairs and without figures there are left out."""
    with data():
        health = Department.get(Department.code == "health")
        assert numbers(type_table(days["first"], days["today"], health)) == [
            ("منحة رعاية صحية", 2, 1, 1, 1, 0, 0, 0, 0)]
        assert numbers(governorate_table(days["first"], days["today"], health))[0] == ("الدوحة", 2, 0, 0, 0)
        reception = type_table(days["first"], days["today"], Department.get(Department.code == "reception"))
        assert (reception.rows, reception.footer) == ([], [])


def cells(page, table_id):
    """The rows of a table on the page as tuples of cell texts."""
    body = page.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return [tuple(re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row))
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def as_text(rows):
    return [tuple(str(value) for value in row) for row in rows]


def test_page_shows_the_tables_charts_and_downloads(days, auth, client):
    auth.login("supervisor1")
    page = client.get("/stats/", query_string=args(days))
    assert page.status_code == 200
    text = page.text
    governorates = cells(text, "governorates-table")
    assert governorates[0] == ("المحافظة", "الطلبات الواردة", "الطلبات المنجزة", "معاد للتصحيح", "الطلبات المرفوضة")
    assert governorates[1:-1] == as_text(BY_GOVERNORATE)
    assert governorates[-1] == ("المجموع", "5", "1", "1", "1")
    assert cells(text, "types-table")[1:-1] == as_text(BY_TYPE)
    assert text.count('<svg xmlns="http://www.w3.org/2000/svg"') == 2 and text.count('class="visually-hidden"') >= 2
    assert 'scope="row"' in text and "<caption>" in text
    first = days["first"].isoformat()
    assert f'/stats/export/governorates.csv?from={first}&amp;to={days["today"].isoformat()}' in text
    assert f'/stats/export/types.xlsx?from={first}' in text


def test_default_range_is_this_month_so_far(days, auth, client):
    auth.login("supervisor1")
    page = client.get("/stats/").text
    today = days["today"]
    assert f'name="from" required type="date" value="{today.replace(day=1).isoformat()}"' in page
    assert f'name="to" required type="date" value="{today.isoformat()}"' in page
    assert 'aria-current="page">هذا الشهر</a>' in page


def attachment_name(response) -> tuple[str, str]:
    """(disposition, file name) of a download, however the header quotes the name."""
    from werkzeug.http import parse_options_header
    disposition, options = parse_options_header(response.headers["Content-Disposition"])
    return disposition, options.get("filename")


def test_csv_holds_the_page_numbers_with_arabic_headings(days, auth, client):
    auth.login("supervisor1")
    response = client.get("/stats/export/governorates.csv", query_string=args(days))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert attachment_name(response) == ("attachment", f'governorates-{days["first"]}-{days["today"]}.csv')
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == ["المحافظة", "الطلبات الواردة", "الطلبات المنجزة", "معاد للتصحيح", "الطلبات المرفوضة"]
    assert [tuple(row) for row in rows[1:-1]] == as_text(BY_GOVERNORATE)
    assert rows[-1] == ["المجموع", "5", "1", "1", "1"]


def test_xlsx_holds_the_page_numbers_right_to_left(days, auth, client):
    auth.login("supervisor1")
    response = client.get("/stats/export/types.xlsx", query_string=args(days, department=""))
    assert response.status_code == 200
    assert attachment_name(response) == ("attachment", f'types-{days["first"]}-{days["today"]}.xlsx')
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = book.active
    assert sheet.sheet_view.rightToLeft
    assert book.properties.title.startswith("الطلبات حسب النوع")
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("نوع الطلب", "الطلبات الواردة", "الواردة حضوريًا", "الواردة إلكترونيًا",
                       "المقبولة إلى المرحلة التالية", "الطلبات المنجزة", "معاد للتصحيح", "الطلبات المرفوضة",
                       "المعاد تقديمها بعد التصحيح")
    assert rows[1:-1] == BY_TYPE
    assert rows[-1] == ("المجموع", 5, 2, 3, 2, 1, 1, 1, 1)


def test_export_of_one_department_is_named_after_it(days, auth, client):
    auth.login("supervisor1")
    response = client.get("/stats/export/types.csv", query_string=args(days, department="health"))
    assert attachment_name(response)[1].startswith(f'types-health-{days["first"]}')
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[1:] == [["منحة رعاية صحية", "2", "1", "1", "1", "0", "0", "0", "0"],
                        ["المجموع", "2", "1", "1", "1", "0", "0", "0", "0"]]


@pytest.mark.parametrize("query, field, message", [
    ({"from": "2026-03-10", "to": "2026-03-01"}, "to", "اليوم الأخير يسبق اليوم الأول"),
    ({"from": "2020-01-01", "to": "2024-01-01"}, "to", "لا يتجاوز النطاق ثلاث سنوات"),
    ({"from": "2026-01-01", "to": "2999-01-01"}, "to", "الأرقام متاحة حتى اليوم فقط"),
    ({"from": "31/01/2026", "to": "2026-02-01"}, "from", "أدخل التاريخ بصيغة سنة-شهر-يوم"),
    ({"from": "", "to": "2026-02-01"}, "from", "أدخل اليوم الأول من النطاق"),
    ({"from": "2026-01-01", "to": "2026-01-02", "department": "nowhere"}, "department", "اختر إدارة من القائمة"),
])
@pytest.mark.parametrize("path", ["/stats/", "/stats/export/governorates.csv", "/stats/export/types.xlsx"])
def test_bad_ranges_are_refused_in_arabic(auth, client, path, query, field, message):
    auth.login("supervisor1")
    response = client.get(path, query_string=query)
    assert response.status_code == 422 and response.mimetype == "text/html"
    error = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', response.text)
    assert error and message in error.group(1), response.text
    assert 'role="alert"' in response.text
    assert "governorates-table" not in response.text and "<svg" not in response.text


def test_english_page(days, auth, client):
    auth.login("supervisor1")
    client.post("/language", data={"lang": "en", "csrf_token": csrf_token(client, "/stats/"), "next": "/stats/"})
    page = client.get("/stats/", query_string=args(days)).text
    assert '<html lang="en" dir="ltr">' in page
    assert cells(page, "governorates-table")[1] == ("Doha", "2", "0", "0", "0")
    assert "Requests received" in page and "Download as CSV" in page
    response = client.get("/stats/export/governorates.xlsx", query_string=args(days))
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    assert not sheet.sheet_view.rightToLeft
    assert next(sheet.iter_rows(values_only=True))[:2] == ("Governorate", "Requests received")


@pytest.mark.parametrize("path", ["/stats/", "/stats/export/governorates.csv"])
def test_clerks_may_not_and_strangers_sign_in_first(auth, client, path):
    assert client.get(path).status_code == 302 and "/login" in client.get(path).headers["Location"]
    auth.login("health1")
    assert client.get(path).status_code == 403


def test_table_export_keeps_text_as_text_and_types_as_types(ctx):
    """The generic export: a name that looks like a formula stays text; dates and Decimals keep their type."""
    table = Table("=HYPERLINK(1)", ["name", "day", "amount"],
                  [["=1+1", dt.date(2026, 3, 1), Decimal("12.50")], ["-3", None, 4]])
    rows = list(csv.reader(io.StringIO(export.to_csv(table).decode("utf-8-sig"))))
    assert rows == [["name", "day", "amount"], ["'=1+1", "2026-03-01", "12.50"], ["'-3", "", "4"]]
    sheet = openpyxl.load_workbook(io.BytesIO(export.to_xlsx(table))).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[1] == ("=1+1", dt.datetime(2026, 3, 1), 12.5) and values[2] == ("-3", None, 4)
    assert sheet.cell(2, 1).data_type == "s"
    assert export.safe_file_name('../x"; y\r\nz', "csv") == "x-y-z.csv"
    with pytest.raises(ValueError):
        Table("t", ["a", "b"], [["only one"]])
