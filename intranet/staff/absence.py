"""Staff absences: a period of the office's days (both ends included) during which a person takes no new work.

Take-next refuses an absent person and assignment skips them (`intranet/workflow.py` asks `is_absent`); the list
of clerks a supervisor assigns to leaves them out (`queues/services.clerks_of` uses `present`). A person marks
their own absence, a supervisor of their department (or of every department) and an administrator anyone's
(`permissions.can_mark_absence`). Their open items are handed over in one action by `workflow.hand_over`.
"""
import datetime as dt

from intranet.i18n import lazy_gettext as _l
from peewee import SQL, fn

from intranet.auth import permissions
from intranet.db import transaction
from intranet.models import Staff, utcnow
from intranet.models.staff_admin import Absence
from intranet.stats.figures import local_today

MAX_DAYS = 366  # one absence covers at most a year
REASON_MAX_LENGTH = 300


class AbsenceRefused(Exception):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def _live(day: dt.date):
    """Absences covering `day` (not cancelled)."""
    return Absence.cancelled_at.is_null() & (Absence.starts_on <= day) & (Absence.ends_on >= day)


def is_absent(staff_id: int, day: dt.date | None = None) -> bool:
    day = day or local_today()
    return Absence.select(SQL("1")).where((Absence.staff == staff_id) & _live(day)).exists()


def absent_until(staff_ids, day: dt.date | None = None) -> dict[int, dt.date]:
    """{staff id: the last day of their absence} for those of `staff_ids` absent on `day` (today)."""
    ids = list(staff_ids)
    if not ids:
        return {}
    day = day or local_today()
    return {staff: until for staff, until in
            Absence.select(Absence.staff, fn.MAX(Absence.ends_on)).where(Absence.staff.in_(ids) & _live(day))
            .group_by(Absence.staff).tuples()}


def present(day: dt.date | None = None):
    """A condition on Staff: not absent on `day` (today)."""
    day = day or local_today()
    return ~fn.EXISTS(Absence.select(SQL("1")).where((Absence.staff == Staff.id) & _live(day)))


def of(staff, limit: int = 20) -> list[Absence]:
    """The person's absences that have not ended yet, then the latest past ones, soonest first (cancelled ones
    too, marked), at most `limit`."""
    today = local_today()
    coming = list(Absence.select().where((Absence.staff == staff.id) & (Absence.ends_on >= today))
                  .order_by(Absence.starts_on, Absence.id).limit(limit))
    past = list(Absence.select().where((Absence.staff == staff.id) & (Absence.ends_on < today))
                .order_by(Absence.ends_on.desc(), Absence.id.desc()).limit(max(0, limit - len(coming))))
    return coming + past


def _day(text, name) -> dt.date:
    if isinstance(text, dt.date):
        return text
    try:
        return dt.date.fromisoformat((text or "").strip())
    except ValueError:
        raise AbsenceRefused(_l("Write the %(name)s date as YYYY-MM-DD.", name=name)) from None


def mark(actor, staff, starts_on, ends_on, reason: str = "") -> Absence:
    """Record that `staff` is away from `starts_on` to `ends_on` (days, or YYYY-MM-DD texts); AbsenceRefused says
    what is wrong and nothing is written."""
    if not permissions.can_mark_absence(actor, staff):
        raise AbsenceRefused(_l("You may not mark this person's absence."))
    start, end = _day(starts_on, _l("first")), _day(ends_on, _l("last"))
    reason = " ".join((reason or "").split())
    if end < start:
        raise AbsenceRefused(_l("The last day comes before the first."))
    if end < local_today():
        raise AbsenceRefused(_l("This absence is over already: choose days from today on."))
    if (end - start).days >= MAX_DAYS:
        raise AbsenceRefused(_l("An absence covers at most a year."))
    if len(reason) > REASON_MAX_LENGTH:
        raise AbsenceRefused(_l("Write the reason in at most %(max)d characters.", max=REASON_MAX_LENGTH))
    with transaction():
        overlapping = (Absence.select().where((Absence.staff == staff.id) & Absence.cancelled_at.is_null()
                                              & (Absence.starts_on <= end) & (Absence.ends_on >= start)).first())
        if overlapping is not None:
            raise AbsenceRefused(_l("This person is already marked absent from %(start)s to %(end)s.",
                                    start=overlapping.starts_on.isoformat(), end=overlapping.ends_on.isoformat()))
        return Absence.create(staff=staff.id, starts_on=start, ends_on=end, reason=reason, recorded_by=actor.id)


def cancel(actor, staff, absence_id) -> Absence:
    """Cancel one of the person's absences that has not ended (the person is back early, or it was a mistake)."""
    if not permissions.can_mark_absence(actor, staff):
        raise AbsenceRefused(_l("You may not mark this person's absence."))
    with transaction():
        absence = Absence.get_or_none((Absence.id == absence_id) & (Absence.staff == staff.id))
        if absence is None or absence.cancelled_at is not None or absence.ends_on < local_today():
            raise AbsenceRefused(_l("This absence is over or cancelled already."))
        Absence.update(cancelled_at=utcnow(), cancelled_by=actor.id).where(Absence.id == absence.id).execute()
    return Absence.get_by_id(absence.id)
