"""A local registry loaded from a file (issue 17): CSV (UTF-8) or XLSX, a header row naming `national_id` and the
fact columns, one person per row. Cells become facts: yes/no/true/false/1/0 (Arabic نعم/لا too) booleans, numbers,
else text; an empty cell is no fact. Loading replaces each person's facts (one row per registry and national ID)
and leaves the others. A workbook is measured before it is read (intake.imports.check_expansion) and read
streaming (openpyxl read_only)."""
import csv
import io
import json
import re

from intranet.i18n import lazy_gettext as _l
from peewee import EXCLUDED, fn

from intranet.db import transaction
from intranet.intake.imports import FileRefused, xlsx_rows
from intranet.models import utcnow
from intranet.models.automation import RegistryRecord

MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 500_000
MAX_COLUMNS = 50
BATCH = 500
_TRUE = {"yes", "true", "1", "نعم"}
_FALSE = {"no", "false", "0", "لا"}
_COLUMN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_ID = re.compile(r"^[0-9]{5,20}$")


def fact_value(text: str):
    """A cell as a fact: bool, int, float or text; None for an empty cell."""
    text = (text or "").strip()
    if not text:
        return None
    folded = text.casefold()
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    if re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    if re.fullmatch(r"-?[0-9]+\.[0-9]+", text):
        return float(text)
    return text[:500]


def _records(content: bytes, kind: str):
    if kind == "csv":
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise FileRefused(_l("The file is not UTF-8 text: save it as CSV UTF-8 and load it again.")) from None
        yield from csv.reader(io.StringIO(text))
        return
    yield from (cells for _number, cells in xlsx_rows(content, MAX_COLUMNS, MAX_ROWS * MAX_COLUMNS))


def parse(content: bytes, kind: str) -> list[tuple[str, dict]]:
    """The file's people as (national_id, facts), or FileRefused naming the first problem."""
    if len(content) > MAX_BYTES:
        raise FileRefused(_l("The file is larger than %(mb)d MB: split it.", mb=MAX_BYTES // 2**20))
    header, people, seen = None, [], set()
    for number, cells in enumerate(_records(content, kind), 1):
        if header is None:
            header = [cell.strip().lower() for cell in cells]
            while header and not header[-1]:
                header.pop()
            if "national_id" not in header:
                raise FileRefused(_l("The first row must name the columns, one of them national_id."))
            wrong = [name or "(empty)" for name in header if not _COLUMN.match(name)]
            if wrong or len(header) > MAX_COLUMNS or len(set(header)) != len(header):
                raise FileRefused(_l("Column names are lower-case Latin letters, digits and _, each once, at most "
                                     "%(max)d: %(names)s", max=MAX_COLUMNS, names=", ".join(wrong) or "-"))
            continue
        if not any((cell or "").strip() for cell in cells):
            continue
        if len(people) >= MAX_ROWS:
            raise FileRefused(_l("The file has more than %(n)s rows: split it.", n=f"{MAX_ROWS:,}"))
        values = dict(zip(header, cells))
        national_id = (values.pop("national_id", "") or "").strip()
        if not _ID.match(national_id):
            raise FileRefused(_l("Row %(row)d: the national ID is not a number.", row=number))
        if national_id in seen:
            raise FileRefused(_l("Row %(row)d: this national ID is on an earlier row too.", row=number))
        seen.add(national_id)
        facts = {name: value for name, cell in values.items() if (value := fact_value(cell)) is not None}
        people.append((national_id, facts))
    if header is None:
        raise FileRefused(_l("The file is empty."))
    return people


def kind_of(filename: str) -> str:
    name = (filename or "").lower()
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".xlsx"):
        return "xlsx"
    raise FileRefused(_l("Load a .csv or .xlsx file."))


def load(code: str, content: bytes, kind: str) -> int:
    """The file's people written into registry `code` (their facts replaced); how many."""
    code = (code or "").strip()
    if not _COLUMN.match(code):
        raise FileRefused(_l("Name the registry in lower-case Latin letters, digits and _."))
    people = parse(content, kind)
    now = utcnow()
    conflict = {"conflict_target": [RegistryRecord.registry, RegistryRecord.national_id],
                "update": {RegistryRecord.facts: EXCLUDED.facts, RegistryRecord.loaded_at: EXCLUDED.loaded_at}}
    with transaction():
        for start in range(0, len(people), BATCH):
            rows = [{"registry": code, "national_id": national_id,
                     "facts": json.dumps(facts, ensure_ascii=False, sort_keys=True), "loaded_at": now}
                    for national_id, facts in people[start:start + BATCH]]
            RegistryRecord.insert_many(rows).on_conflict(**conflict).execute()
    return len(people)



def summary() -> list[dict]:
    """Each local registry: its code, how many people it holds and when it was last loaded."""
    rows = (RegistryRecord.select(RegistryRecord.registry, fn.COUNT(RegistryRecord.id).alias("people"),
                                  fn.MAX(RegistryRecord.loaded_at).alias("loaded_at"))
            .group_by(RegistryRecord.registry).order_by(RegistryRecord.registry).dicts())
    return [{"code": row["registry"], "people": row["people"], "loaded_at": row["loaded_at"]} for row in rows]
