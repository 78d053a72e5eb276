"""The banks' CSV layouts administrators edit (issue 20), with the rest of the reference data: code, label, columns,
delimiter, encoding, header row, and whether the layout is offered for new batches.

What a layout may be is ONE rule (`payouts/bank_profiles.problems`), the same that checked the setting they were
imported from; here come the form's own refusals (a code already used, nothing left to offer) and the records. A
layout a payout batch names is never deleted (the batch is exported with it, and its files name it): it is retired
instead. Every change is recorded (`changes.record`) in its transaction; a refusal changes nothing."""
import re

from intranet.i18n import lazy_gettext as _l
from peewee import IntegrityError

from intranet import paging
from intranet.admin import changes
from intranet.admin.reference import Refused
from intranet.db import transaction
from intranet.models import BankLayout, PayoutBatch
from intranet.payouts import bank_profiles

SUBJECT = "bank_profile"
PAGE_SIZE = 100
# the form's names for the delimiters (a tab cannot be typed in a select's value)
DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}
DELIMITER_LABELS = {"comma": _l("Comma (,)"), "semicolon": _l("Semicolon (;)"), "tab": _l("Tab"),
                    "pipe": _l("Vertical bar (|)")}
COLUMNS_MAX = 400  # characters typed in the columns field


def page(after=None):
    return paging.page(BankLayout.select(), BankLayout.id, after, PAGE_SIZE)


def row_or_none(row_id: int) -> BankLayout | None:
    return BankLayout.get_or_none(BankLayout.id == row_id)


def delimiter_name(delimiter: str) -> str:
    return next((name for name, value in DELIMITERS.items() if value == delimiter), "")


def as_dict(row: BankLayout) -> dict:
    """What the administration history records of a layout."""
    return {"code": row.code, "label": row.label, "columns": row.columns.split(","), "delimiter": row.delimiter,
            "encoding": row.encoding, "header": bool(row.header), "active": bool(row.active)}


def typed(row: BankLayout) -> dict:
    """The edit form's values for a layout."""
    return {"code": row.code, "label": row.label, "columns": ", ".join(row.columns.split(",")),
            "delimiter": delimiter_name(row.delimiter), "encoding": row.encoding,
            "header": "1" if row.header else "", "active": "1" if row.active else ""}


def _ticked(form, name) -> bool:
    return form.get(name) in ("1", "on", "y")


def read(form, row: BankLayout | None = None) -> dict:
    """The layout's values from the form, checked by the one rule; `row`: the layout edited (its code stays)."""
    raw = lambda name: form.get(name) if isinstance(form.get(name), str) else ""  # noqa: E731
    code = row.code if row is not None else raw("code").strip()
    columns = tuple(column.lower() for column in re.split(r"[\s,،;]+", raw("columns")[:COLUMNS_MAX]) if column)
    delimiter = DELIMITERS.get(raw("delimiter"), raw("delimiter")[:10])
    values = {"code": code, "label": raw("label").strip(), "columns": columns, "delimiter": delimiter,
              "encoding": raw("encoding")[:30], "header": _ticked(form, "header")}
    errors = {field: message for field, message in bank_profiles.problems(
        values["code"], values["label"], columns, delimiter, values["encoding"], values["header"]).items()}
    if row is None and "code" not in errors and BankLayout.select().where(BankLayout.code == code).exists():
        errors["code"] = _l("The code %(code)s is already used by another bank file layout.", code=code)
    if errors:
        raise Refused(errors)
    values["columns"] = ",".join(columns)
    values["active"] = _ticked(form, "active")
    return values


def _keep_one_offered(leaving_id: int, field: str) -> None:
    """Refused when the layout leaving the offer (retired or deleted) is the last one offered: no batch could be
    made. Inside the caller's transaction."""
    others = BankLayout.select().where((BankLayout.active == True) & (BankLayout.id != leaving_id))  # noqa: E712
    if not others.exists():
        raise Refused({field: _l("At least one bank file layout must stay offered for new batches.")})


def create(actor, form) -> BankLayout:
    values = read(form)
    try:
        with transaction():
            row = BankLayout.create(**values)
            changes.record(actor, SUBJECT, row.code, None, as_dict(row))
    except IntegrityError:  # the same code made at the same moment by someone else
        raise Refused({"code": _l("The code %(code)s is already used by another bank file layout.",
                                  code=values["code"])}) from None
    return row


def update(actor, row: BankLayout, form) -> BankLayout:
    values = read(form, row)
    with transaction():
        fresh = BankLayout.get_by_id(row.id)
        if fresh.active and not values["active"]:
            _keep_one_offered(row.id, "active")
        BankLayout.update(**values).where(BankLayout.id == row.id).execute()
        saved = BankLayout.get_by_id(row.id)
        if as_dict(fresh) != as_dict(saved):
            changes.record(actor, SUBJECT, row.code, as_dict(fresh), as_dict(saved))
    return saved


def used(row: BankLayout) -> bool:
    """Whether a payout batch names the layout (its files were or will be written with it)."""
    return PayoutBatch.select().where(PayoutBatch.bank == row.code).exists()


def delete(actor, row: BankLayout) -> None:
    """Delete a layout no batch names; else Refused, saying to retire it instead."""
    with transaction():
        if used(row):
            raise Refused({"": _l("The layout %(code)s cannot be deleted: payout batches were made with it. Retire "
                                  "it instead (untick “Offered for new batches”).", code=row.code)})
        fresh = BankLayout.get_or_none(BankLayout.id == row.id)
        if fresh is None:
            return
        if fresh.active:
            _keep_one_offered(row.id, "")
        BankLayout.delete().where(BankLayout.id == row.id).execute()
        changes.record(actor, SUBJECT, row.code, as_dict(fresh), None)
