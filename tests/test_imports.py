"""File imports of electronic requests: reading CSV and XLSX, the preview and its per-row errors, the import run
(exactly once, resumable), refused files, who may do what, and the polled progress."""
import csv
import io
import json
import re
import time

import pytest
from openpyxl import load_workbook

from intranet.intake import import_files, imports
from intranet.models import Request, RequestType, Staff
from intranet.models.intake import ImportBatch, InboxEntry
from tests.conftest import csrf_token
from tests.factories import make_citizen, make_request

BASE = "/imports"
IMPORTER = "supervisor1"  # imports rows of every type; a clerk imports only their department's (see test_import_limits)



def _english(client):
    client.post("/language", data={"lang": "en", "csrf_token": csrf_token(client, "/"), "next": "/"})


def upload(client, content, name="requests.csv"):
    return client.post(f"{BASE}/", data={"csrf_token": csrf_token(client, f"{BASE}/"),
                                         "file": (io.BytesIO(content), name)}, content_type="multipart/form-data")


def run(client, batch_id):
    return client.post(f"{BASE}/{batch_id}/run", data={"csrf_token": csrf_token(client, f"{BASE}/{batch_id}")})


def batch_id_of(response) -> int:
    assert response.status_code == 303, response.text[:2000]
    return int(re.search(r"/imports/(\d+)$", response.headers["Location"]).group(1))


def sample(data, *args, **kwargs) -> bytes:
    with data():
        return import_files.sample(*args, **kwargs)


def count(data, model, *where):
    with data():
        query = model.select()
        for condition in where:
            query = query.where(condition)
        return query.count()


def batch(data, batch_id) -> ImportBatch:
    with data():
        return imports.full(batch_id)


# --- preview ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_preview_counts_rows_and_shows_each_rows_errors(client, auth, data, kind):
    auth.login(IMPORTER)
    _english(client)
    content = sample(data, 6, bad=3, kind=kind)  # bad national ID, unknown type, missing name
    batch_id = batch_id_of(upload(client, content, f"portal.{kind}"))
    found = batch(data, batch_id)
    assert (found.status, found.total_rows, found.valid_rows) == ("previewed", 6, 3)
    assert {(e["row"], e["field"]) for e in found.report_list} == {
        (5, "national_id"), (6, "request_type"), (7, "full_name")}
    page = client.get(f"{BASE}/{batch_id}")
    assert page.status_code == 200
    for text in ("A national ID is 11 digits.", "There is no open request type with this code.",
                 "This field is required.", "Import the valid rows (3)", 'id="file-row-2"'):
        assert text in page.text
    # the file's left-to-right values isolated in their cells (the `ltr` filter)
    assert re.search(r'<tr id="file-row-2">\s*<td>2</td>\s*<td><bdi dir="ltr" class="ltr">[^<]+</bdi></td>', page.text)
    assert count(data, Request) == 0 and count(data, InboxEntry) == 0  # a preview creates nothing


def test_csv_with_or_without_bom_and_semicolons(client, auth, data):
    auth.login(IMPORTER)
    content = sample(data, 3)
    assert content.startswith(b"\xef\xbb\xbf")
    plain = content[3:]
    semicolons = "\n".join(";".join(row) for row in csv.reader(io.StringIO(plain.decode()))).encode()
    for variant in (content, plain, semicolons):
        found = batch(data, batch_id_of(upload(client, variant)))
        assert (found.total_rows, found.valid_rows) == (3, 3), found.report_list


def test_repeated_reference_and_extra_cells_are_row_errors(client, auth, data):
    auth.login(IMPORTER)
    text = sample(data, 2).decode("utf-8-sig").splitlines()
    text.append(text[1])  # row 4 repeats row 2
    text.append(text[2] + ",surplus")
    found = batch(data, batch_id_of(upload(client, "\n".join(text).encode())))
    messages = {(e["row"], e["field"]): e["message"] for e in found.report_list}
    assert "في الصف 2" in messages[(4, "portal_reference")]  # the uploader works in Arabic: "already on row 2"
    assert (5, "") in messages and (5, "portal_reference") in messages
    assert found.valid_rows == 2


@pytest.mark.parametrize("content, name, message", [
    ("portal_reference,request_type\nA,b\n".encode("cp1256") + "مريم".encode("cp1256"), "x.csv",
     "not in UTF-8"),
    (b"%PDF-1.4\n1 0 obj <<>> endobj\n", "x.csv", "not a CSV or XLSX file"),
    (b"%PDF-1.4\n1 0 obj <<>> endobj\n", "x.pdf", "not a CSV or XLSX file"),
    (b"PK\x03\x04not really a zip", "x.xlsx", "not a CSV or XLSX file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "x.xls", "old Excel file"),
    (b"portal_reference,request_type,national_id,full_name,phone,governorate,colour\n1,2,3,4,5,6,7\n", "x.csv",
     "Unknown columns: colour"),
    (b"portal_reference,request_type,full_name\nA,inquiry,Sara\n", "x.csv",
     "Required columns are missing: national_id, phone, governorate"),
    (b"", "x.csv", "The file is empty."),
    (b"portal_reference,request_type,national_id,full_name,phone,governorate\n", "x.csv", "no rows"),
])
def test_a_file_that_cannot_be_read_is_refused_whole(client, auth, data, content, name, message):
    auth.login(IMPORTER)
    _english(client)
    answer = upload(client, content, name)
    assert answer.status_code == 422
    assert message in answer.text and "The file was refused and nothing was kept." in answer.text
    assert count(data, ImportBatch) == 0


def test_csv_content_disguised_as_xlsx_and_no_file_are_refused(client, auth, data):
    auth.login(IMPORTER)
    _english(client)
    assert "not a CSV or XLSX file" in upload(client, sample(data, 2), "x.xlsx").text
    answer = client.post(f"{BASE}/", data={"csrf_token": csrf_token(client, f"{BASE}/")})
    assert answer.status_code == 422 and "Choose the file to check." in answer.text
    assert count(data, ImportBatch) == 0


def test_too_many_rows_is_refused(client, auth, data, monkeypatch):
    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    auth.login(IMPORTER)
    _english(client)
    answer = upload(client, sample(data, 4))
    assert answer.status_code == 422 and "more than 3 rows" in answer.text
    assert count(data, ImportBatch) == 0


# --- the import ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_import_creates_exactly_the_valid_rows_and_again_nothing(client, auth, data, kind):
    auth.login(IMPORTER)
    _english(client)
    content = sample(data, 8, bad=2, kind=kind)
    first = batch_id_of(upload(client, content, f"portal.{kind}"))
    assert run(client, first).status_code == 303  # the job runs inline in the tests (Huey's immediate mode)
    done = batch(data, first)
    assert (done.status, done.processed, done.imported, done.existing, done.failed) == ("done", 6, 6, 0, 0)
    assert count(data, Request) == 6 == count(data, Request, Request.channel == "electronic")
    assert count(data, InboxEntry, InboxEntry.source == "import", InboxEntry.status == "accepted",
                 InboxEntry.request.is_null(False)) == 6
    with data():
        tokens = {r.submission_token for r in Request.select()}
        assert tokens == {f"import:IMP-{n:06d}" for n in range(1, 7)}
        entry = InboxEntry.select().order_by(InboxEntry.id).first()
        assert json.loads(bytes(entry.payload))["portal_reference"] == "IMP-000001"
    report = client.get(f"{BASE}/{first}").text
    assert "Requests created" in report and 'id="error-row-8"' in report

    again = batch_id_of(upload(client, content, f"portal.{kind}"))
    assert "This same file was imported before." in client.get(f"{BASE}/{again}").text
    run(client, again)
    repeat = batch(data, again)
    assert (repeat.status, repeat.imported, repeat.existing, repeat.failed) == ("done", 0, 6, 0)
    assert count(data, Request) == 6


def test_second_click_and_second_run_change_nothing(client, auth, data):
    auth.login(IMPORTER)
    _english(client)
    batch_id = batch_id_of(upload(client, sample(data, 3)))
    run(client, batch_id)
    answer = client.post(f"{BASE}/{batch_id}/run", data={"csrf_token": csrf_token(client, f"{BASE}/{batch_id}")},
                         follow_redirects=True)
    assert "This file is already being imported." in answer.text
    with data():
        assert imports.run(batch_id) is None  # a batch already done is not run again
    assert count(data, Request) == 3 and count(data, InboxEntry) == 3


def test_an_interrupted_run_resumes_from_processed_and_a_stale_one_stops(client, auth, data):
    auth.login(IMPORTER)
    batch_id = batch_id_of(upload(client, sample(data, 5, bad=1)))

    class Crash(Exception):
        pass

    seen = []

    def crash_after_two():
        seen.append(1)
        if len(seen) == 2:
            raise Crash()

    with data():
        imports.queue(ImportBatch.get_by_id(batch_id))
        with pytest.raises(Crash):
            imports.run(batch_id, on_progress=crash_after_two)
        stuck = imports.full(batch_id)
        assert (stuck.status, stuck.processed, stuck.imported) == ("running", 2, 2)
        # a run that lost the race finds the batch further on than it thought: it stops without writing
        with pytest.raises(imports._Lost):
            imports._import_row(batch_id, 0, next(imports.rows(imports.content_of(stuck), "csv")),
                                Staff.get_by_id(stuck.uploaded_by_id))
        assert imports.run(batch_id) == {"imported": 4, "existing": 0, "failed": 0}
    assert count(data, Request) == 4 and count(data, InboxEntry) == 4


def test_rows_refused_during_the_import_are_reported_and_downloadable(client, auth, data):
    auth.login(IMPORTER)
    _english(client)
    rows = None
    with data():
        rows = import_files.sample_rows(3)
        citizen = make_citizen(national_id=rows[0]["national_id"])
        make_request(rows[0]["request_type"], citizen=citizen)  # row 2 repeats an open request
        header = imports.columns()
        rows[2]["full_name"] = "=HYPERLINK(1)"  # refused at preview; a formula must not come back alive
        out = io.StringIO()
        csv.writer(out).writerows([header] + [[r.get(c, "") for c in header] for r in rows])
    batch_id = batch_id_of(upload(client, out.getvalue().encode()))
    run(client, batch_id)
    done = batch(data, batch_id)
    assert (done.imported, done.failed, done.valid_rows) == (1, 1, 2)
    page = client.get(f"{BASE}/{batch_id}").text
    assert "This citizen already has an open request of this type" in page
    assert count(data, InboxEntry, InboxEntry.status == "duplicate") == 1
    failed = client.get(f"{BASE}/{batch_id}/failed.csv")
    assert failed.status_code == 200 and failed.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(failed.data.decode("utf-8-sig"))))
    assert lines[0][:3] == ["row", "errors", "portal_reference"]
    assert [line[0] for line in lines[1:]] == ["2", "4"]
    assert "'=HYPERLINK(1)" in lines[2]


def test_templates_have_every_column(client, auth, data):
    auth.login(IMPORTER)
    with data():
        columns = imports.columns()
    assert "field:amount" in columns and "field:service_years" in columns
    text = client.get(f"{BASE}/template.csv")
    assert text.data.startswith(b"\xef\xbb\xbf") and text.data.decode("utf-8-sig").strip() == ",".join(columns)
    book = load_workbook(io.BytesIO(client.get(f"{BASE}/template.xlsx").data), read_only=True)
    assert [c for c in next(book.worksheets[0].iter_rows(values_only=True))] == columns
    page = client.get(f"{BASE}/").text
    assert "health_care" in page and "field:invoice_number" in page and "doha" in page


# --- progress ------------------------------------------------------------------------------------------

def test_progress_polls_while_running_and_stops_when_done(client, auth, data):
    auth.login(IMPORTER)
    batch_id = batch_id_of(upload(client, sample(data, 4)))
    with data():
        ImportBatch.update(status="running", processed=1).where(ImportBatch.id == batch_id).execute()
    fragment = client.get(f"{BASE}/{batch_id}/status", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "HX-Request" in fragment.headers["Vary"]
    assert fragment.text.lstrip().startswith('<div id="import-status"') and "<html" not in fragment.text
    assert 'hx-trigger="every 1s"' in fragment.text and 'value="1"' in fragment.text and 'max="4"' in fragment.text
    page = client.get(f"{BASE}/{batch_id}")
    assert 'hx-trigger="every 1s"' in page.text and "<html" in page.text
    with data():
        ImportBatch.update(status="done", processed=4, imported=4).where(ImportBatch.id == batch_id).execute()
    fragment = client.get(f"{BASE}/{batch_id}/status", headers={"HX-Request": "true"})
    assert "hx-trigger" not in fragment.text and 'id="report-totals"' in fragment.text
    assert client.get(f"{BASE}/{batch_id}/status").status_code == 303  # not htmx: the whole page


# --- who may import ------------------------------------------------------------------------------------

def test_only_clerks_supervisors_and_administrators_import(client, auth, data):
    assert client.get(f"{BASE}/").status_code == 302  # anonymous: sign in first
    auth.login("comp1")
    batch_id = batch_id_of(upload(client, sample(data, 2)))
    auth.logout()
    auth.login("reception1")
    for path in (f"{BASE}/", f"{BASE}/{batch_id}", f"{BASE}/{batch_id}/failed.csv", f"{BASE}/template.csv"):
        assert client.get(path).status_code == 403, path
    assert client.post(f"{BASE}/{batch_id}/run", data={"csrf_token": csrf_token(client, "/")}).status_code == 403
    auth.logout()
    auth.login("health1")  # another clerk: sees only their own files
    assert client.get(f"{BASE}/{batch_id}").status_code == 404
    assert f'batch-row-{batch_id}"' not in client.get(f"{BASE}/").text
    assert client.post(f"{BASE}/{batch_id}/run", data={"csrf_token": csrf_token(client, f"{BASE}/")}).status_code \
        == 404
    auth.logout()
    for boss in ("supervisor1", "admin1"):
        auth.login(boss)
        assert f'batch-row-{batch_id}"' in client.get(f"{BASE}/").text
        assert client.get(f"{BASE}/{batch_id}").status_code == 200
        auth.logout()
    assert count(data, Request) == 0


def test_index_lists_files_by_key_pages(client, auth, data, monkeypatch):
    from intranet.intake import file_import_views

    monkeypatch.setattr(file_import_views, "PAGE_SIZE", 2)
    auth.login(IMPORTER)
    ids = [batch_id_of(upload(client, sample(data, 1, start=n))) for n in range(3)]
    first = client.get(f"{BASE}/").text
    assert f"batch-row-{ids[2]}" in first and f"batch-row-{ids[0]}" not in first
    second = client.get(f"{BASE}/?after={ids[1]}").text
    assert f"batch-row-{ids[0]}" in second and f"batch-row-{ids[1]}" not in second


# --- a real consumer -----------------------------------------------------------------------------------

from tests.test_jobs import consumer, send  # noqa: E402,F401  (the fixture, reused)


@pytest.fixture
def queue_url(tmp_path):
    return f"sqlite:///{tmp_path / 'huey.db'}"


def test_consumer_imports_a_queued_batch(client, auth, data, consumer):  # noqa: F811 (the fixture imported above)
    from jobs.imports import run_import

    auth.login(IMPORTER)
    batch_id = batch_id_of(upload(client, sample(data, 12, bad=2)))
    with data():
        imports.queue(ImportBatch.get_by_id(batch_id))
    send(consumer, run_import.s(batch_id, "en"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and batch(data, batch_id).status != "done":
        time.sleep(0.1)
    done = batch(data, batch_id)
    assert (done.status, done.imported, done.failed) == ("done", 10, 0)
    with data():
        assert Staff.select().count() >= 1 and RequestType.select().count() > 0
    assert count(data, Request, Request.channel == "electronic") == 10
