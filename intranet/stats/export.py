"""Any statistics table as a file: one `Table` (caption, column headings, rows) becomes a CSV or an XLSX download.

The page and the file show the same `Table`, so an exported figure is always the figure on the screen. Both files
start with the headings (no title row: a sheet can be filtered and pivoted from its first line); the caption is the
workbook's title and, cut to fit, its sheet's name. CSV is UTF-8 with a byte-order mark, which Excel needs to read
Arabic; XLSX reads right to left when the reader's language does. Text stays text in both: a name that starts with
"=" never becomes a formula.

    table = Table(caption, [heading, ...], [[cell, ...], ...], footer=[[total cell, ...]])
    return export.respond(table, "xlsx", "governorates-2026-11-01-2026-11-23")
"""
import csv
import datetime as dt
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import xlsxwriter
from flask import Response

from intranet import downloads
from intranet.i18n import text_direction

Cell = str | int | Decimal | dt.date | None
KINDS = ("csv", "xlsx")
MEDIA_TYPES = {"csv": "text/csv",  # Flask adds "; charset=utf-8"
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet would read as a formula (OWASP)
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_SHEET_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})


@dataclass(frozen=True)
class Table:
    """A table of figures: `rows` (and `footer`, the totals) hold one cell per heading; the first cell names the
    row. Cells are text, whole numbers, Decimals, dates or None (an empty cell)."""
    caption: str
    headings: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    footer: Sequence[Sequence[Cell]] = field(default=())

    def __post_init__(self):
        if any(len(row) != len(self.headings) for row in (*self.rows, *self.footer)):
            raise ValueError("every row needs one cell per heading")

    @property
    def lines(self):
        """The rows, then the footer: the file's lines after the headings."""
        return [*self.rows, *self.footer]


def safe_file_name(stem: str, kind: str) -> str:
    """A name every browser and file system keeps as it is: ASCII letters, digits, dots, dashes, underscores."""
    cleaned = _UNSAFE_NAME.sub("-", stem).strip(".-_")[:100] or "table"
    return f"{cleaned}.{kind}"


def respond(table: Table, kind: str, stem: str) -> Response:
    """The table as a download named `stem` (made safe) with the extension of `kind`, "csv" or "xlsx"."""
    if kind not in KINDS:
        raise ValueError(f"unknown export kind {kind!r}")
    body = to_csv(table) if kind == "csv" else to_xlsx(table, right_to_left=text_direction() == "rtl")
    return downloads.download(body, kind, safe_file_name(stem, kind))


def _text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv_cell(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, dt.date):
        return cell.isoformat()
    if isinstance(cell, (int, Decimal)):
        return str(cell)
    return _text(str(cell))


def to_csv(table: Table) -> bytes:
    """UTF-8 with a byte-order mark, comma-separated, CRLF line ends; dates as ISO 8601, numbers without
    grouping, so any program reads them back."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_text(str(heading)) for heading in table.headings])
    writer.writerows([_csv_cell(cell) for cell in row] for row in table.lines)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(table: Table, right_to_left: bool = False) -> bytes:
    """One sheet: bold, frozen headings, numbers as numbers, dates as dates, the footer in bold."""
    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_numbers": False,
                                         "strings_to_formulas": False, "strings_to_urls": False})
    workbook.set_properties({"title": str(table.caption)})
    bold = workbook.add_format({"bold": True})
    styles = {False: {"date": workbook.add_format({"num_format": "yyyy-mm-dd"}), "number": None, "text": None},
              True: {"date": workbook.add_format({"num_format": "yyyy-mm-dd", "bold": True}), "number": bold,
                     "text": bold}}
    sheet = workbook.add_worksheet(str(table.caption).translate(_SHEET_FORBIDDEN).strip("'")[:31] or None)
    if right_to_left:
        sheet.right_to_left()
    sheet.freeze_panes(1, 0)
    for column, heading in enumerate(table.headings):
        longest = max([len(str(heading)), *(len(_csv_cell(row[column])) for row in table.lines)])
        sheet.set_column(column, column, min(max(longest + 2, 8), 60))
    sheet.write_row(0, 0, [str(heading) for heading in table.headings], bold)
    for number, row in enumerate(table.lines, start=1):
        style = styles[number > len(table.rows)]
        for column, cell in enumerate(row):
            if cell is None:
                continue
            if isinstance(cell, dt.date):
                sheet.write_datetime(number, column, dt.datetime.combine(cell, dt.time()), style["date"])
            elif isinstance(cell, (int, Decimal)) and not isinstance(cell, bool):
                sheet.write_number(number, column, float(cell) if isinstance(cell, Decimal) else cell,
                                   style["number"])
            else:
                sheet.write_string(number, column, str(cell), style["text"])
    workbook.close()
    return out.getvalue()
