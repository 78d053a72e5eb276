"""Appointments at reception (issue 19): the services a citizen may book with their opening hours, slot length and
capacity (data, edited by administrators), the desks of the hall with the department or service each belongs to,
the bookings themselves, and every urgent override a facilitator made (served ahead of the queue, booked over
capacity), with its reason.

Capacity is the database's to keep: a booking holds a seat of its slot (1..capacity), and a unique index over
(service, slot, seat) refuses a second holder whatever the interleaving; a booking that expires or is cancelled gives
its seat back (NULL). A partial unique index keeps one active booking per citizen and service."""
import peewee as pw

from intranet.db import BaseModel
from intranet.models.intake import ApiClient
from intranet.models.people import Citizen, Department, Staff, utcnow
from intranet.models.tickets import VisitorTicket

# pending (waiting for the SMS code) -> confirmed -> checked_in (a ticket was given at the kiosk);
# pending -> expired (the code was not given in time, or too many wrong codes); confirmed -> no_show (never came);
# pending / confirmed -> cancelled
BOOKING_STATUSES = ("pending", "confirmed", "checked_in", "no_show", "expired", "cancelled")
ACTIVE_STATUSES = ("pending", "confirmed")  # still to come: once checked in, the citizen may book again
BOOKING_CHANNELS = ("portal", "desk")
OVERRIDE_KINDS = ("ahead", "over_capacity")


class BookingService(BaseModel):
    code = pw.CharField(max_length=40, unique=True)
    name_ar = pw.CharField(max_length=200)
    name_en = pw.CharField(max_length=200)
    department = pw.ForeignKeyField(Department, null=True, backref="+", on_delete="RESTRICT")
    ticket_service = pw.CharField(max_length=20)  # the walk-in line its booked visitors are called ahead of
    opens = pw.CharField(max_length=5, default="08:00")  # local time of the office
    closes = pw.CharField(max_length=5, default="13:00")
    weekdays = pw.CharField(max_length=20, default="6,0,1,2,3")  # Python's weekday numbers: Sunday to Thursday
    slot_minutes = pw.IntegerField(default=15)
    capacity = pw.IntegerField(default=2)  # visitors per slot
    active = pw.BooleanField(default=True)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "booking_service"

    def name(self, language: str) -> str:
        return self.name_en if language == "en" else self.name_ar

    @property
    def weekday_list(self) -> list[int]:
        return [int(day) for day in self.weekdays.split(",") if day.strip().isdigit()]


class ReceptionDesk(BaseModel):
    """A desk of the hall (its label is one of TICKET_DESKS) and what it belongs to: a department, a booked service,
    or neither (a general desk that calls walk-in tickets only)."""
    label = pw.CharField(max_length=10, unique=True)
    department = pw.ForeignKeyField(Department, null=True, backref="+", on_delete="SET NULL")
    service = pw.ForeignKeyField(BookingService, null=True, backref="desks", on_delete="SET NULL")

    class Meta:
        table_name = "reception_desk"


class Booking(BaseModel):
    service = pw.ForeignKeyField(BookingService, backref="bookings", on_delete="RESTRICT", index=False)
    citizen = pw.ForeignKeyField(Citizen, backref="bookings", on_delete="CASCADE", index=False)
    slot_at = pw.DateTimeField()  # naive UTC, the start of the slot
    seat = pw.IntegerField(null=True)  # 1..capacity while it holds a place; NULL once released, or over capacity
    status = pw.CharField(max_length=12, default="pending")
    channel = pw.CharField(max_length=10)
    client = pw.ForeignKeyField(ApiClient, null=True, backref="+", on_delete="SET NULL")
    booked_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL")
    over_capacity = pw.BooleanField(default=False)
    code_hash = pw.CharField(max_length=64, default="")
    code_expires_at = pw.DateTimeField(null=True)
    code_attempts = pw.IntegerField(default=0)
    created_at = pw.DateTimeField(default=utcnow)
    confirmed_at = pw.DateTimeField(null=True)
    checked_in_at = pw.DateTimeField(null=True)
    closed_at = pw.DateTimeField(null=True)  # expired, cancelled or counted as a no-show
    ticket = pw.ForeignKeyField(VisitorTicket, null=True, backref="+", on_delete="SET NULL")

    class Meta:
        table_name = "booking"
        indexes = (
            (("service", "slot_at", "seat"), True),  # one holder per seat: the capacity, kept by the database
            (("status", "slot_at"), False),  # the jobs' sweeps and the day's list
            (("citizen", "status", "slot_at"), False),  # the no-show count
        )

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


# one active booking per citizen and service
Booking.add_index(Booking.index(Booking.citizen, Booking.service, unique=True, name="booking_one_active",
                                where=Booking.status.in_(ACTIVE_STATUSES)))


class ReceptionOverride(BaseModel):
    """A facilitator's urgent override, with its reason: a ticket called ahead of the queue, or a booking over
    capacity."""
    kind = pw.CharField(max_length=20)
    staff = pw.ForeignKeyField(Staff, backref="+", on_delete="RESTRICT")
    reason = pw.TextField()
    day = pw.DateField()  # the office's date, for the day's figures
    ticket = pw.ForeignKeyField(VisitorTicket, null=True, backref="+", on_delete="SET NULL")
    booking = pw.ForeignKeyField(Booking, null=True, backref="+", on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "reception_override"
        indexes = ((("day", "kind"), False),)

    @classmethod
    def counts_of_day(cls, day) -> dict[str, int]:
        """The day's overrides per kind (every kind listed, zero included): the desk's figures and the statistics."""
        counts = dict.fromkeys(OVERRIDE_KINDS, 0)
        counts.update(dict(cls.select(cls.kind, pw.fn.COUNT(cls.id)).where(cls.day == day).group_by(cls.kind).tuples()))
        return counts
