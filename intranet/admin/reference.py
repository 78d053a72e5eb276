"""Reference data administrators edit (issue 20): departments, governorates and inquiry subjects, each a row with a
code and a name in Arabic and in English (the banks' file layouts: `bank_layouts.py`; reception services and desks:
`reception/bookings.py`, linked from the same page).

The rules, checked before anything is written (a refusal names each field that is wrong and changes nothing):
a code is required, of lower-case Latin letters, digits, "_" and "-", unique within its kind, and never changed
once made (the directory's departmentNumber, the portal's governorate codes, the definitions file and the
administration history name rows by it); both names are required; an inquiry subject names a department; a row
still referenced by anything (a request, a stage, a member of staff, a citizen, a history row, a figure...) is not
deleted: the refusal says what uses it (an inquiry subject can be withdrawn instead: no longer offered). Every change
is recorded (`changes.record`) in its transaction, and this process's cached reference rows are forgotten."""
import re
from dataclasses import dataclass

from intranet.i18n import lazy_gettext as _l
from peewee import IntegrityError

from intranet import paging, reference, validation
from intranet.admin import changes
from intranet.db import transaction
from intranet.i18n import locale_code, localized
from intranet.models import Department, Governorate, InquirySubject

CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
NAME_MAX = 200
PAGE_SIZE = 100


class Refused(Exception):
    """A change that cannot be made: `errors` maps each field (or "" for the whole) to what is wrong."""

    def __init__(self, errors: dict):
        super().__init__("; ".join(str(message) for message in errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class Kind:
    code: str  # the URL part and the subject recorded in the administration history
    model: type
    title: object  # the list page's title
    one: object  # one of them, in a sentence


KINDS = {kind.code: kind for kind in (
    Kind("department", Department, _l("Departments"), _l("department")),
    Kind("governorate", Governorate, _l("Governorates"), _l("governorate")),
    Kind("inquiry_subject", InquirySubject, _l("Inquiry subjects"), _l("inquiry subject")),
)}
KIND_TITLES = {code: kind.title for code, kind in KINDS.items()}

# the words for what may still use a reference row (the table of the referring model); others: "other records"
USED_BY_LABELS = {
    "request": _l("requests"), "stage": _l("request type stages"), "staff": _l("staff"), "citizen": _l("citizens"),
    "history": _l("request history"), "inquiry_subject": _l("inquiry subjects"), "payout": _l("payouts"),
    "request_type": _l("request types"), "visitor_ticket": _l("visitor tickets"), "daily_count": _l("statistics"),
    "open_snapshot": _l("statistics"), "answer_count": _l("statistics"), "booking_service": _l("reception services"),
    "reception_desk": _l("reception desks"), "delegation": _l("delegations"),
}


def clean_text(raw, max_length: int = NAME_MAX) -> str:
    """One line of text as typed: controls and bidirectional controls removed, spaces folded, trimmed."""
    return " ".join(validation.strip_controls(raw if isinstance(raw, str) else "").split())[:max_length + 1]


def read_names(form, errors: dict) -> dict:
    """name_ar and name_en from a form: both required, at most NAME_MAX characters; problems go into `errors`."""
    values = {}
    for field, missing in (("name_ar", _l("Write the name in Arabic.")), ("name_en", _l("Write the name in English."))):
        value = clean_text(form.get(field))
        if not value:
            errors[field] = missing
        elif len(value) > NAME_MAX:
            errors[field] = _l("A name has at most %(max)d characters.", max=NAME_MAX)
        values[field] = value
    return values


def page(kind: Kind, after=None):
    """A page of the kind's rows by id, and the next page's key."""
    query = kind.model.select()
    if kind.model is InquirySubject:  # each with its department, in the same query
        query = InquirySubject.select(InquirySubject, Department).join(Department)
    return paging.page(query, kind.model.id, after, PAGE_SIZE)


def departments() -> list[Department]:
    return list(Department.select().order_by(Department.id))


def row_or_none(kind: Kind, row_id: int):
    return kind.model.get_or_none(kind.model.id == row_id)


def as_dict(kind: Kind, row) -> dict:
    values = {"code": row.code, "name_ar": row.name_ar, "name_en": row.name_en}
    if kind.model is InquirySubject:
        values.update(department=Department.get_by_id(row.department_id).code, active=bool(row.active))
    return values


def read(kind: Kind, form, row=None) -> dict:
    """The row's values from the form, checked (see the module); `row` is the row being edited (its code stays)."""
    errors = {}
    values = read_names(form, errors)
    if row is None:
        code = clean_text(form.get("code"), 40)
        if not code:
            errors["code"] = _l("Give a code: the short name other systems and the definitions file use.")
        elif not CODE.fullmatch(code):
            errors["code"] = _l("A code has at most 40 lower-case Latin letters, digits, “_” and “-”, and starts "
                                "with a letter or digit.")
        elif kind.model.select().where(kind.model.code == code).exists():
            errors["code"] = _l("The code %(code)s is already used by another %(kind)s.", code=code, kind=kind.one)
        values["code"] = code
    if kind.model is InquirySubject:
        department = Department.get_or_none(Department.id == _int(form.get("department")))
        if department is None:
            errors["department"] = _l("Choose the department that answers this subject.")
        values["department"] = department
        values["active"] = form.get("active") in ("1", "on", "y")
    if errors:
        raise Refused(errors)
    return values


def _int(raw):
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def create(actor, kind: Kind, form):
    values = read(kind, form)
    try:
        with transaction():
            row = kind.model.create(**values)
            changes.record(actor, kind.code, row.code, None, as_dict(kind, row))
    except IntegrityError:  # the same code made at the same moment by someone else
        raise Refused({"code": _l("The code %(code)s is already used by another %(kind)s.", code=values["code"],
                                  kind=kind.one)}) from None
    reference.forget()
    return row


def update(actor, kind: Kind, row, form):
    values = read(kind, form, row)
    with transaction():
        before = as_dict(kind, kind.model.get_by_id(row.id))
        kind.model.update(**values).where(kind.model.id == row.id).execute()
        saved = kind.model.get_by_id(row.id)
        changes.record(actor, kind.code, row.code, before, as_dict(kind, saved))
    reference.forget()
    return saved


def uses(kind: Kind, row) -> list[str]:
    """What still refers to the row: the words for each kind of referring record (every foreign key to the model)."""
    found = []
    for field, model in kind.model._meta.backrefs.items():
        if model.select().where(field == row.id).exists():
            label = USED_BY_LABELS.get(model._meta.table_name, _l("other records"))
            if label not in found:
                found.append(label)
    return found


def delete(actor, kind: Kind, row) -> None:
    """Delete a row nothing refers to; else Refused saying what uses it."""
    def refuse(used):
        listed = ("، " if locale_code() == "ar" else ", ").join(str(label) for label in used)
        if kind.model is InquirySubject:
            return Refused({"": _l("%(name)s cannot be deleted: it is still used by %(uses)s. Stop offering it "
                                   "instead (untick “Offered”).", name=localized(row), uses=listed)})
        return Refused({"": _l("%(name)s cannot be deleted: it is still used by %(uses)s. Rename it instead.",
                               name=localized(row), uses=listed)})

    if used := uses(kind, row):
        raise refuse(used)
    try:
        with transaction():
            before = as_dict(kind, row)
            kind.model.delete().where(kind.model.id == row.id).execute()
            changes.record(actor, kind.code, row.code, before, None)
    except IntegrityError:  # referred to since the check
        raise refuse(uses(kind, row) or [_l("other records")]) from None
    reference.forget()

