"""File imports of electronic requests: a CSV or XLSX file is read into rows, each row checked by the API's own
validation (`submissions.parse_dict` and `check`), previewed, then imported by a job, one transaction per row.

Exactly once: each row's portal reference makes the request's submission token (`token_for("import", ref)`,
unique in the database), so a file imported again finds its requests ("existing") instead of making new ones.
A run claims the batch row by row: each row's transaction re-reads the batch, goes on only if `processed` is
still the row's position, and advances it with the row's inbox entry, request and counts; a run that crashed is
resumed from `processed`, and a second run started by mistake stops at its first row.
"""
import csv
import hashlib
import io
import json
import logging
import zipfile
import zlib
from dataclasses import dataclass

import filetype

from flask import current_app
from flask_babel import force_locale
from intranet.i18n import gettext as _
from peewee import fn

from intranet import paging, workflow
from intranet.auth import permissions
from intranet.db import is_sqlite, transaction
from intranet.intake.submissions import Invalid, Outcome, check, parse_dict, record, token_for
from intranet.models import Governorate, RequestType, Staff, utcnow
from intranet.models.inquiries import InquirySubject
from intranet.models.intake import ImportBatch, InboxEntry

log = logging.getLogger(__name__)

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000  # the preview runs in the upload request
# what a workbook may expand to, checked from its zip directory and a streamed scan before openpyxl reads it: a
# 400 KB file can hold one cell of 400 MB (a "zip bomb"), and openpyxl keeps every shared string in memory
MAX_EXPANDED_BYTES = 120 * 1024 * 1024  # all parts unpacked
MAX_RATIO = 200  # unpacked / packed, per part above a megabyte (real sheets: 5-20)
MAX_PARTS = 500
MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell
MAX_COLUMNS = 200
MAX_CELLS = MAX_ROWS * 40
BASE_COLUMNS = ("portal_reference", "request_type", "language", "national_id", "full_name", "phone",
                "governorate", "iban", "subject", "details", "inquiry_subject")
REQUIRED_COLUMNS = ("portal_reference", "request_type", "national_id", "full_name", "phone", "governorate")
CITIZEN_COLUMNS = ("national_id", "full_name", "phone", "governorate", "iban")
FIELD_PREFIX = "field:"
FAILED_OUTCOMES = {"rejected", "duplicate", "limited"}
UNFINISHED = ("queued", "running")
# every column but the file itself: lists and the polled progress never load a 10 MB blob
SUMMARY = [f for f in ImportBatch._meta.sorted_fields if f.name not in ("content", "report")]
WITH_REPORT = SUMMARY + [ImportBatch.report]


class FileRefused(Exception):
    """The file as a whole cannot be imported; the message says what to do instead. Nothing is stored."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = str(message)


class _Lost(Exception):
    """Another run has moved the batch on: this one stops."""


@dataclass
class Row:
    number: int  # as a spreadsheet numbers it: the header is row 1
    values: dict  # column -> text, "" when empty


# --- reading files -----------------------------------------------------------------------------------

def field_columns() -> list[str]:
    """One column per field of the open request types, in the order the types define them."""
    seen = []
    for request_type in RequestType.select().where(RequestType.active == True).order_by(RequestType.id):  # noqa: E712
        seen += [FIELD_PREFIX + spec["name"] for spec in request_type.field_list()
                 if FIELD_PREFIX + spec["name"] not in seen]
    return seen


def columns() -> list[str]:
    return list(BASE_COLUMNS) + field_columns()


def sniff(content: bytes, filename: str) -> str:
    """'csv' or 'xlsx', judged from the content (the name's extension must agree); else FileRefused."""
    if not content:
        raise FileRefused(_("The file is empty."))
    if len(content) > MAX_BYTES:
        raise FileRefused(_("The file is larger than %(mb)d MB: split it into smaller files.", mb=MAX_BYTES // 2**20))
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if content.startswith(b"PK\x03\x04"):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(content)).namelist())
        except zipfile.BadZipFile:
            names = set()
        if "xl/workbook.xml" in names and extension == "xlsx":
            return "xlsx"
    elif content.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRefused(_("This is an old Excel file (.xls): save it as .xlsx or as CSV UTF-8, then upload it."))
    elif extension == "csv" and b"\0" not in content[:4096] and filetype.guess(content[:8192]) is None:
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            raise FileRefused(_("The CSV file is not in UTF-8: save it as \"CSV UTF-8\" and upload it again.")) \
                from None
        return "csv"
    raise FileRefused(_("This is not a CSV or XLSX file. Upload a .csv file (UTF-8) or an .xlsx workbook."))


def _text(value) -> str:
    """A spreadsheet cell as the text the API would receive."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        if hasattr(value, "hour") and (value.hour, value.minute, value.second) == (0, 0, 0):
            value = value.date()
        return value.isoformat()
    return str(value).strip()


def _csv_records(content: bytes):
    text = content.decode("utf-8-sig")
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)  # Excel writes ; in locales whose decimal mark is a comma
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 0
    try:
        for number, cells in enumerate(reader, 1):
            yield number, [cell.strip() for cell in cells]
    except csv.Error:
        raise FileRefused(_("Row %(row)d of the file cannot be read as CSV.", row=number + 1)) from None


def _too_big():
    return FileRefused(_("The workbook unpacks to more than the import allows (%(mb)d MB, %(chars)s characters in "
                         "a cell, %(columns)d columns): save it as CSV UTF-8 or split it, then upload it again.",
                         mb=MAX_EXPANDED_BYTES // 2**20, chars=f"{MAX_CELL_CHARS:,}", columns=MAX_COLUMNS))


def _longest_text(part) -> int:
    """The longest run of bytes between two '<' in a streamed XML part: an upper bound of its longest cell."""
    longest = carried = 0
    while chunk := part.read(1 << 20):
        pieces = chunk.split(b"<")
        if len(pieces) == 1:
            carried += len(chunk)
        else:
            longest = max(longest, carried + len(pieces[0]), max(map(len, pieces[1:-1]), default=0))
            carried = len(pieces[-1])
        longest = max(longest, carried)
    return longest


def check_expansion(content: bytes):
    """Refuse a workbook that would unpack past the limits, before anything reads it: sizes and ratios from the
    zip directory (a part is never read past the size it declares), then each sheet and the shared strings
    streamed a megabyte at a time for a cell longer than Excel allows. Memory stays at a few megabytes."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError):
        raise FileRefused(_("The workbook cannot be read: open it in Excel, save it as .xlsx and upload it again.")) \
            from None
    if len(parts) > MAX_PARTS or sum(p.file_size for p in parts) > MAX_EXPANDED_BYTES:
        raise _too_big()
    if any(p.file_size > 2**20 and p.file_size > MAX_RATIO * max(p.compress_size, 1) for p in parts):
        raise _too_big()
    cell_bytes = MAX_CELL_CHARS * 6 + 1024  # UTF-8 and XML escapes, and the tag around it
    for part in parts:
        if part.filename.startswith(("xl/worksheets/", "xl/sharedStrings")) and part.filename.endswith(".xml"):
            try:
                with archive.open(part) as stream:
                    if _longest_text(stream) > cell_bytes:
                        raise _too_big()
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
                raise FileRefused(_("The workbook cannot be read: open it in Excel, save it as .xlsx and upload it "
                                    "again.")) from None


def xlsx_rows(content: bytes, max_columns: int = MAX_COLUMNS, max_cells: int = MAX_CELLS):
    """The first sheet's rows as (row number, [cell text]), streamed, after the workbook is measured
    (`check_expansion`); FileRefused for a damaged workbook or one wider or larger than the caps. The one way a
    workbook is read: imports and the local registries (automation/registry_files.py)."""
    from openpyxl import load_workbook

    check_expansion(content)
    book = None
    cells_read = 0
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheet = book.worksheets[0]
        if (sheet.max_column or 0) > max_columns:
            raise _too_big()
        for number, cells in enumerate(sheet.iter_rows(values_only=True), 1):
            cells_read += len(cells)
            if len(cells) > max_columns or cells_read > max_cells:
                raise _too_big()
            yield number, [_text(cell) for cell in cells]
    except FileRefused:
        raise
    except Exception:  # noqa: BLE001  openpyxl raises many kinds for a damaged workbook
        raise FileRefused(_("The workbook cannot be read: open it in Excel, save it as .xlsx and upload it again.")) \
            from None
    finally:
        if book is not None:
            book.close()


def rows(content: bytes, kind: str):
    """The file's rows as Row objects (blank rows skipped); FileRefused for a header that does not fit."""
    records = _csv_records(content) if kind == "csv" else xlsx_rows(content)
    header = None
    for number, cells in records:
        if header is None:
            header = _header(cells)
            continue
        if not any(cells):
            if number > 2 * MAX_ROWS:  # a sheet of a million empty rows compresses to a few kilobytes
                raise FileRefused(_("The file has more than %(n)s rows: split it into smaller files.",
                                    n=f"{MAX_ROWS:,}"))
            continue
        extra = [cell for cell in cells[len(header):] if cell]
        values = dict(zip(header, cells + [""] * (len(header) - len(cells))))
        if extra:
            values[""] = extra  # cells beyond the header: a row error, see row_errors
        yield Row(number, values)
    if header is None:
        raise FileRefused(_("The file is empty."))


def _header(cells) -> list[str]:
    names = [cell.strip().lower() for cell in cells]
    while names and not names[-1]:
        names.pop()
    known = set(columns())
    unknown = [name or _("(empty)") for name in names if name not in known]
    if unknown:
        raise FileRefused(_("Unknown columns: %(names)s. Use the column names of the template.",
                            names=", ".join(unknown)))
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise FileRefused(_("Columns named twice: %(names)s.", names=", ".join(repeated)))
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise FileRefused(_("Required columns are missing: %(names)s.", names=", ".join(missing)))
    return names


# --- rows to payloads ---------------------------------------------------------------------------------

def payload(row: Row) -> dict:
    """The row as the API's submission body; empty cells are left out, as a portal leaves out empty fields."""
    values = {name: value for name, value in row.values.items() if name and value}
    body = {name: values[name] for name in BASE_COLUMNS if name in values and name not in CITIZEN_COLUMNS}
    body["citizen"] = {name: values[name] for name in CITIZEN_COLUMNS if name in values}
    body["fields"] = {name[len(FIELD_PREFIX):]: value for name, value in values.items()
                      if name.startswith(FIELD_PREFIX)}
    return body


def column_of(field: str) -> str:
    """An error's field path as the file's column: citizen.phone -> phone, fields.amount -> field:amount."""
    if field.startswith("citizen."):
        return field[len("citizen."):]
    if field.startswith("fields."):
        return FIELD_PREFIX + field[len("fields."):]
    return field


def lane_error(importer, checked) -> dict | None:
    """A row of a request type the importer's department does not receive: refused (a Health clerk does not bring
    money requests into Compensation's queue). An inquiry with a subject lands in the subject's department."""
    first = workflow.first_stage(checked.request_type.id)
    lands_in = first and (checked.inquiry_subject.department_id if checked.inquiry_subject else first.department_id)
    if lands_in is None or not permissions.can_import_into(importer, lands_in):
        return {"field": "request_type",
                "message": _("You may import only requests of the types your department receives.")}
    return None


def row_errors(row: Row, importer) -> list[dict]:
    """Everything the API would refuse in this row, or `importer` may not import, by column: [{"field", "message"}]."""
    errors = []
    if row.values.get(""):
        errors.append({"field": "", "message": _("This row has more cells than the header has columns.")})
    try:
        checked = check(parse_dict(payload(row)))
    except Invalid as invalid:
        errors += [{"field": column_of(e["field"]), "message": e["message"]} for e in invalid.errors]
    else:
        if (lane := lane_error(importer, checked)) is not None:
            errors.append(lane)
    return errors


# --- preview -----------------------------------------------------------------------------------------

def preview(user, filename: str, content: bytes) -> ImportBatch:
    """Check every row of the file and keep it, with its per-row errors, as a batch to preview."""
    kind = sniff(content, filename)
    errors, total, valid, references = [], 0, 0, {}
    for row in rows(content, kind):
        total += 1
        if total > MAX_ROWS:
            raise FileRefused(_("The file has more than %(n)s rows: split it into smaller files.",
                                n=f"{MAX_ROWS:,}"))
        found = row_errors(row, user)
        reference = row.values.get("portal_reference", "")
        if reference and reference in references:
            found.append({"field": "portal_reference", "message": _(
                "This portal reference is already on row %(row)d of the file.", row=references[reference])})
        references.setdefault(reference, row.number)
        errors += [dict(e, row=row.number, reference=reference[:100], phase="preview") for e in found]
        valid += not found
    if total == 0:
        raise FileRefused(_("The file has a header but no rows."))
    with transaction():
        return ImportBatch.create(
            uploaded_by=user.id, filename=filename[:255], sha256=hashlib.sha256(content).hexdigest(),
            size=len(content), content=content, total_rows=total, valid_rows=valid,
            report=json.dumps(errors, ensure_ascii=False))


def batches_for(user):
    """The batches this person may see, newest first: a clerk their own, supervisors and administrators all."""
    query = ImportBatch.select(*SUMMARY, Staff.full_name).join(Staff, on=ImportBatch.uploaded_by)
    if not permissions.sees_every_import(user):
        query = query.where(ImportBatch.uploaded_by == user.id)
    return query.order_by(ImportBatch.id.desc())


def batches_page(user, after, size: int) -> tuple[list[ImportBatch], int | None]:
    """The batches this person may see, newest first, a page at a time, and the key of the next page."""
    return paging.page(batches_for(user), ImportBatch.id, after, size, descending=True)


def file_columns() -> dict:
    """What the page explains the file's columns with: the active request types, the governorates and the inquiry
    subjects offered."""
    return {"request_types": list(RequestType.select().where(RequestType.active == True)  # noqa: E712
                                  .order_by(RequestType.id)),
            "governorates": list(Governorate.select().order_by(Governorate.id)),
            "inquiry_subjects": list(InquirySubject.choices())}


def summary(batch_id, user) -> ImportBatch | None:
    """The batch without its file and report, if this person may see it."""
    return batches_for(user).where(ImportBatch.id == batch_id).first()


def full(batch_id) -> ImportBatch:
    """The batch with its report, without the file."""
    return ImportBatch.select(*WITH_REPORT).where(ImportBatch.id == batch_id).get()


def content_of(batch) -> bytes:
    return bytes(ImportBatch.select(ImportBatch.content).where(ImportBatch.id == batch.id).get().content)


def earlier_imports(batch) -> list[ImportBatch]:
    """Other batches of the same file (same SHA-256) that were imported or are being imported."""
    return list(ImportBatch.select(*SUMMARY).where(
        (ImportBatch.sha256 == batch.sha256) & (ImportBatch.id != batch.id)
        & ImportBatch.status.in_(("queued", "running", "done"))).order_by(ImportBatch.id).limit(5))


def error_page(batch, after_row: int = 0, size: int = 50) -> tuple[list[dict], int | None]:
    """Rows with errors after row `after_row`, `size` rows at a time: [{"row", "reference", "errors"}], next."""
    grouped = {}
    for entry in sorted(batch.report_list, key=lambda e: e["row"]):
        if entry["row"] > after_row:
            grouped.setdefault(entry["row"], {"row": entry["row"], "reference": entry.get("reference", ""),
                                              "errors": []})["errors"].append(entry)
    return paging.cut(list(grouped.values()), size, lambda group: group["row"])


def first_rows(batch, count: int = 10) -> list[tuple[Row, list[dict]]]:
    """The file's first rows as read, each with its errors from the preview."""
    errors = {}
    for entry in batch.report_list:
        if entry.get("phase") == "preview":
            errors.setdefault(entry["row"], []).append(entry)
    shown, content = [], content_of(batch)
    for row in rows(content, sniff(content, batch.filename)):
        shown.append((row, errors.get(row.number, [])))
        if len(shown) == count:
            break
    return shown


# --- the import run ----------------------------------------------------------------------------------

def queue(batch) -> bool:
    """A previewed batch is queued for import; False if it was queued already (a second click)."""
    with transaction():
        return ImportBatch.update(status="queued").where(
            (ImportBatch.id == batch.id) & (ImportBatch.status == "previewed")).execute() == 1


def unfinished() -> list[int]:
    return [b.id for b in ImportBatch.select(ImportBatch.id).where(ImportBatch.status.in_(UNFINISHED))]


def run(batch_id: int, locale: str | None = None, on_progress=None) -> dict | None:
    """Import the valid rows of a queued (or interrupted) batch, in order; None if it is not to be run."""
    with transaction():
        claimed = ImportBatch.update(status="running", started_at=fn.COALESCE(ImportBatch.started_at, utcnow())) \
            .where((ImportBatch.id == batch_id) & ImportBatch.status.in_(UNFINISHED)).execute()
    if not claimed:
        return None
    batch = full(batch_id)
    with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        try:
            _run_rows(batch, on_progress or (lambda: None))
        except _Lost:
            return None
        except FileRefused as refused:  # the file read at preview no longer reads: nothing more to do
            _finish(batch_id, "failed", {"row": 0, "field": "", "message": refused.message, "phase": "import"})
            return None
        _finish(batch_id, "done")
    done = ImportBatch.select(*SUMMARY).where(ImportBatch.id == batch_id).get()
    return {"imported": done.imported, "existing": done.existing, "failed": done.failed}


def _run_rows(batch, progress):
    invalid = {e["row"] for e in batch.report_list if e.get("phase") == "preview"}
    importer = Staff.get_by_id(batch.uploaded_by_id)
    content = content_of(batch)
    position = 0
    for row in rows(content, sniff(content, batch.filename)):
        if row.number in invalid:
            continue
        if position >= batch.processed:
            _import_row(batch.id, position, row, importer)
            progress()
        position += 1


def _claim(batch_id, position):
    """The batch, locked, if it is still ours at this position; else _Lost."""
    query = ImportBatch.select(ImportBatch.status, ImportBatch.processed).where(ImportBatch.id == batch_id)
    state = (query if is_sqlite() else query.for_update()).get()  # SQLite: the transaction holds the write lock
    if state.status != "running" or state.processed != position:
        raise _Lost()


def _import_row(batch_id, position, row, importer):
    body = payload(row)
    reference = row.values.get("portal_reference", "")
    try:
        with transaction():
            _claim(batch_id, position)
            entry = InboxEntry.create(source="import", content_type="application/json",
                                      payload=json.dumps(body, ensure_ascii=False).encode())
            outcome = _outcome(body, reference, importer)
            InboxEntry.update(status=outcome.status, response_status=outcome.http, portal_reference=reference[:100],
                              request=outcome.request.id if outcome.request is not None else None,
                              errors=json.dumps(outcome.errors, ensure_ascii=False)).where(
                InboxEntry.id == entry.id).execute()
            _count(batch_id, row, outcome)
    except _Lost:
        raise
    except Exception:  # noqa: BLE001  a fault in one row must not stop the others; the database rolled it back
        log.exception("import batch %s: row %s failed", batch_id, row.number)
        with transaction():
            _claim(batch_id, position)
            _count(batch_id, row, Outcome("rejected", 500, reference=reference, errors=[
                {"field": "", "message": _("This row could not be imported because of an internal error.")}]))


def _outcome(body, reference, importer) -> Outcome:
    """The row recorded as a submission brought in by `importer` (kept as the request's maker), or refused."""
    try:
        checked = check(parse_dict(body))
        if (lane := lane_error(importer, checked)) is not None:
            return Outcome("rejected", 422, errors=[lane], reference=reference)
        return record(checked, token_for("import", reference), entered_by=importer.id)
    except Invalid as invalid:
        return Outcome("rejected", 422, errors=invalid.errors, reference=reference)
    except workflow.WorkflowError as refused:
        return Outcome("rejected", 422, errors=[{"field": "", "message": str(refused)}], reference=reference)


def _reasons(outcome) -> list[dict]:
    if outcome.status == "duplicate":
        return [{"field": "", "message": _("This citizen already has an open request of this type: %(numbers)s.",
                                           numbers=", ".join(outcome.duplicates))}]
    return [{"field": column_of(e["field"]), "message": e["message"]} for e in outcome.errors]


def _count(batch_id, row, outcome):
    """Advance the batch by this row, in the row's transaction."""
    changes = {ImportBatch.processed: ImportBatch.processed + 1}
    if outcome.status == "accepted":
        changes[ImportBatch.imported] = ImportBatch.imported + 1
    elif outcome.status == "replayed":
        changes[ImportBatch.existing] = ImportBatch.existing + 1
    else:
        changes[ImportBatch.failed] = ImportBatch.failed + 1
        report = ImportBatch.select(ImportBatch.report).where(ImportBatch.id == batch_id).get().report_list
        reference = row.values.get("portal_reference", "")[:100]
        report += [dict(e, row=row.number, reference=reference, phase="import") for e in _reasons(outcome)]
        changes[ImportBatch.report] = json.dumps(report, ensure_ascii=False)
    ImportBatch.update(changes).where(ImportBatch.id == batch_id).execute()


def _finish(batch_id, status, problem=None):
    with transaction():
        changes = {"status": status, "finished_at": utcnow()}
        if problem:
            report = full(batch_id).report_list + [problem]
            changes["report"] = json.dumps(report, ensure_ascii=False)
        ImportBatch.update(changes).where((ImportBatch.id == batch_id) & (ImportBatch.status == "running")).execute()
