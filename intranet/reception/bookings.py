"""Appointments at reception (issue 19): the bookable services and their slots, booking through the portal or by
phone at the desk, the SMS code that confirms a booking, the rules against fake bookings, check-in at the kiosk,
the day-before reminder, the desks of the hall, and the facilitators' urgent overrides.

Rules against fake bookings, each in one place here:
- a booking is confirmed by a one-time code sent by SMS to the phone on record for the national ID (kept as an HMAC,
  a few tries, expiring with the booking: `confirm`); an unconfirmed booking expires (`expire_due`, every minute);
- one active booking per citizen and service (a partial unique index: `booking_one_active`);
- a slot's capacity is the database's: a booking holds one of its seats, (service, slot, seat) is unique;
- no-shows are counted, and BOOKING_NO_SHOW_LIMIT of them within BOOKING_NO_SHOW_DAYS block online booking
  until they age out (`blocked_until`); the desk may still book by phone.
An urgent override (a ticket served ahead of the queue, a booking over capacity) needs a reason and is recorded
(`ReceptionOverride`), counted in the day's figures."""
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from flask import current_app
from flask_babel import force_locale
from intranet.i18n import gettext as _
from intranet.i18n import lazy_gettext as _l
from peewee import IntegrityError, fn

from intranet import paging
from intranet.admin import changes
from intranet.auth import permissions
from intranet.cards import service as cards
from intranet.config import setting
from intranet.db import insert_row, transaction
from intranet.i18n import ltr
from intranet.models import Citizen, Department, Notification, utcnow
from intranet.models.bookings import (
    ACTIVE_STATUSES, Booking, BookingService, ReceptionDesk, ReceptionOverride,
)
from intranet.models.tickets import SERVICE_LETTERS, SERVICES, VisitorTicket
from intranet.notify import delivery
from intranet.reception import tickets
from intranet.stats.figures import day_bounds, local_today, zone
from intranet.params import to_id
from intranet.validation import clean_national_id, strip_controls

STATUS_LABELS = {
    "pending": _l("Waiting for the SMS code"), "confirmed": _l("Confirmed"), "checked_in": _l("Checked in"),
    "no_show": _l("Did not come"), "expired": _l("Expired unconfirmed"), "cancelled": _l("Cancelled"),
}
OVERRIDE_LABELS = {"ahead": _l("Served ahead of the queue"), "over_capacity": _l("Booked over capacity")}
CODE_EVENT, REMINDER_EVENT = "booking_code", "booking_reminder"
CHECK_IN_LABEL = _l("Have a booking? Type your national ID")
# Sunday first, as the office's week starts (the values are Python's weekday numbers)
WEEKDAY_LABELS = ((6, _l("Sunday")), (0, _l("Monday")), (1, _l("Tuesday")), (2, _l("Wednesday")),
                  (3, _l("Thursday")), (4, _l("Friday")), (5, _l("Saturday")))
REASON_MAX = 500


class BookingError(ValueError):
    """Input refused or a step not possible now: `message` is translated, `field` names the input at fault,
    `kind` names the problem for the API."""

    def __init__(self, message, field=None, kind="invalid"):
        super().__init__(str(message))
        self.message, self.field, self.kind = message, field, kind


class NotAllowed(BookingError):
    pass


@dataclass
class Slot:
    at: dt.datetime  # naive UTC
    local: dt.datetime  # the office's wall clock
    free: int

    @property
    def value(self) -> str:
        return self.local.strftime("%Y-%m-%dT%H:%M")


# --- services, hours and slots ---------------------------------------------------------------------------------

def active_services() -> list[BookingService]:
    return list(BookingService.select().where(BookingService.active).order_by(BookingService.code))


def all_services() -> list[BookingService]:
    return list(BookingService.select().order_by(BookingService.code))


def _is_code(code: str) -> bool:
    """A service's code: up to 40 Latin letters, digits, hyphens or underscores (nothing else is looked up: a NUL
    byte or a control character would not even reach PostgreSQL)."""
    return 0 < len(code) <= 40 and all(ch.isascii() and (ch.isalnum() or ch in "_-") for ch in code)


def service_by_code(code) -> BookingService:
    code = str(code or "").strip()
    found = BookingService.get_or_none((BookingService.code == code) & BookingService.active) if _is_code(code) \
        else None
    if found is None:
        raise BookingError(_l("Choose one of the services offered for booking."), "service", "unknown-service")
    return found


def _clock(text) -> dt.time:
    return dt.datetime.strptime(text, "%H:%M").time()


def _to_utc(local: dt.datetime) -> dt.datetime:
    return local.replace(tzinfo=zone()).astimezone(dt.timezone.utc).replace(tzinfo=None)


def _to_local(at: dt.datetime) -> dt.datetime:
    return at.replace(tzinfo=dt.timezone.utc).astimezone(zone()).replace(tzinfo=None)


def local_time(at: dt.datetime) -> str:
    """A slot as the office's wall clock reads it, e.g. 2026-12-05 09:30."""
    return _to_local(at).strftime("%Y-%m-%d %H:%M")


def _starts(service, day: dt.date) -> list[dt.datetime]:
    """The local starts of the service's slots on `day` (none on a day it is closed)."""
    if day.weekday() not in service.weekday_list:
        return []
    start, end = dt.datetime.combine(day, _clock(service.opens)), dt.datetime.combine(day, _clock(service.closes))
    step = dt.timedelta(minutes=service.slot_minutes)
    found = []
    while start + step <= end:
        found.append(start)
        start += step
    return found


def slots(service, day: dt.date, now=None) -> list[Slot]:
    """The slots of `day` still ahead, with the seats left in each (none beyond the days open for booking)."""
    now = now or utcnow()
    if not local_today(now) <= day <= local_today(now) + dt.timedelta(days=setting("BOOKING_DAYS_AHEAD")):
        return []
    starts = [(local, _to_utc(local)) for local in _starts(service, day)]
    starts = [(local, at) for local, at in starts if at > now]
    if not starts:
        return []
    held = dict(Booking.select(Booking.slot_at, fn.COUNT(Booking.id))
                .where((Booking.service == service.id) & Booking.seat.is_null(False)
                       & (Booking.slot_at >= starts[0][1]) & (Booking.slot_at <= starts[-1][1]))
                .group_by(Booking.slot_at).tuples())
    return [Slot(at, local, max(service.capacity - held.get(at, 0), 0)) for local, at in starts]


def parse_slot(service, text, now=None) -> dt.datetime:
    """A slot given as the office's local time (2026-12-05T09:30) as naive UTC, if the service offers it."""
    now = now or utcnow()
    try:
        local = dt.datetime.strptime(str(text or "").strip()[:16], "%Y-%m-%dT%H:%M")
    except ValueError:
        raise BookingError(_l("Give the slot as a date and time, for example 2026-12-05T09:30."), "slot",
                           "invalid") from None
    if local.date() > local_today(now) + dt.timedelta(days=setting("BOOKING_DAYS_AHEAD")):
        raise BookingError(_l("Bookings open %(n)d days ahead at most.", n=setting("BOOKING_DAYS_AHEAD")), "slot",
                           "slot-unavailable")
    if local.date() < local_today(now) or _to_utc(local) <= now:
        raise BookingError(_l("This time has passed: choose a later slot."), "slot", "slot-unavailable")
    at = _to_utc(local)
    if local not in _starts(service, local.date()):
        raise BookingError(_l("The service does not offer this slot: choose one of its opening hours."), "slot",
                           "slot-unavailable")
    return at


# --- booking ------------------------------------------------------------------------------------------------------

def blocked_until(citizen, now=None) -> dt.date | None:
    """The last day online booking stays blocked for this citizen's no-shows, or None when it is open."""
    now = now or utcnow()
    window = dt.timedelta(days=setting("BOOKING_NO_SHOW_DAYS"))
    limit = setting("BOOKING_NO_SHOW_LIMIT")
    missed = [row.slot_at for row in Booking.select(Booking.slot_at)
              .where((Booking.citizen == citizen.id) & (Booking.status == "no_show") & (Booking.slot_at > now - window))
              .order_by(Booking.slot_at.desc())]
    if limit <= 0 or len(missed) < limit:
        return None
    return local_today(missed[limit - 1] + window)  # when the limit-th latest no-show leaves the window


def _citizen(national_id) -> Citizen:
    try:
        value = clean_national_id(national_id or "")
    except ValueError as bad:
        raise BookingError(bad.args[0], "national_id") from None
    citizen = Citizen.get_or_none(Citizen.national_id == value)
    if citizen is None or not citizen.phone:  # one answer for both: the caller learns nothing more
        raise BookingError(_l("No mobile number is on record for this national ID: the citizen should come to the "
                              "reception desk."), "national_id", "no-phone")
    return citizen


def _reason(text) -> str:
    reason = " ".join(str(text or "").split())
    if not reason:
        raise BookingError(_l("Give the reason for this urgent override."), "reason")
    if len(reason) > REASON_MAX:
        raise BookingError(_l("The reason is at most %(n)d characters.", n=REASON_MAX), "reason")
    return reason


def _code_hash(booking_id: int, code: str) -> str:
    key = current_app.secret_key.encode() if isinstance(current_app.secret_key, str) else current_app.secret_key
    return hmac.new(key, f"booking:{booking_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _already_booked():
    return BookingError(_l("This citizen already has a booking for this service: cancel it first, or come at its "
                           "time."), "service", "already-booked")


def _take_seat(values: dict, capacity: int) -> int:
    """Insert the booking holding a free seat of its slot; the unique index settles a race (the loser reads the
    seats again). Raises when the slot is full."""
    for _attempt in range(capacity + 1):
        held = {seat for (seat,) in Booking.select(Booking.seat).where(
            (Booking.service == values["service"]) & (Booking.slot_at == values["slot_at"])
            & Booking.seat.is_null(False)).tuples()}
        free = [seat for seat in range(1, capacity + 1) if seat not in held]
        if not free:
            break
        try:
            with transaction():  # a savepoint: a lost race rolls back this insert only
                # a free seat at random: two clients racing for one slot rarely want the same seat
                return insert_row(Booking, {**values, "seat": secrets.choice(free)})
        except IntegrityError:
            if Booking.select().where((Booking.citizen == values["citizen"]) & (Booking.service == values["service"])
                                      & Booking.status.in_(ACTIVE_STATUSES)).exists():
                raise _already_booked() from None
    raise BookingError(_l("This slot is fully booked: choose another time."), "slot", "slot-full")


def book(service, national_id, slot, channel="portal", client=None, staff=None, over_capacity_reason=None,
         now=None) -> tuple[Booking, str]:
    """A pending booking and its one-time code (sent by SMS to the phone on record; returned for the tests and
    never shown). The desk (`staff`) may book a blocked citizen, and over capacity with a reason."""
    now = now or utcnow()
    if staff is not None and not permissions.can_enter_requests(staff):
        raise NotAllowed(_l("Only the reception desk books appointments."))
    citizen = _citizen(national_id)
    slot_at = slot if isinstance(slot, dt.datetime) else parse_slot(service, slot, now)
    reason = _reason(over_capacity_reason) if over_capacity_reason is not None else None
    if reason is not None and staff is None:
        raise NotAllowed(_l("Only the reception desk books appointments."))
    if staff is None:
        until = blocked_until(citizen, now)
        if until is not None:
            raise BookingError(_l("Online booking is closed for this citizen until %(day)s after missed "
                                  "appointments; the reception desk can still help.", day=until.isoformat()),
                               "national_id", "blocked")
    code = f"{secrets.randbelow(10 ** 6):06d}"
    values = {"service": service.id, "citizen": citizen.id, "slot_at": slot_at, "status": "pending",
              "channel": channel, "client": client.id if client else None, "booked_by": staff.id if staff else None,
              "code_expires_at": now + dt.timedelta(minutes=setting("BOOKING_CODE_MINUTES")), "created_at": now}
    with transaction():
        if Booking.select().where((Booking.citizen == citizen.id) & (Booking.service == service.id)
                                  & Booking.status.in_(ACTIVE_STATUSES)).exists():
            raise _already_booked()
        if reason is None:
            booking_id = _take_seat(values, service.capacity)
        else:
            try:
                with transaction():
                    booking_id = insert_row(Booking, {**values, "over_capacity": True})
            except IntegrityError:
                raise _already_booked() from None
            ReceptionOverride.create(kind="over_capacity", staff=staff.id, reason=reason, day=local_today(now),
                                     booking=booking_id)
        Booking.update(code_hash=_code_hash(booking_id, code)).where(Booking.id == booking_id).execute()
        booking = Booking.get_by_id(booking_id)
        _queue_sms(CODE_EVENT, booking, citizen, f"b{booking_id}", code=code)
    return booking, code


def _expire(booking_id, status="expired", now=None) -> int:
    return (Booking.update(status=status, seat=None if status in ("expired", "cancelled") else Booking.seat,
                           closed_at=now or utcnow())
            .where((Booking.id == booking_id) & Booking.status.in_(("pending", "confirmed"))).execute())


def confirm(booking, code, now=None) -> Booking:
    """Confirm a pending booking with its SMS code: a few tries, before it expires. A wrong try is counted (and
    committed) before the refusal is raised."""
    now = now or utcnow()
    code = "".join(ch for ch in str(code or "") if not ch.isspace())
    refusal = None
    with transaction():
        booking = Booking.get_by_id(booking.id)
        if booking.status == "confirmed":
            return booking  # said twice: the same answer
        if booking.status != "pending":
            refusal = BookingError(_l("This booking is %(status)s: it can no longer be confirmed.",
                                      status=STATUS_LABELS[booking.status]), "code", "gone")
        elif booking.code_expires_at is None or booking.code_expires_at <= now:
            _expire(booking.id, now=now)
            refusal = BookingError(_l("The code has expired and the booking with it: book again."), "code", "gone")
        elif not hmac.compare_digest(booking.code_hash, _code_hash(booking.id, code)):
            counted = list(Booking.update(code_attempts=Booking.code_attempts + 1)
                           .where((Booking.id == booking.id) & (Booking.status == "pending"))
                           .returning(Booking.code_attempts).execute())
            left = setting("BOOKING_CODE_ATTEMPTS") - (counted[0].code_attempts if counted else booking.code_attempts)
            if left <= 0:
                _expire(booking.id, now=now)
                refusal = BookingError(_l("Too many wrong codes: the booking is cancelled. Book again."), "code",
                                       "gone")
            else:
                refusal = BookingError(_l("This code is not right. Tries left: %(n)d.", n=left), "code",
                                       "wrong-code")
        else:
            Booking.update(status="confirmed", confirmed_at=now, code_hash="").where(
                (Booking.id == booking.id) & (Booking.status == "pending")).execute()
    if refusal is not None:
        raise refusal
    return Booking.get_by_id(booking.id)


def cancel(booking, now=None) -> Booking:
    """The citizen (through the portal or the desk) gives the slot back."""
    with transaction():
        if not _expire(booking.id, "cancelled", now):
            booking = Booking.get_by_id(booking.id)
            raise BookingError(_l("This booking is %(status)s: it can no longer be cancelled.",
                                  status=STATUS_LABELS[booking.status]), kind="gone")
    return Booking.get_by_id(booking.id)


# --- at the office --------------------------------------------------------------------------------------------------

def check_in(booking, now=None) -> VisitorTicket:
    """A booked citizen arrived (national ID typed at the kiosk, or a card scanned): a ticket of the service's line,
    called at the booking's time ahead of the walk-ins, at the desks of its department or service."""
    now = now or utcnow()
    with transaction():
        booking = Booking.get_by_id(booking.id)
        if booking.status == "checked_in" and booking.ticket_id:
            return VisitorTicket.get_by_id(booking.ticket_id)  # scanned twice: the same ticket
        if booking.status != "confirmed":
            raise BookingError(_l("This booking is %(status)s: take a ticket for the service instead.",
                                  status=STATUS_LABELS[booking.status]), "national_id", "gone")
        if _to_local(booking.slot_at).date() != local_today(now):
            raise BookingError(_l("Your booking is for %(when)s, not today.", when=local_time(booking.slot_at)),
                               "national_id")
        if now > booking.slot_at + dt.timedelta(minutes=setting("BOOKING_GRACE_MINUTES")):
            raise BookingError(_l("The time of your booking has passed: take a ticket for the service instead."),
                               "national_id")
        service = booking.service
        ticket = tickets.issue_ticket(service.ticket_service, booked_for=booking.slot_at, citizen=booking.citizen_id,
                                      department=service.department_id, booking_service=service.id)
        changed = (Booking.update(status="checked_in", checked_in_at=now, ticket=ticket.id)
                   .where((Booking.id == booking.id) & (Booking.status == "confirmed")).execute())
        if not changed:
            raise BookingError(_l("This booking changed meanwhile: try again."), "national_id")
    return ticket


def check_in_national_id(national_id, now=None) -> VisitorTicket:
    """The kiosk: the citizen's confirmed booking of today (the earliest), checked in. A beneficiary card scanned into
    the same box names its holder as the national ID does, once the database says the card is valid (issue 19)."""
    now = now or utcnow()
    if (card := cards.scan(national_id)) is not None:
        if not card.valid:
            raise BookingError(card.message, "national_id")
        value = card.card.citizen.national_id
    else:
        try:
            value = clean_national_id(national_id or "")
        except ValueError as bad:
            raise BookingError(bad.args[0], "national_id") from None
    start, end = day_bounds(local_today(now))
    booking = (Booking.select().join(Citizen)
               .where((Citizen.national_id == value) & (Booking.status == "confirmed")
                      & (Booking.slot_at >= start) & (Booking.slot_at < end))
               .order_by(Booking.slot_at).first())
    if booking is None:
        raise BookingError(_l("No confirmed booking today for this national ID: take a ticket for the service."),
                           "national_id")
    return check_in(booking, now)


def serve_ahead(staff, desk, label, reason, now=None) -> VisitorTicket:
    """The urgent path: call a waiting ticket of today (e.g. B-004) to this desk ahead of the queue, with a reason,
    recorded as an override."""
    if not permissions.can_enter_requests(staff):
        raise NotAllowed(_l("Only the reception desk calls visitor tickets."))
    desk = (desk or "").strip()
    if desk not in tickets.desks():
        raise BookingError(_l("Choose your desk number from the list."), "desk")
    reason = _reason(reason)
    text = str(label or "").strip().upper().replace(" ", "")
    letter, _dash, number = text.partition("-")
    services = [code for code, known in SERVICE_LETTERS.items() if known == letter]
    if not services or not number.isdigit() or len(number) > 4:
        raise BookingError(_l("Type the ticket number as printed, for example B-004."), "label")
    day, now = tickets.today(), now or utcnow()
    with transaction():
        busy = tickets.current_ticket(desk, day)
        if busy is not None:
            raise BookingError(_l("Desk %(desk)s still has ticket %(ticket)s: finish it or mark it as a no-show "
                                  "first.", desk=desk, ticket=busy.label), "desk")
        called = (VisitorTicket.update(status="called", called_at=now, desk=desk, called_by=staff.id)
                  .where((VisitorTicket.day == day) & (VisitorTicket.service == services[0])
                         & (VisitorTicket.number == int(number)) & (VisitorTicket.status == "waiting"))
                  .returning(VisitorTicket.id).execute())
        ids = [row.id for row in called]
        if not ids:
            raise BookingError(_l("No ticket %(ticket)s is waiting today.", ticket=text), "label")
        ReceptionOverride.create(kind="ahead", staff=staff.id, reason=reason, day=local_today(now), ticket=ids[0])
    return VisitorTicket.get_by_id(ids[0])


def overrides_of_day(day=None) -> dict[str, int]:
    """The day's urgent overrides per kind (both listed, zero included)."""
    return ReceptionOverride.counts_of_day(day or local_today())


def day_page(after=None, size: int = 50, day=None) -> tuple[list[Booking], int | None]:
    """A page of the day's bookings by time (the desk's list), after the booking numbered `after`; and the number
    of the last one shown when another page follows."""
    start, end = day_bounds(day or local_today())
    query = (Booking.select(Booking, Citizen, BookingService).join(Citizen).switch(Booking).join(BookingService)
             .where((Booking.slot_at >= start) & (Booking.slot_at < end)))
    last = Booking.get_or_none(Booking.id == to_id(after)) if to_id(after) else None
    return paging.page(query, (Booking.slot_at, Booking.id), (last.slot_at, last.id) if last else None, size,
                       next_key=lambda row: row.id)


def day_overrides(day=None) -> list[ReceptionOverride]:
    return list(ReceptionOverride.select().where(ReceptionOverride.day == (day or local_today()))
                .order_by(ReceptionOverride.id))


# --- the jobs -------------------------------------------------------------------------------------------------------

def expire_due(now=None) -> dict:
    """Unconfirmed bookings past their code's life expire (their seat freed); confirmed ones whose time passed by
    the grace period without a check-in are no-shows. Every minute (jobs/bookings.py)."""
    now = now or utcnow()
    late = now - dt.timedelta(minutes=setting("BOOKING_GRACE_MINUTES"))
    with transaction():
        expired = (Booking.update(status="expired", seat=None, closed_at=now)
                   .where((Booking.status == "pending") & (Booking.code_expires_at <= now)).execute())
        missed = (Booking.update(status="no_show", closed_at=now)
                  .where((Booking.status == "confirmed") & (Booking.slot_at < late)).execute())
    return {"expired": expired, "no_show": missed}


def queue_reminders(now=None) -> int:
    """The SMS the day before: confirmed bookings falling on the office's tomorrow. Hourly, idempotent (one
    reminder per booking and slot)."""
    now = now or utcnow()
    start, end = day_bounds(local_today(now) + dt.timedelta(days=1))
    added = 0
    for booking in (Booking.select(Booking, Citizen).join(Citizen)
                    .where((Booking.status == "confirmed") & (Booking.slot_at >= start) & (Booking.slot_at < end))
                    .order_by(Booking.slot_at, Booking.id)):
        with transaction():
            added += _queue_sms(REMINDER_EVENT, booking, booking.citizen, f"b{booking.id}@{booking.slot_at:%Y%m%dT%H%M}")
    return added


def _sms_text(event, booking, language, code=None) -> str:
    service = booking.service
    with force_locale(language):
        when, name = ltr(local_time(booking.slot_at), language), service.name(language)
        if event == CODE_EVENT:
            return _("Your code to confirm the booking (%(service)s, %(when)s) is %(code)s. It expires in "
                     "%(n)d minutes.", service=name, when=when, code=ltr(code, language),
                     n=setting("BOOKING_CODE_MINUTES"))
        return _("Reminder: your appointment (%(service)s) is tomorrow, %(when)s. Check in at the kiosk with your "
                 "national ID.", service=name, when=when)


def _queue_sms(event, booking, citizen, key, code=None) -> int:
    language = citizen.preferred_language if citizen.preferred_language in ("ar", "en") else "ar"
    added = insert_row(Notification, {
        "citizen": citizen.id, "event": event, "channel": "sms", "language": language, "recipient": citizen.phone,
        "body": _sms_text(event, booking, language, code), "dedupe_key": f"{event}:{key}:sms",
    }, ignore_conflict=True) is not None
    if added:
        delivery.trigger_soon()
    return int(added)


# --- administration: services and desks ------------------------------------------------------------------------------

def _int(value, field, low, high):
    try:
        number = int(str(value or "").strip())
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise BookingError(_l("Give a whole number from %(low)d to %(high)d.", low=low, high=high), field)
    return number


def save_service(actor, form, service=None) -> BookingService:
    """Create or change a bookable service from the administrators' form."""
    if not permissions.can_administer(actor):
        raise NotAllowed(_l("Only administrators change the booking services."))
    code = str(form.get("code", "")).strip().lower()
    if not _is_code(code):
        raise BookingError(_l("A code is up to 40 Latin letters, digits, hyphens or underscores."), "code")
    names = {key: " ".join(strip_controls(str(form.get(key, ""))).split()) for key in ("name_ar", "name_en")}
    for key, value in names.items():
        if not value or len(value) > 200:
            raise BookingError(_l("Give the name, at most 200 characters."), key)
    ticket_service = form.get("ticket_service", "")
    if ticket_service not in SERVICES:
        raise BookingError(_l("Choose the ticket line of the service."), "ticket_service")
    department = None
    if form.get("department"):
        department = Department.get_or_none(Department.id == _int(form.get("department"), "department", 1, 10 ** 9))
        if department is None:
            raise BookingError(_l("Choose a department from the list."), "department")
    try:
        opens, closes = _clock(str(form.get("opens", ""))), _clock(str(form.get("closes", "")))
    except ValueError:
        raise BookingError(_l("Give the opening hours as HH:MM."), "opens") from None
    if opens >= closes:
        raise BookingError(_l("The service must close after it opens."), "closes")
    weekdays = sorted({int(day) for day in form.getlist("weekdays") if str(day) in "0123456" and len(str(day)) == 1})
    if not weekdays:
        raise BookingError(_l("Tick the days the service is open."), "weekdays")
    values = dict(code=code, **names, ticket_service=ticket_service, department=department,
                  opens=opens.strftime("%H:%M"), closes=closes.strftime("%H:%M"),
                  weekdays=",".join(map(str, weekdays)), slot_minutes=_int(form.get("slot_minutes"), "slot_minutes",
                                                                            5, 240),
                  capacity=_int(form.get("capacity"), "capacity", 1, 100), active=bool(form.get("active")),
                  updated_at=utcnow())
    with transaction():
        taken = BookingService.get_or_none(BookingService.code == code)
        if taken is not None and (service is None or taken.id != service.id):
            raise BookingError(_l("Another service has this code."), "code")
        if service is None:
            saved = BookingService.create(**values)
            changes.record(actor, "reception_service", code, None, _service_record(saved))
            return saved
        before = _service_record(BookingService.get_by_id(service.id))
        BookingService.update(**values).where(BookingService.id == service.id).execute()
        saved = BookingService.get_by_id(service.id)
        if before != _service_record(saved):
            changes.record(actor, "reception_service", before["code"], before, _service_record(saved))
    return saved


def _service_record(service: BookingService) -> dict:
    """What the administration history records of a service (`changes.record`)."""
    department = Department.get_or_none(Department.id == service.department_id) if service.department_id else None
    return {"code": service.code, "name_ar": service.name_ar, "name_en": service.name_en,
            "ticket_service": service.ticket_service, "department": department.code if department else None,
            "opens": service.opens, "closes": service.closes, "weekdays": service.weekdays,
            "slot_minutes": service.slot_minutes, "capacity": service.capacity, "active": bool(service.active)}


def _desk_record(desk: ReceptionDesk | None) -> dict | None:
    """What the administration history records of a desk: what it belongs to (None: a general desk)."""
    if desk is None:
        return None
    department = Department.get_or_none(Department.id == desk.department_id) if desk.department_id else None
    service = BookingService.get_or_none(BookingService.id == desk.service_id) if desk.service_id else None
    return {"department": department.code if department else None, "service": service.code if service else None}


def services_nobody_calls() -> list[BookingService]:
    """The services offered whose booked visitors no desk would call: no desk belongs to the service, nor to its
    department (a booked ticket goes to those desks only: `VisitorTicket.waiting_line`)."""
    by_service = ReceptionDesk.select(ReceptionDesk.service).where(ReceptionDesk.service.is_null(False))
    by_department = ReceptionDesk.select(ReceptionDesk.department).where(ReceptionDesk.department.is_null(False))
    return list(BookingService.select().where(
        BookingService.active & BookingService.id.not_in(by_service)
        & (BookingService.department.is_null() | BookingService.department.not_in(by_department)))
        .order_by(BookingService.code))


def departments() -> list[Department]:
    return list(Department.select().order_by(Department.code))


def of_client(client, booking_id) -> Booking | None:
    """A booking the portal client made, or None (another client's bookings are not found)."""
    return Booking.get_or_none((Booking.id == booking_id) & (Booking.client == client.id))


def desk_rows() -> list[tuple[str, ReceptionDesk | None]]:
    """Every desk of the hall (TICKET_DESKS) with its row, if it belongs to a department or service."""
    rows = {row.label: row for row in ReceptionDesk.select()}
    return [(label, rows.get(label)) for label in tickets.desks()]


def save_desk(actor, label, department_id=None, service_id=None) -> ReceptionDesk | None:
    """A desk belongs to a department, a service, or neither (a general desk); not both."""
    if not permissions.can_administer(actor):
        raise NotAllowed(_l("Only administrators change the booking services."))
    if label not in tickets.desks():
        raise BookingError(_l("Choose your desk number from the list."), "desk")
    department = service = None
    if department_id:
        department = Department.get_or_none(Department.id == _int(department_id, "department", 1, 10 ** 9))
        if department is None:
            raise BookingError(_l("Choose a department from the list."), "department")
    if service_id:
        service = BookingService.get_or_none(BookingService.id == _int(service_id, "service", 1, 10 ** 9))
        if service is None:
            raise BookingError(_l("Choose one of the services offered for booking."), "service")
    if department and service:
        raise BookingError(_l("A desk belongs to a department or to a service, not both."), "department")
    with transaction():
        before = _desk_record(ReceptionDesk.get_or_none(ReceptionDesk.label == label))
        ReceptionDesk.delete().where(ReceptionDesk.label == label).execute()
        made = ReceptionDesk.create(label=label, department=department, service=service) if department or service \
            else None
        if before != _desk_record(made):
            changes.record(actor, "desk", label, before, _desk_record(made))
    return made


def desk_home(label, language: str) -> str:
    """What a desk belongs to, in `language` (the display and the desk page), or ''."""
    row = ReceptionDesk.get_or_none(ReceptionDesk.label == label)
    if row is None:
        return ""
    return row.department.name(language) if row.department_id else row.service.name(language)


def called_text(ticket, language: str) -> str:
    """The waiting-room display's line for a called ticket, in `language` (the display shows Arabic and English)."""
    home = desk_home(ticket.desk, language)
    with force_locale(language):
        if home:
            return _("Number %(ticket)s: please go to desk %(desk)s (%(home)s)", ticket=ltr(ticket.label, language),
                     desk=ltr(ticket.desk, language), home=home)
        return _("Number %(ticket)s: please go to desk %(desk)s", ticket=ltr(ticket.label, language),
                 desk=ltr(ticket.desk, language))


# --- demo -----------------------------------------------------------------------------------------------------------

DEMO_SERVICES = (
    # code, Arabic, English, department code, ticket line, desk
    ("health_care", "استشارة منحة الرعاية الصحية", "Health-care grant consultation", "health", "request_submission",
     "5"),
    ("pension", "مراجعة معاملة التقاعد", "Pension file review", "retirement", "follow_up", "6"),
    ("inquiry", "استفسار عام", "General inquiry", None, "inquiry", None),
)


def seed_demo() -> int:
    """A few bookable services from the departments, and two desks belonging to them; idempotent."""
    added = 0
    with transaction():
        for code, name_ar, name_en, department_code, line, desk in DEMO_SERVICES:
            department = Department.get_or_none(Department.code == department_code) if department_code else None
            service, created = BookingService.get_or_create(code=code, defaults=dict(
                name_ar=name_ar, name_en=name_en, department=department, ticket_service=line))
            added += created
            if desk and desk in tickets.desks() and department is not None:
                ReceptionDesk.get_or_create(label=desk, defaults={"department": department})
    return added
