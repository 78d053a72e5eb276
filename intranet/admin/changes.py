"""The administration record (issue 20): one row per administrative change, written by the code that makes the
change, in its transaction (a change rolled back leaves no record; a record never describes what did not happen).

`record(actor, subject, key, before, after)`: `subject` names the kind of thing ("request_type", "holiday",
"department", ...), `key` the thing within it (its code, a date), `before` / `after` what it was and became as plain
dicts (None: it did not exist / no longer exists). Values that JSON has no word for (dates, decimals) are written as
text. `history` reads the page of the administration history, newest first, by key."""
import json

from intranet.i18n import lazy_gettext as _l
from peewee import JOIN

from intranet import paging
from intranet.models import AdminChange, Staff

PAGE_SIZE = 50
# the words for the subjects the administration pages record under; a subject without one is shown as its code
SUBJECT_LABELS = {
    "request_type": _l("Request type"), "holiday": _l("Public holiday"), "weekend": _l("Weekend days"),
    "department": _l("Department"), "governorate": _l("Governorate"), "inquiry_subject": _l("Inquiry subject"),
    "reception_service": _l("Reception service"), "desk": _l("Reception desk"), "bank_profile": _l("Bank profile"),
}


def _json(value):
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def record(actor, subject: str, key: str, before: dict | None, after: dict | None) -> AdminChange:
    """Write one change's row (in the caller's transaction); `actor` a Staff row, or None for a command."""
    actor_id = getattr(actor, "id", None) if actor is not None else None
    return AdminChange.create(actor=actor_id, subject=subject[:40], key=str(key)[:200],
                              before=_json(before), after=_json(after))


def subjects() -> list[str]:
    """The subjects changes were recorded under, for the page's filter."""
    query = AdminChange.select(AdminChange.subject).distinct().order_by(AdminChange.subject)
    return [row.subject for row in query]


def history(subject: str | None = None, after=None, size: int = PAGE_SIZE):
    """A page of changes, newest first (optionally of one subject), with their actors, and the next page's key."""
    query = AdminChange.select(AdminChange, Staff).join(Staff, join_type=JOIN.LEFT_OUTER,
                                                        on=(AdminChange.actor == Staff.id))
    if subject:
        query = query.where(AdminChange.subject == subject)
    return paging.page(query, AdminChange.id, after, size, descending=True)


def _shown(value):
    """A value as the page prints it: text and numbers as they are, lists and tables as compact JSON."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def differences(change: AdminChange) -> list[tuple[str, object, object]]:
    """What changed, top-level field by field: (field, before, after) as printed, only the fields that differ."""
    before, after = change.before_value or {}, change.after_value or {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        return [("", _shown(change.before_value), _shown(change.after_value))]
    return [(name, _shown(before.get(name)), _shown(after.get(name))) for name in sorted(set(before) | set(after))
            if before.get(name) != after.get(name)]
