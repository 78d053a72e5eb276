"""The payouts' audit trail for supervisors and administrators: the entries, newest first, and a check of the chain."""
import json
from dataclasses import dataclass

from flask import Blueprint, current_app
from flask_babel import format_number
from intranet.i18n import lazy_gettext as _l

from intranet import params
from intranet.auth import guard, permissions
from intranet.htmx import render
from intranet.i18n import locale_code
from intranet.models.payouts import AuditEntry
from intranet.payouts import audit
from intranet.payouts.labels import FILE_LABELS, format_amount

bp = Blueprint("audit", __name__, url_prefix="/payouts/audit")
PAGE_SIZE = 50


# Supervisors and administrators read the audit trail (a payout delegate does not: issue 18).
guard.only(bp, permissions.can_see_payout_records)


# what each detail of an entry is called, in the reader's language (the keys are what `audit.append` was given)
DETAIL_LABELS = {
    "request": _l("Request"), "amount": _l("Amount"), "currency": _l("Currency"), "iban": _l("IBAN"),
    "duplicates": _l("Possible duplicate of payouts"), "approvals_needed": _l("Approvals needed"),
    "replaces": _l("Replaces the rejected payout"), "approvals": _l("Approvals given"),
    "needed": _l("Approvals needed"), "override_reason": _l("Reason to approve a possible duplicate"),
    "reason": _l("Reason"), "citizen": _l("Citizen"), "old": _l("Old IBAN"), "new": _l("New IBAN"),
    "change": _l("IBAN change"), "approvals_voided": _l("Approvals voided"), "batch": _l("Batch"),
    "kind": _l("File"), "sha256": "SHA-256", "end_to_end": _l("End-to-end reference"),
    "bank_return": _l("Bank return file"), "filename": _l("File name"), "lines": _l("Lines"), "paid": _l("Paid"),
    "failed": _l("Failed"), "already": _l("Already recorded"), "unknown": _l("Unknown references"),
    "conflicts": _l("Conflicts"), "paid_total": _l("Paid in all"), "failed_total": _l("Failed in all"),
    "reference": _l("Reference"), "bank": _l("Bank file layout"), "count": _l("Payouts"), "total": _l("Total"),
    "runs": _l("Export runs"), "files": _l("Files"), "sum": _l("Total"),
    # a decision taken under a delegation (issue 18): "A acting for B under delegation n"
    "delegation": _l("Under delegation"), "acting_for": _l("Acting for (staff number)"),
    "acting_for_name": _l("Acting for"),
}
MONEY_KEYS = {"amount", "total", "paid_total", "failed_total", "sum"}
COUNT_KEYS = {"lines", "paid", "failed", "already", "unknown", "conflicts", "count", "runs", "approvals", "needed",
              "approvals_needed", "approvals_voided"}
CODE_KEYS = {"iban", "old", "new", "sha256", "end_to_end", "reference", "request", "filename", "bank", "kind"}


@dataclass
class Detail:
    label: str
    value: str
    code: bool = False  # an IBAN, a reference, a hash: read left to right, whatever the page's direction
    title: str = ""  # the whole value, when the cell shows it shortened


def _values(key, value, currency) -> list[Detail]:
    label = str(DETAIL_LABELS.get(key, key))
    if value is None or value == "" or value == [] or value == {}:
        return []  # nothing to say: no duplicates, no override reason
    if key == "kind":
        return [Detail(label, FILE_LABELS.get(value, str(value)), True)]
    if isinstance(value, dict):  # a released batch's files: one line per file, its own details after its name
        if all(isinstance(inner, dict) for inner in value.values()):
            return [detail for k, v in value.items() for detail in _values(k, v, currency)]
        inner = [d for k, v in value.items() for d in _values(k, v, currency)]
        return [Detail(FILE_LABELS.get(key, label), _list_separator().join(f"{d.label}: {d.value}" for d in inner),
                       False, " ".join(d.title for d in inner if d.title))]
    if isinstance(value, list):
        return [Detail(label, _list_separator().join(str(item) for item in value), True)]
    if key in MONEY_KEYS:
        return [Detail(label, f"{format_amount(value, currency)} {currency}", True)]
    if key in COUNT_KEYS and isinstance(value, int):
        return [Detail(label, format_number(value))]
    if key == "sha256":
        return [Detail(label, f"{str(value)[:12]}…", True, str(value))]
    return [Detail(label, str(value), key in CODE_KEYS or isinstance(value, int))]


def _list_separator() -> str:
    return "، " if locale_code() == "ar" else ", "


def readable(entry: AuditEntry) -> list[Detail] | None:
    """The entry's details as label and value pairs in the reader's language (amounts with their currency's
    decimals); None when they are not a JSON object (a row changed behind the application's back): the page
    shows them as stored."""
    try:
        details = json.loads(entry.details or "{}")
    except ValueError:
        return None
    if not isinstance(details, dict):
        return None
    currency = details.get("currency") or current_app.config["CURRENCY"]
    keys = [key for key in details if key != "currency"]  # said with each amount
    return [detail for key in keys for detail in _values(key, details[key], currency)]


def _page(verdict=None):
    entries, next_before = audit.entries_page(params.arg_id("before"), PAGE_SIZE)
    return render("payouts/audit.html", entries=entries, next_before=next_before, verdict=verdict,
                  readable=readable, REASONS=audit.EXPLAINED)


@bp.get("/")
def index():
    """The audit trail, newest entry first, a page at a time."""
    return _page()


@bp.post("/verify")
def verify():
    """Walk the whole chain and say whether it is intact, or where it breaks."""
    return _page(audit.verify())
