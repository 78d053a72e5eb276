"""File imports stay in their lane: a clerk imports only the request types their department receives, the importer
is the request's maker (four eyes on its payout), and a small workbook that would unpack to hundreds of megabytes is
refused before anything reads it, quickly and in little memory."""
import io
import os
import time
import tracemalloc
import zipfile

import pytest

from intranet import workflow
from intranet.intake import import_files, imports
from intranet.models import Request, Staff
from intranet.models.intake import ImportBatch
from intranet.models.payouts import PayoutParty
from tests.conftest import csrf_token
from tests.factories import make_staff
from tests.test_imports import batch, batch_id_of, count, run, sample, upload


def _rows_of(data, code, n=2, prefix="LANE"):
    """A CSV of `n` valid rows, all of request type `code`."""
    with data():
        made = [row for row in import_files.sample_rows(n * 3, prefix=prefix) if row["request_type"] == code][:n]
        header = imports.columns()
        return import_files._csv(header, [[row.get(name, "") for name in header] for row in made])


def _health_row_with_amount(data):
    with data():
        row = next(r for r in import_files.sample_rows(3, prefix="MAKER") if r["request_type"] == "health_care")
        header = imports.columns()
        return import_files._csv(header, [[row.get(name, "") for name in header]])


def test_a_clerk_imports_only_the_types_their_department_receives(client, auth, data):
    auth.login("health1")  # Health Affairs receives health-care grants, not compensation or pensions
    content = sample(data, 6)  # health_care, pension and inquiry rows
    batch_id = batch_id_of(upload(client, content))
    found = batch(data, batch_id)
    lanes = [e for e in found.report_list if e["field"] == "request_type"]
    assert found.valid_rows == 2 and len(lanes) == 4  # rows 1 and 4 (n % 3 == 1: health_care) only
    assert {e["message"] for e in lanes} == {"لا يمكنك استيراد إلا طلبات الأنواع التي يستقبلها قسمك."}
    run(client, batch_id)
    done = batch(data, batch_id)
    assert (done.imported, done.failed) == (2, 0)
    with data():
        assert {r.request_type.code for r in Request.select()} == {"health_care"}


def test_the_import_refuses_at_run_time_what_the_importer_may_no_longer_import(client, auth, data):
    """Each row is checked again when it is imported, against the person who uploaded it (their department may
    have changed since the preview)."""
    auth.login("comp1")
    batch_id = batch_id_of(upload(client, _rows_of(data, "pension")))  # Retirement's type
    with data():
        clerk = Staff.get(Staff.username == "comp1")
        assert ImportBatch.get_by_id(batch_id).uploaded_by_id == clerk.id
        # the preview already refused the rows; force them into the run to prove the run checks again
        ImportBatch.update(report="[]", valid_rows=2).where(ImportBatch.id == batch_id).execute()
    run(client, batch_id)
    done = batch(data, batch_id)
    assert (done.imported, done.failed) == (0, 2)
    assert {e["field"] for e in done.report_list} == {"request_type"}
    assert count(data, Request) == 0


def test_the_importer_is_recorded_and_may_not_approve_the_payout(client, auth, data):
    auth.login("supervisor1")
    batch_id = batch_id_of(upload(client, _health_row_with_amount(data)))
    run(client, batch_id)
    with data():
        supervisor = Staff.get(Staff.username == "supervisor1")
        req = Request.get()
        assert req.entered_by_id == supervisor.id and req.channel == "electronic"
        from intranet.payouts import service as payouts
        staff = {"health": make_staff("h1", "clerk", "health"), "comp": make_staff("c1", "clerk", "compensation")}
        while req.status != "completed":  # through every stage: its payout is made
            clerk = staff["health"] if req.department.code == "health" else staff["comp"]
            if req.stage.role == "head":  # the head's approval is the head's
                clerk = Staff.get_or_none(Staff.username == "head-t") or make_staff("head-t", "head", None)
            workflow.claim(clerk, req, req.version)
            req = Request.get_by_id(req.id)
            req = workflow.accept(clerk, req, req.version).request
        payout = req.payouts.get()
        assert PayoutParty.select().where((PayoutParty.payout == payout.id)
                                          & (PayoutParty.staff == supervisor.id)).exists()
        assert payouts.refusal(supervisor, payout) is not None  # the importer is a maker: four eyes


# --- workbooks that unpack to too much -----------------------------------------------------------------

def _workbook_with_subject(chunks) -> bytes:
    """A real workbook (header and one row) whose row's subject cell is written from `chunks` straight into the
    sheet's XML: openpyxl itself would cut a cell at Excel's limit, an attacker's tool does not."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(imports.BASE_COLUMNS)
    book.active.append(["REF-1", "inquiry", "ar", "30000000006", "X", "+97455000000", "doha", "", "CELL", ""])
    plain = io.BytesIO()
    book.save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as made:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename != "xl/worksheets/sheet1.xml":
                made.writestr(info, content)
                continue
            before, after = content.split(b"CELL")
            with made.open(info.filename, "w", force_zip64=True) as part:
                part.write(before)
                for chunk in chunks:
                    part.write(chunk)
                part.write(after)
    return out.getvalue()


@pytest.fixture(scope="module")
def bomb():
    """One cell of 400 MB of text: about 400 KB packed."""
    block = b"A" * (1 << 20)
    return _workbook_with_subject(block for _ in range(400))


def test_a_workbook_bomb_is_refused_fast_in_little_memory(bomb):
    assert len(bomb) < 1_000_000  # a small file...
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(imports.FileRefused) as refused:
            list(imports.rows(bomb, "xlsx"))
        elapsed = time.perf_counter() - started
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "unpacks to more than the import allows" in refused.value.message
    assert elapsed < 1.0, elapsed
    assert peak < 150 * 2**20, peak


def test_a_cell_longer_than_excel_allows_is_refused_before_reading():
    content = _workbook_with_subject([os.urandom(300_000).hex().encode()])  # random text: a normal packing ratio
    tracemalloc.start()
    try:
        with pytest.raises(imports.FileRefused):
            imports.check_expansion(content)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, peak


def test_a_normal_workbook_passes_the_limits(data):
    content = sample(data, 30, kind="xlsx")
    imports.check_expansion(content)
    assert len(list(imports.rows(content, "xlsx"))) == 30


def test_the_upload_page_refuses_the_bomb_and_stores_nothing(client, auth, data, bomb):
    auth.login("supervisor1")
    client.post("/language", data={"lang": "en", "csrf_token": csrf_token(client, "/"), "next": "/"})
    answer = upload(client, bomb, "portal.xlsx")
    assert answer.status_code == 422
    assert "The workbook unpacks to more than the import allows" in answer.text
    assert count(data, ImportBatch) == 0
