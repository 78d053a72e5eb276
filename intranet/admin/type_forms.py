"""The request type editor's form (issue 20): a definition read from the posted rows (fields, documents, stages,
each a numbered row; a row left empty is dropped) into the file's form, and a definition laid out as rows for the
page (its own rows, then empty ones to add). Checking is `types.refusals`, once, for every path."""
from dataclasses import dataclass, field

from intranet.admin import types

EXTRA_ROWS = 2  # empty rows under each list, to add to it; "More rows" adds MORE_ROWS more
MORE_ROWS = 3
MAX_ROWS = 60  # a posted form never makes the page build more rows than this
FIELD_KEYS = ("name", "kind", "label_ar", "label_en", "min", "max", "choices")
DOCUMENT_KEYS = ("code", "name_ar", "name_en")
STAGE_KEYS = ("code", "name_ar", "name_en", "department", "role", "budget_days")


@dataclass
class Layout:
    """What the editor shows: the definition and the number of rows of each list (theirs plus empty ones)."""
    spec: dict
    field_rows: int
    document_rows: int
    stage_rows: int
    extra: int = EXTRA_ROWS
    rows: dict = field(default_factory=dict)

    def row(self, listed: str, n: int) -> dict:
        items = self.spec.get(listed) or []
        return items[n] if n < len(items) and isinstance(items[n], dict) else {}


def layout(spec: dict, extra: int = EXTRA_ROWS) -> Layout:
    counts = {listed: min(MAX_ROWS, len(spec.get(listed) or []) + extra) for listed in ("fields", "documents", "stages")}
    return Layout(spec, counts["fields"], counts["documents"], counts["stages"], extra)


def _count(form, prefix: str) -> int:
    try:
        return max(0, min(MAX_ROWS, int(form.get(f"{prefix}_rows", "0"))))
    except ValueError:
        return 0


def _rows(form, prefix: str, keys) -> list[tuple[int, dict]]:
    rows = []
    for n in range(_count(form, prefix)):
        row = {key: form.get(f"{prefix}-{n}-{key}", "").strip() for key in keys}
        if any(row.values()):
            rows.append((n, row))
    return rows


def _order(value: str, n: int) -> tuple:
    try:
        return (int(value), n)
    except ValueError:
        return (n + 1, n)


def read(form) -> dict:
    """The definition the form describes, in the file's form (not yet checked)."""
    raw = {key: form.get(key, "").strip() for key in ("code", "name_ar", "name_en", "department", "currency")}
    raw.update(sla_days=form.get("sla_days", "").strip(), is_money=form.get("is_money") == "1",
               renewal_months=form.get("renewal_months", "").strip() or None,
               working_days=form.get("working_days") == "1", active=form.get("active", "1") == "1")
    raw["fields"] = [dict(row, required=form.get(f"field-{n}-required") == "1", choices=_choices(row["choices"]))
                     for n, row in _rows(form, "field", FIELD_KEYS)]
    raw["documents"] = [row for _n, row in _rows(form, "document", DOCUMENT_KEYS)]
    stages = [(_order(form.get(f"stage-{n}-order", ""), n), row) for n, row in _rows(form, "stage", STAGE_KEYS)]
    raw["stages"] = [row for _key, row in sorted(stages, key=lambda item: item[0])]
    return types.normalized(raw)


def _choices(text: str) -> list | None:
    """A choice's options as typed: `code|label in Arabic|label in English`, options separated by `;`."""
    if not text:
        return None
    options = []
    for option in text.split(";"):
        if option.strip():
            value, label_ar, label_en = (option.split("|") + ["", ""])[:3]
            options.append({"value": value.strip(), "label_ar": label_ar.strip(), "label_en": label_en.strip()})
    return options


def choices_text(field: dict) -> str:
    """A field's options as the form shows them (the form `_choices` reads)."""
    return "; ".join("|".join((c["value"], c["label_ar"], c["label_en"])) for c in field.get("choices") or []
                     if isinstance(c, dict))


def extra_rows(form) -> int:
    """Empty rows to show again: more when the person asked for more."""
    return MORE_ROWS + EXTRA_ROWS if form.get("action") == "more" else EXTRA_ROWS
