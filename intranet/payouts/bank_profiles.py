"""The banks' CSV layouts: which columns, delimiter, encoding and header a bank's bulk-upload file has.

They are data (issue 20, table `bank_profile`, model `BankLayout`): administrators edit them on the reference data
pages (`admin/bank_layouts.py`), a batch names its layout by code, and the export reads it from the database
(`get`). Upgrading to migration 0032 imported what INTRANET_PAYOUT_BANK_PROFILES held (`parse`; empty: the two
built-in layouts); the setting is still checked when the configuration is loaded, and read by nothing else.

ONE rule says what a layout may be (`problems`): the editor shows its answers beside each field, translated, and
`BankProfile` refuses to exist otherwise (so a wrong setting stops the start and a row read back is always valid)."""
import functools
import json
import re
from dataclasses import dataclass

from intranet.i18n import lazy_gettext as _l

from intranet import validation
from intranet.models import BankLayout

FIELDS = ("end_to_end", "beneficiary", "iban", "amount", "currency", "tracking_number", "request_type", "national_id",
          "message_id", "execution_date")
DELIMITERS = (",", ";", "\t", "|")
ENCODINGS = ("utf-8-sig", "utf-8")  # with the BOM, Excel and most bank portals read Arabic right
# a layout's code: what a batch records (`PayoutBatch.bank`, 30 characters) and the setting's keys were
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,29}")
LABEL_MAX = 200


def problems(key, label, columns, delimiter, encoding, header) -> dict:
    """What is wrong with a layout, by field ("code", "label", "columns", "delimiter", "encoding", "header"); empty
    when it is a layout a bank file can be written with. The messages are translated where a page shows them."""
    found = {}
    if not isinstance(key, str) or not CODE.fullmatch(key):
        found["code"] = _l("the code must be 1 to 30 Latin letters, digits, “_” or “-”, starting with a letter or "
                           "a digit")
    if not isinstance(label, str) or not label.strip():
        found["label"] = _l("label must be a text")
    elif len(label) > LABEL_MAX:
        found["label"] = _l("label has at most %(max)d characters", max=LABEL_MAX)
    elif validation.strip_controls(label) != label or "\n" in label:
        found["label"] = _l("label must not hold control characters")
    if not isinstance(columns, tuple) or not columns or not all(isinstance(c, str) for c in columns):
        found["columns"] = _l("columns must be a non-empty list of field names")
    elif unknown := [c for c in columns if c not in FIELDS]:
        found["columns"] = _l("unknown column(s) %(unknown)s; known: %(known)s",
                              unknown=", ".join(map(repr, unknown)), known=", ".join(FIELDS))
    elif twice := sorted({c for c in columns if columns.count(c) > 1}):
        found["columns"] = _l("column(s) %(twice)s listed more than once", twice=", ".join(map(repr, twice)))
    if delimiter not in DELIMITERS:
        found["delimiter"] = _l("delimiter %(value)s is not one of %(known)s", value=repr(delimiter),
                                known=" ".join(map(repr, DELIMITERS)))
    if encoding not in ENCODINGS:
        found["encoding"] = _l("encoding %(value)s is not one of %(known)s", value=repr(encoding),
                               known=", ".join(ENCODINGS))
    if not isinstance(header, bool):
        found["header"] = _l("header must be true or false")
    return found


@dataclass(frozen=True)
class BankProfile:
    """A bank's CSV layout. Built only valid (`problems`): a wrong one never reaches an export."""
    key: str
    label: str
    columns: tuple
    delimiter: str = ","
    encoding: str = "utf-8-sig"
    header: bool = True

    def __post_init__(self):
        if found := problems(self.key, self.label, self.columns, self.delimiter, self.encoding, self.header):
            raise ValueError(f"bank profile {self.key!r}: {'; '.join(str(message) for message in found.values())}")

    @property
    def title(self):
        """The label in the reader's language: the built-in layouts are translated, a configured label is the
        institution's own words and shown as written."""
        return BUILT_IN_TITLES.get((self.key, self.label), self.label)


BUILT_IN_TITLES = {("generic", "Generic CSV"): _l("Generic CSV"),
                   ("bulk-semicolon", "Bulk upload (semicolon, no header)"): _l("Bulk upload (semicolon, no header)")}


DEFAULT_PROFILES = {profile.key: profile for profile in (
    BankProfile("generic", "Generic CSV", ("end_to_end", "beneficiary", "iban", "amount", "currency",
                                           "tracking_number")),
    # the shape of a typical bulk-upload template: no header row, semicolons, the account first, the batch's
    # date on every line, the beneficiary's national id for the bank's own name check
    BankProfile("bulk-semicolon", "Bulk upload (semicolon, no header)",
                ("iban", "beneficiary", "national_id", "amount", "currency", "execution_date", "end_to_end",
                 "message_id"), delimiter=";", encoding="utf-8", header=False),
)}


@functools.lru_cache(maxsize=8)
def parse(raw: str) -> dict[str, BankProfile]:
    """The PAYOUT_BANK_PROFILES setting: JSON {"key": {"label", "columns", "delimiter", "encoding", "header"}},
    or the defaults when empty. Raises ValueError naming the profile and what is wrong with it. Parsed once per
    setting (the pages ask on every request): treat the answer as read-only."""
    if not raw.strip():
        return dict(DEFAULT_PROFILES)
    try:
        specs = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"PAYOUT_BANK_PROFILES is not valid JSON: {error}") from None
    if not isinstance(specs, dict) or not specs:
        raise ValueError("PAYOUT_BANK_PROFILES must be a JSON object of profiles by key")
    profiles = {}
    for key, spec in specs.items():
        if not isinstance(spec, dict):
            raise ValueError(f"bank profile {key!r}: must be a JSON object")
        known = {"label", "columns", "delimiter", "encoding", "header"}
        if set(spec) - known:
            raise ValueError(f"bank profile {key!r}: unknown setting(s) {', '.join(sorted(set(spec) - known))}")
        columns = tuple(spec["columns"]) if isinstance(spec.get("columns"), list) else None
        profiles[key] = BankProfile(key, **{"label": key, **spec, "columns": columns})
    return profiles


# --- the layouts in the database -------------------------------------------------------------------------------

def of_row(row: BankLayout) -> BankProfile:
    return BankProfile(row.code, row.label, tuple(row.columns.split(",")) if row.columns else (), row.delimiter,
                       row.encoding, bool(row.header))


def offered() -> dict[str, BankProfile]:
    """The layouts offered for a new batch (not retired), by code, in the order they were made."""
    query = BankLayout.select().where(BankLayout.active == True).order_by(BankLayout.id)  # noqa: E712
    return {row.code: of_row(row) for row in query}


def get(code: str) -> BankProfile | None:
    """The layout a batch names, retired or not (a batch made before it was retired is still exported with it)."""
    row = BankLayout.get_or_none(BankLayout.code == code)
    return of_row(row) if row is not None else None
