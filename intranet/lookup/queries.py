"""The header search and the citizen page: what was typed, and what it finds among what the person may see.

One reading of what is typed, shared with the reception desk (`intranet.search`): a tracking number (with or without
dashes, in any digits), a national ID, a phone number (local or international) or else a name (Arabic-aware, by
word prefix). Every query here is narrowed by `permissions.visible_requests` / `visible_citizens`, the SQL form of
`permissions.can_view`, and pages by key (`after=<id>`, newest first for requests, by id for citizens).
"""
import json
from dataclasses import dataclass, field

from peewee import JOIN

from intranet import paging, search
from intranet.auth import permissions
from intranet.cards import service as cards
from intranet.models import (
    Citizen,
    CitizenChange,
    Department,
    Governorate,
    Notification,
    Payout,
    Request,
    RequestType,
    Staff,
    VisitorTicket,
)
from intranet.notify.staff import masked_recipient

PAGE_SIZE = 20
SIDE_LIST = 50  # the newest tickets, payouts, messages and corrections shown on the citizen page


@dataclass
class Found:
    """What a search found: `kind` (tracking, person, nothing) and one page of each list with its next key."""
    text: str
    kind: str
    tracking_number: str | None = None
    requests: list = field(default_factory=list)
    next_request: int | None = None
    citizens: list = field(default_factory=list)
    next_citizen: int | None = None
    card: cards.Verification | None = None  # a scanned or typed beneficiary card token, as the database has it

    @property
    def card_holder(self):
        """The citizen a valid card named, when the person may see them (a scanned card opens their page)."""
        return self.citizens[0] if self.kind == "card" and self.citizens else None

    @property
    def exact_request(self):
        """The one request a tracking number named, when the person may see it."""
        return self.requests[0] if self.kind == "tracking" and len(self.requests) == 1 else None


def _narrowed(condition, extra):
    return condition if extra is None else condition & extra


def _request_page(user, condition, after, size):
    """A page of requests matching `condition` that `user` may see, newest first, and the next page's key."""
    condition = _narrowed(condition, permissions.visible_requests(user))
    return paging.page(Request.select(Request, RequestType, Department, Citizen.id, Citizen.full_name)
                       .join_from(Request, RequestType).join_from(Request, Department)
                       .join_from(Request, Citizen).where(condition), Request.id, after, size, descending=True)


def _citizen_page(user, condition, after, size):
    condition = _narrowed(condition, permissions.visible_citizens(user))
    return paging.page(Citizen.select(Citizen, Governorate).join(Governorate).where(condition), Citizen.id, after,
                       size)


def find(user, text: str, request_after: int | None = None, citizen_after: int | None = None,
         size: int = PAGE_SIZE) -> Found:
    """Requests and citizens for what was typed in the header box, among those `user` may see: a tracking number's
    request (and its citizen), or a page of the citizens a national ID, phone or name finds with their requests
    (paged apart: `request_after` within the same citizens)."""
    text = (text or "").strip()
    if (card := cards.scan(text)) is not None:  # a card token: its holder if the card is valid and they are visible
        found = Found(text, "card", card=card)
        if card.valid:
            found.citizens, _next = _citizen_page(user, Citizen.id == card.card.citizen_id, None, 1)
        return found
    if number := search.tracking_number(text):
        found = Found(text, "tracking", tracking_number=number)
        found.requests, found.next_request = _request_page(user, Request.tracking_number == number, None, size)
        if found.requests:  # the request's citizen too (visible: they have a request the person may see)
            found.citizens = [Citizen.select(Citizen, Governorate).join(Governorate)
                              .where(Citizen.id == found.requests[0].citizen_id).get()]
        return found
    ids = search.citizen_ids(text)
    if ids is None:
        return Found(text, "nothing")
    # the citizens first (a page of them), then the requests of the citizens on that page: a common name matches
    # tens of thousands of citizens, and their requests sorted together would be read whole on every keystroke
    found = Found(text, "person")
    found.citizens, found.next_citizen = _citizen_page(user, Citizen.id.in_(ids), citizen_after, size)
    if found.citizens:
        found.requests, found.next_request = _request_page(
            user, Request.citizen.in_([person.id for person in found.citizens]), request_after, size)
    return found


# --- the citizen page ----------------------------------------------------------------------------------------------

def citizen_requests(user, citizen, after: int | None = None, size: int = PAGE_SIZE):
    """The citizen's requests the person may see, open and closed, newest first (the (citizen, received_at) index)."""
    return _request_page(user, Request.citizen == citizen.id, after, size)


def visitor_tickets(citizen) -> list:
    return list(VisitorTicket.select().where(VisitorTicket.citizen == citizen.id)
                .order_by(VisitorTicket.id.desc()).limit(SIDE_LIST))


def payouts(citizen, seen=None) -> list:
    """The citizen's payouts, newest first, with their request's tracking number (asked only for those who may see
    payouts: `permissions.can_see_payouts`), of those they may see (`seen`: `permissions.visible_payouts`, a payout
    delegate's what their delegation covers)."""
    query = Payout.select(Payout, Request.id, Request.tracking_number).join(Request).where(Payout.citizen == citizen.id)
    return list((query if seen is None else query.where(seen)).order_by(Payout.id.desc()).limit(SIDE_LIST))


def messages(user, citizen) -> list:
    """Messages sent to the citizen about requests the person may see, newest first, the address masked as on the
    request's timeline."""
    query = (Notification.select(Notification, Request.id, Request.tracking_number)
             .join(Request, JOIN.LEFT_OUTER, on=(Notification.request == Request.id))
             .where(Notification.citizen == citizen.id))
    if (visible := permissions.visible_requests(user)) is not None:
        query = query.where(Notification.request.is_null(False) & visible)
    rows = list(query.order_by(Notification.id.desc()).limit(SIDE_LIST))
    for row in rows:
        row.masked = masked_recipient(row.recipient, row.channel)
    return rows


def corrections(citizen) -> list:
    """The corrections of the citizen's details, newest first: who, when, each field's old and new value (a
    governorate by its row, for its name in the reader's language)."""
    rows = list(CitizenChange.select(CitizenChange, Staff.id, Staff.full_name)
                .join(Staff, on=(CitizenChange.changed_by == Staff.id))
                .where(CitizenChange.citizen == citizen.id).order_by(CitizenChange.id.desc()).limit(SIDE_LIST))
    places = {}
    for row in rows:
        row.fields = json.loads(row.changes or "{}")
        if "governorate" in row.fields:
            places.update(dict.fromkeys(value for value in row.fields["governorate"] if value))
    if places:
        places = {g.id: g for g in Governorate.select().where(Governorate.id.in_(list(places)))}
        for row in rows:
            if "governorate" in row.fields:
                row.fields["governorate"] = [places.get(value) for value in row.fields["governorate"]]
    return rows
