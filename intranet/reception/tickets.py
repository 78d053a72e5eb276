"""Visitor tickets (take-a-number): give out numbers, call the next one at a desk, serve it, and today's board
and figures. Every change is one conditional UPDATE, so two desks never take the same ticket."""
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import current_app
from intranet.i18n import lazy_gettext as _l
from peewee import fn

from intranet.auth import permissions
from intranet.config import setting
from intranet.db import database, is_sqlite, transaction
from intranet.models import Staff, utcnow
from intranet.models.bookings import ReceptionDesk, ReceptionOverride
from intranet.models.tickets import AT_DESK, SERVICES, VisitorTicket

SERVICE_LABELS = {
    "request_submission": _l("Submit a request"), "inquiry": _l("Ask a question"),
    "follow_up": _l("Follow up on a request"), "payout_questions": _l("Payments and payouts"),
}
STATUS_LABELS = {
    "waiting": _l("Waiting"), "called": _l("Called"), "serving": _l("Being served"), "done": _l("Served"),
    "no_show": _l("Did not come"),
}
ACTION_LABELS = {"recall": _l("Call again"), "start": _l("Start service"), "finish": _l("Finish service"),
                 "no_show": _l("No-show")}
# action -> (the statuses it may start from, the status it leads to, the time it records)
TRANSITIONS = {
    "recall": (("called",), "called", "recalled_at"),
    "start": (("called",), "serving", "served_at"),
    "finish": (("serving",), "done", "finished_at"),
    "no_show": (("called",), "no_show", "finished_at"),
}


class TicketError(ValueError):
    """Input refused or a step not possible now: `message` is translated, `field` names the input at fault."""

    def __init__(self, message, field=None):
        super().__init__(str(message))
        self.message, self.field = message, field


class NotAllowed(TicketError):
    pass


class StaleTicket(TicketError):
    """Someone moved the ticket on meanwhile (another desk, another tab)."""


@dataclass
class Board:
    at_desks: list  # tickets called or being served, the latest call first
    waiting: dict  # service -> tickets waiting


@dataclass
class DayFigures:
    issued: int
    waiting: int
    served: int
    no_show: int
    average_wait: dt.timedelta | None
    average_service: dt.timedelta | None
    overrides: int = 0  # urgent overrides of the day (served ahead, booked over capacity: reception/bookings.py)


def desks() -> tuple[str, ...]:
    """The desk labels of the hall (TICKET_DESKS in the configuration)."""
    return tuple(current_app.config["TICKET_DESKS"])


def today() -> dt.date:
    """The date at the office (its configured time zone): numbers start again at 1 each day."""
    return dt.datetime.now(ZoneInfo(setting("TIMEZONE"))).date()


def _serialise(key: str):
    """PostgreSQL: one writer at a time for `key` until commit. SQLite's write transaction already is one."""
    if not is_sqlite():
        database.execute_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (key,))


def _check_staff(staff):
    if not permissions.can_enter_requests(staff):
        raise NotAllowed(_l("Only the reception desk calls visitor tickets."))


def check_desk(desk, services) -> tuple[str, list[str]]:
    """The desk label and the services it serves, as known values; anything else is refused."""
    desk = (desk or "").strip()
    if desk not in desks():
        raise TicketError(_l("Choose your desk number from the list."), "desk")
    services = list(dict.fromkeys(services or []))
    if not services or any(service not in SERVICES for service in services):
        raise TicketError(_l("Tick one or more of the services listed."), "services")
    return desk, [service for service in SERVICES if service in services]


def issue_ticket(service: str, **booked) -> VisitorTicket:
    """The next number of the day for this service (`booked`: a booked visitor's slot and routing, given at check-in
    by intranet.reception.bookings)."""
    if service not in SERVICES:
        raise TicketError(_l("Choose one of the services on the screen."), "service")
    day = today()
    with transaction():
        _serialise("visitor_ticket:number")  # else two kiosks read the same last number
        last = (VisitorTicket.select(fn.MAX(VisitorTicket.number))
                .where((VisitorTicket.day == day) & (VisitorTicket.service == service)).scalar())
        return VisitorTicket.create(day=day, service=service, number=(last or 0) + 1, **booked)


def current_ticket(desk, day=None) -> VisitorTicket | None:
    """The ticket called to this desk or being served there."""
    return (VisitorTicket.select().where((VisitorTicket.day == (day or today())) & (VisitorTicket.desk == desk)
                                         & VisitorTicket.status.in_(AT_DESK))
            .order_by(VisitorTicket.called_at.desc()).first())


def call_next(staff, desk, services) -> VisitorTicket | None:
    """Call the oldest waiting ticket among the desk's services to the desk; None when nobody waits.
    Atomic: two desks pressing at once get two different tickets."""
    _check_staff(staff)
    desk, services = check_desk(desk, services)
    day, now = today(), utcnow()
    with transaction():
        _serialise(f"visitor_ticket:desk:{desk}")  # a double click calls one ticket, not two
        busy = current_ticket(desk, day)
        if busy is not None:
            raise TicketError(_l("Desk %(desk)s still has ticket %(ticket)s: finish it or mark it as a no-show "
                                 "first.", desk=desk, ticket=busy.label))
        home = ReceptionDesk.get_or_none(ReceptionDesk.label == desk)  # the department or service it belongs to
        line = (VisitorTicket.waiting_line(day, services, now, home and home.department_id, home and home.service_id)
                .select(VisitorTicket.id).limit(1))
        if is_sqlite():
            candidate = line  # a subquery of the UPDATE: the write lock is held from the choice to the call
        else:
            row = line.for_update(skip_locked=True).first()
            if row is None:
                return None
            candidate = row.id
        called = (VisitorTicket.update(status="called", called_at=now, desk=desk, called_by=staff.id)
                  .where((VisitorTicket.id == candidate) & (VisitorTicket.status == "waiting"))
                  .returning(VisitorTicket.id).execute())
        ids = [row.id for row in called]
    return VisitorTicket.get_by_id(ids[0]) if ids else None


def allowed_actions(ticket) -> list[str]:
    """What the desk may do with this ticket now, in the order the desk page shows them."""
    return [action for action, (sources, _, _) in TRANSITIONS.items() if ticket.status in sources]


def act(staff, ticket, action) -> VisitorTicket:
    """Move the ticket on (recall, start, finish, no_show) if it is still where the desk saw it."""
    _check_staff(staff)
    if action not in TRANSITIONS:
        raise TicketError(_l("Choose one of the buttons shown for the ticket."), "action")
    sources, target, stamp = TRANSITIONS[action]
    with transaction():
        changed = (VisitorTicket.update({VisitorTicket.status: target, getattr(VisitorTicket, stamp): utcnow()})
                   .where((VisitorTicket.id == ticket.id) & VisitorTicket.status.in_(sources)).execute())
        if not changed:
            now = VisitorTicket.get_by_id(ticket.id)
            raise StaleTicket(_l("Ticket %(ticket)s is now: %(status)s. Reload the page to see the desk as it is.",
                                 ticket=now.label, status=STATUS_LABELS[now.status]))
    return VisitorTicket.get_by_id(ticket.id)


def recall(staff, ticket):
    """Call the ticket again: the display shows it on top once more; its waiting time does not change."""
    return act(staff, ticket, "recall")


def start_serving(staff, ticket):
    return act(staff, ticket, "start")


def finish(staff, ticket):
    return act(staff, ticket, "finish")


def no_show(staff, ticket):
    return act(staff, ticket, "no_show")


def link_citizen(ticket, citizen) -> VisitorTicket:
    """The desk identified the visitor: the ticket now belongs to this citizen."""
    with transaction():
        VisitorTicket.update(citizen=citizen.id).where(VisitorTicket.id == ticket.id).execute()
    ticket.citizen = citizen
    return ticket


def people_ahead(ticket) -> int:
    """Tickets of the same service still waiting that were given out before this one."""
    return (VisitorTicket.select().where((VisitorTicket.day == ticket.day) & (VisitorTicket.service == ticket.service)
                                         & (VisitorTicket.status == "waiting") & (VisitorTicket.id < ticket.id))
            .count())


def waiting_counts(day=None) -> dict[str, int]:
    """How many wait now, per service (every service listed, zero included)."""
    counts = dict.fromkeys(SERVICES, 0)
    query = (VisitorTicket.select(VisitorTicket.service, fn.COUNT(VisitorTicket.id))
             .where((VisitorTicket.day == (day or today())) & (VisitorTicket.status == "waiting"))
             .group_by(VisitorTicket.service).tuples())
    counts.update({service: count for service, count in query if service in counts})
    return counts


def board(day=None) -> Board:
    """What the waiting room sees: the numbers at the desks, and how many wait for each service."""
    day = day or today()
    return Board(at_desks=list(VisitorTicket.at_desks(day)), waiting=waiting_counts(day))


def _mean(spans):
    return sum(spans, dt.timedelta()) / len(spans) if spans else None


def statistics(day=None) -> DayFigures:
    """The day's figures: issued, waiting, served, no-shows, average waiting and service times."""
    tickets = list(VisitorTicket.of_day(day or today()).select(
        VisitorTicket.status, VisitorTicket.issued_at, VisitorTicket.called_at, VisitorTicket.served_at,
        VisitorTicket.finished_at))
    by_status = [ticket.status for ticket in tickets]
    return DayFigures(
        issued=len(tickets), waiting=by_status.count("waiting"), served=by_status.count("done"),
        no_show=by_status.count("no_show"),
        average_wait=_mean([t.waiting_time for t in tickets if t.waiting_time is not None]),
        average_service=_mean([t.service_time for t in tickets if t.service_time is not None]),
        overrides=sum(ReceptionOverride.counts_of_day(day or today()).values()))


# --- the desk a person calls from (issue 19: remembered per person, whatever computer they sit at) ------------------

def desk_choice(text) -> dict:
    """A remembered choice ("4:inquiry.follow_up": a person's row or a computer's cookie) as {"desk", "services"},
    only if the desk is still one of the hall's; {} otherwise."""
    desk, _sep, services = (text or "").partition(":")
    if desk not in desks():
        return {}
    return {"desk": desk, "services": [s for s in services.split(".") if s in SERVICES]}


def remember_desk(staff, desk, services) -> None:
    """Keep the desk and services this person called from on their own row (written only when it changed)."""
    value = f"{desk}:{'.'.join(services)}"
    if getattr(staff, "desk_choice", None) != value:
        Staff.update(desk_choice=value).where(Staff.id == staff.id).execute()
        staff.desk_choice = value
