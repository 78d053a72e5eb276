"""Words for the payouts' states and the audit trail's entries, and amounts with their currency's own decimals,
in the reader's language (templates get them as globals and the `money` filter)."""
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import flask_babel
from babel.numbers import format_decimal, get_currency_precision
from intranet.i18n import lazy_gettext as _l

AMOUNTS_KEPT = 20_000  # formatted amounts kept in each process (about 150 bytes each)

PAYOUT_STATUS_LABELS = {
    "pending": _l("Awaiting approval"), "approved": _l("Approved"), "rejected": _l("Rejected"),
    "batched": _l("In a batch"), "exported": _l("Sent to the bank"), "paid": _l("Paid"), "failed": _l("Failed"),
}
BATCH_STATUS_LABELS = {
    "draft": _l("Draft: not exported yet"), "exporting": _l("Exporting"), "released": _l("Released to the bank"),
    "cancelled": _l("Cancelled"),
}
EXPORT_PHASE_LABELS = {
    "queued": _l("Waiting for the job"), "reading": _l("Reading the batch"), "pain001": _l("Writing the pain.001"),
    "csv": _l("Writing the bank's CSV"), "xlsx": _l("Writing the finance sheet"),
    "checking": _l("Checking the pain.001 against its schema"), "done": _l("Done"), "failed": _l("Stopped"),
}
AUDIT_ACTION_LABELS = {
    "payout_created": _l("Payout made"), "payout_approved": _l("Approved"), "payout_rejected": _l("Rejected"),
    "iban_change_requested": _l("IBAN change asked for"), "iban_changed": _l("IBAN change confirmed"),
    "iban_change_refused": _l("IBAN change refused"), "batch_created": _l("Batch made"),
    "payout_batched": _l("Put in a batch"), "batch_cancelled": _l("Batch cancelled"),
    "payout_unbatched": _l("Taken out with its batch"), "export_started": _l("Export started"),
    "export_retried": _l("Export started again"), "batch_released": _l("Files released"),
    "file_downloaded": _l("File downloaded"), "bank_return_imported": _l("Bank return file imported"),
    "payout_paid": _l("Paid"), "payout_failed": _l("Failed"), "payout_put_back": _l("Put back for batching"),
}
ITEM_OUTCOME_LABELS = {"paid": _l("Paid"), "failed": _l("Failed"), "removed": _l("Removed with the batch")}
FILE_LABELS = {"pain001": "ISO 20022 pain.001 (XML)", "csv": "CSV", "xlsx": "XLSX"}  # a batch's files, by kind


def amount_pattern(amount: Decimal, currency: str) -> str:
    """The number pattern for `amount` in `currency`: its own minor units (QAR and USD 2, OMR and KWD 3, JPY 0),
    grouped; a digit beyond them (an amount computed wrong upstream) is shown, never rounded away."""
    digits = get_currency_precision(currency or "")
    extra = max(0, -amount.normalize().as_tuple().exponent - digits)
    decimals = "0" * digits + "#" * extra
    return f"#,##0.{decimals}" if decimals else "#,##0"


def format_amount(amount, currency: str, locale=None) -> str:
    """The amount as the reader reads it, without the currency code: 623,708.82 for QAR. One rule for the
    screens (the `money` filter) and the citizen's messages (`notify.wording.amount_text`). What is not a number
    (a row changed behind the application's back) is shown as it is."""
    if amount is None:
        return ""
    try:
        exact = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return str(amount)
    if not exact.is_finite():
        return str(amount)
    return _formatted(str(exact), amount_pattern(exact, currency),
                      str(locale if locale is not None else flask_babel.get_locale()))


@lru_cache(maxsize=AMOUNTS_KEPT)
def _formatted(exact: str, pattern: str, locale: str) -> str:
    """Babel takes longer to format an amount than a page takes to show it: each is formatted once (issue 21)."""
    return format_decimal(Decimal(exact), format=pattern, locale=locale)

