"""The files the import pages hand out: the empty templates (CSV and XLSX), the failed rows of a batch, and a
synthetic sample file for the demo and the tests."""
import csv
import io
import zlib

from stdnum import luhn

from intranet.intake import imports

# a cell a spreadsheet would run as a formula: written with a leading apostrophe in files we hand out
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(value: str) -> str:
    return "'" + value if value and value.startswith(FORMULA_START) else value


def _csv(header, records) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(records)
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8


def _xlsx(header, records) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet("requests")
    titles = []
    for name in header:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = Font(bold=True)
        titles.append(cell)
    sheet.append(titles)
    for record in records:
        sheet.append(record)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def template(kind: str) -> bytes:
    """An empty file with every column the import reads, CSV (UTF-8 with BOM) or XLSX."""
    header = imports.columns()
    return _csv(header, []) if kind == "csv" else _xlsx(header, [])


def failed_rows(batch) -> bytes:
    """The rows of a batch that were not imported, as they were in the file, with the row number and the reasons
    first: correct them and upload this file again (the rows already imported are not in it)."""
    reasons = {}
    for entry in batch.report_list:
        column = f"{entry['field']}: " if entry.get("field") else ""
        reasons.setdefault(entry["row"], []).append(column + entry["message"])
    content = imports.content_of(batch)
    records, header = [], None
    for row in imports.rows(content, imports.sniff(content, batch.filename)):
        header = header or [name for name in row.values if name]
        if row.number in reasons:
            records.append([str(row.number), " | ".join(reasons[row.number])]
                           + [_safe(row.values.get(name, "")) for name in header])
    return _csv(["row", "errors"] + (header or []), records)


def national_id(n: int, prefix: str = "") -> str:
    """A valid national ID per (prefix, n): two sample files of different prefixes are different citizens."""
    body = f"3{zlib.crc32(prefix.encode()) % 1000:03d}{n % 1_000_000:06d}"
    return body + luhn.calc_check_digit(body)


def sample_rows(count: int, start: int = 1, prefix: str = "IMP") -> list[dict]:
    """`count` valid rows of three request types, each for a citizen of its own (no duplicate, no daily limit)."""
    kinds = [
        {"request_type": "health_care", "field:amount": "1250.500", "field:invoice_number": "INV-{n}",
         "subject": "منحة علاج"},
        {"request_type": "pension", "field:employer": "وزارة العمل", "field:service_years": "{years}"},
        {"request_type": "inquiry", "subject": "استفسار عن موعد", "details": "متى يصدر القرار؟"},
    ]
    made = []
    for n in range(start, start + count):
        row = {"portal_reference": f"{prefix}-{n:06d}", "language": "ar" if n % 4 else "en",
               "national_id": national_id(n, prefix), "full_name": "مريم خالد النعيمي" if n % 2 else "Sara Ali Hassan",
               "phone": f"+974{55000000 + n % 1000000:08d}", "governorate": ("doha", "rayyan", "wakrah")[n % 3]}
        for name, value in kinds[n % len(kinds)].items():
            row[name] = value.format(n=n, years=5 + n % 30)
        made.append(row)
    return made


def sample(count: int = 20, bad: int = 0, kind: str = "csv", start: int = 1, prefix: str = "IMP") -> bytes:
    """A sample file: `count` rows of which the last `bad` carry mistakes (national ID, type, missing field)."""
    made = sample_rows(count, start, prefix)
    mistakes = [{"national_id": "12345"}, {"request_type": "no_such_type"}, {"full_name": ""}]
    for i, row in enumerate(made[count - bad:]):
        row.update(mistakes[i % len(mistakes)])
    header = imports.columns()
    records = [[row.get(name, "") for name in header] for row in made]
    return _csv(header, records) if kind == "csv" else _xlsx(header, records)
