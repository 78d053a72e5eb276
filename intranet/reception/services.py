"""Reception domain functions: find and register citizens."""
import json

from intranet.i18n import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from intranet.db import transaction
from intranet.i18n import search_text
from intranet.models import Citizen, CitizenChange, Governorate, RequestType, utcnow
from intranet.params import to_id


class DuplicateCitizen(ValueError):
    pass


def governorate_choices(locale):
    return [SelectChoice(g.id, g.name(locale)) for g in Governorate.select().order_by(Governorate.id)]


def _active_types():
    return RequestType.select().where(RequestType.active == True).order_by(RequestType.id)  # noqa: E712


def request_type_choices(locale):
    return [SelectChoice(t.id, t.name(locale)) for t in _active_types()]


def chosen_request_type(value):
    """The active request type named by id in the form or the URL, else the first one."""
    chosen = _active_types().where(RequestType.id == to_id(value)).first() if to_id(value) else None
    return chosen or _active_types().first()


def search_citizens(text: str, limit: int = 20) -> list[Citizen]:
    """Citizens by phone number or by name (Arabic-aware, see intranet.search), at most `limit`."""
    from intranet import search

    condition = search.citizen_condition(text)
    if condition is None:
        return []
    return list(Citizen.select().where(condition).order_by(Citizen.full_name).limit(limit))


def request_numbered(text: str):
    """The request whose tracking number was typed (any digits, with or without dashes), or None."""
    from intranet import search
    from intranet.models import Request

    number = search.tracking_number(text)
    return Request.get_or_none(Request.tracking_number == number) if number else None


def ticket_in_service(value):
    """The visitor ticket being served that the desk came from (?ticket=ID), or None."""
    from intranet.models.tickets import VisitorTicket

    if to_id(value) is None:
        return None
    return VisitorTicket.get_or_none((VisitorTicket.id == to_id(value))
                                    & VisitorTicket.status.in_(("called", "serving")))


def find_citizen(national_id: str):
    return Citizen.get_or_none(Citizen.national_id == national_id)


EDITABLE = ("full_name", "phone", "governorate", "iban", "email", "preferred_language")


def update_citizen(actor, citizen, **values) -> dict:
    """Correct a citizen's details; the fields that changed are recorded with who and when, in the same
    transaction. Returns {field: [old, new]} (empty when nothing changed). A new IBAN while payouts are under
    way is not applied here: it waits for a second person (payouts.service), reported as {"iban_pending": ...}."""
    from intranet.payouts import service as payouts

    current = {name: getattr(citizen, "governorate_id" if name == "governorate" else name) for name in EDITABLE}
    changed = {name: [current[name], values[name] or None] for name in EDITABLE
               if (values[name] or None) != current[name]}
    pending = {}
    if "iban" in changed and changed["iban"][1] and payouts.request_iban_change(actor, citizen, changed["iban"][1]):
        pending = {"iban_pending": changed.pop("iban")}
    if not changed:
        return pending
    update = {name: new for name, (_, new) in changed.items()}
    if "full_name" in update:
        update["name_search"] = search_text(update["full_name"])
    with transaction():
        Citizen.update(updated_at=utcnow(), **update).where(Citizen.id == citizen.id).execute()
        CitizenChange.create(citizen=citizen.id, changed_by=actor.id, changes=json.dumps(changed, ensure_ascii=False))
    return {**changed, **pending}


def register_citizen(full_name, national_id, phone, governorate_id, preferred_language, iban=None,
                     email=None) -> Citizen:
    """A new citizen; a national ID already on file is refused (the desk should use the existing record)."""
    with transaction():
        if find_citizen(national_id) is not None:
            raise DuplicateCitizen(_l("A citizen with this national ID is already registered."))
        return Citizen.create(full_name=full_name.strip(), name_search=search_text(full_name),
                              national_id=national_id, phone=phone, governorate=governorate_id,
                              preferred_language=preferred_language, iban=iban or None, email=email or None)
