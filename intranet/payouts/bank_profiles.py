"""The banks' CSV layouts (INTRANET_PAYOUT_BANK_PROFILES): which columns, delimiter, encoding and header a bank's
bulk-upload file has. Parsed and checked when the configuration is loaded (`config.load` calls `parse`), so a wrong
layout stops the start, never an export."""
import functools
import json
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

FIELDS = ("end_to_end", "beneficiary", "iban", "amount", "currency", "tracking_number", "request_type", "national_id",
          "message_id", "execution_date")
DELIMITERS = (",", ";", "\t", "|")
ENCODINGS = ("utf-8-sig", "utf-8")  # with the BOM, Excel and most bank portals read Arabic right


@dataclass(frozen=True)
class BankProfile:
    """A bank's CSV layout. Built only valid: the settings are checked when the app starts, not at export."""
    key: str
    label: str
    columns: tuple
    delimiter: str = ","
    encoding: str = "utf-8-sig"
    header: bool = True

    def __post_init__(self):
        problem = None
        unknown = [c for c in self.columns if c not in FIELDS] if isinstance(self.columns, tuple) else None
        if unknown is None or not self.columns:
            problem = "columns must be a non-empty list of field names"
        elif unknown:
            problem = f"unknown column(s) {', '.join(map(repr, unknown))}; known: {', '.join(FIELDS)}"
        elif self.delimiter not in DELIMITERS:
            problem = f"delimiter {self.delimiter!r} is not one of {' '.join(map(repr, DELIMITERS))}"
        elif self.encoding not in ENCODINGS:
            problem = f"encoding {self.encoding!r} is not one of {', '.join(ENCODINGS)}"
        elif not isinstance(self.header, bool) or not isinstance(self.label, str):
            problem = "header must be true or false and label a text"
        if problem:
            raise ValueError(f"bank profile {self.key!r}: {problem}")

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
