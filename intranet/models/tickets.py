"""Visitor tickets (take-a-number): one row per number given out at the door, from issue to the end of service."""
import peewee as pw

from intranet.db import BaseModel
from intranet.models.people import Citizen, Department, Staff, utcnow

# service code -> the letter printed before the number; numbers run per day and per service
SERVICE_LETTERS = {"request_submission": "A", "inquiry": "B", "follow_up": "C", "payout_questions": "D"}
SERVICES = tuple(SERVICE_LETTERS)
# waiting -> called (a desk calls it) -> serving (the visitor sat down) -> done; called -> no_show
TICKET_STATUSES = ("waiting", "called", "serving", "done", "no_show")
AT_DESK = ("called", "serving")


class VisitorTicket(BaseModel):
    day = pw.DateField()  # the local date of issue: numbering starts again at 1 each day
    service = pw.CharField(max_length=20)
    number = pw.IntegerField()
    status = pw.CharField(max_length=10, default="waiting")
    issued_at = pw.DateTimeField(default=utcnow)
    called_at = pw.DateTimeField(null=True)  # the first call: waiting time ends here
    recalled_at = pw.DateTimeField(null=True)  # the latest recall: the display shows it again on top
    served_at = pw.DateTimeField(null=True)  # service started
    finished_at = pw.DateTimeField(null=True)
    desk = pw.CharField(max_length=10, null=True)
    called_by = pw.ForeignKeyField(Staff, null=True, backref="called_tickets", on_delete="SET NULL")
    citizen = pw.ForeignKeyField(Citizen, null=True, backref="visitor_tickets", on_delete="SET NULL")
    # a booked visitor's ticket (issue 19, migration 0028): the slot it was booked for (called at that time ahead of
    # the walk-ins of its service), and the department or booked service whose desks call it
    booked_for = pw.DateTimeField(null=True)
    department = pw.ForeignKeyField(Department, null=True, backref="+", on_delete="SET NULL", index=False)
    booking_service = pw.DeferredForeignKey("BookingService", null=True, backref="+", on_delete="SET NULL",
                                           index=False)

    class Meta:
        table_name = "visitor_ticket"
        indexes = (
            (("day", "service", "number"), True),
            (("day", "status", "issued_at"), False),  # the waiting line of the day, oldest first
        )

    @property
    def label(self) -> str:
        """The number as printed and announced: service letter and three digits, e.g. A-017."""
        return f"{SERVICE_LETTERS.get(self.service, '?')}-{self.number:03d}"

    @property
    def waiting_time(self):
        """From issue to the first call, or None while waiting."""
        return self.called_at - self.issued_at if self.called_at else None

    @property
    def service_time(self):
        """From the start of service to its end, or None until both happened."""
        return self.finished_at - self.served_at if self.served_at and self.finished_at else None

    @classmethod
    def of_day(cls, day):
        return cls.select().where(cls.day == day)

    @classmethod
    def waiting_line(cls, day, services, now=None, department=None, booking_service=None):
        """The day's waiting tickets of these services that a desk may call (unexecuted), in the order it calls
        them: booked visitors whose time has come first, by their time, then everyone else, oldest first. A booked
        ticket goes to the desks of its department or its service (`department`, `booking_service`: the desk's)."""
        due = cls.booked_for.is_null(False) & (cls.booked_for <= (now or utcnow()))
        routed = cls.department.is_null() & cls.booking_service.is_null()
        if department is not None:
            routed |= cls.department == department
        if booking_service is not None:
            routed |= cls.booking_service == booking_service
        return (cls.select().where((cls.day == day) & (cls.status == "waiting") & cls.service.in_(list(services))
                                   & routed)
                .order_by(pw.Case(None, [(due, 0)], 1), pw.Case(None, [(due, cls.booked_for)], cls.issued_at),
                          cls.id))

    @classmethod
    def at_desks(cls, day):
        """Tickets called to a desk or being served there, the latest call first."""
        latest_call = pw.fn.COALESCE(cls.recalled_at, cls.called_at)
        return (cls.select().where((cls.day == day) & cls.status.in_(AT_DESK))
                .order_by(latest_call.desc(), cls.id.desc()))
