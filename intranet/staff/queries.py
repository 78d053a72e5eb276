"""The staff page's queries (issue 18): who is who, a page at a time by id, with each person's open items, absence
and delegations; one person's page; the colleagues their work may be handed to."""
import datetime as dt
from dataclasses import dataclass, field

from peewee import JOIN, SQL, fn

from intranet import paging
from intranet.auth import permissions
from intranet.models import Department, Request, Staff, utcnow
from intranet.models.delegations import Delegation
from intranet.staff import absence
from intranet.stats.figures import local_today

EXPIRING_DAYS = 3  # a delegation whose last day is this close is flagged on the page
MAX_COLLEAGUES = 200


@dataclass
class Row:
    staff: Staff
    open_items: int = 0
    absent_until: dt.date | None = None
    given: list = field(default_factory=list)  # live delegations this person granted
    received: list = field(default_factory=list)  # and those they act under

    @property
    def given_expiring(self) -> bool:
        return any(expiring(d) for d in self.given)

    @property
    def received_expiring(self) -> bool:
        return any(expiring(d) for d in self.received)


def expiring(delegation, today: dt.date | None = None) -> bool:
    """A live delegation that ends within EXPIRING_DAYS: its grantor decides whether to renew it."""
    today = today or local_today()
    return delegation.revoked_at is None and today <= delegation.ends_on <= today + dt.timedelta(days=EXPIRING_DAYS)


def departments_for(user) -> list[Department]:
    """The departments a person may filter the page by (a supervisor of one department: theirs)."""
    query = Department.select().order_by(Department.id)
    if permissions.visible_staff(user) is not None:
        query = query.where(Department.id == user.department_id)
    return list(query)


def staff_page(user, after=None, department_id=None, size: int = 25, active_only: bool = True):
    """One page of the people `user` may see, by id, with what the page shows; and the next page's key."""
    query = Staff.select(Staff, Department).join(Department, JOIN.LEFT_OUTER)
    if (visible := permissions.visible_staff(user)) is not None:
        query = query.where(visible)
    if department_id is not None:
        query = query.where(Staff.department == department_id)
    if active_only:
        query = query.where(Staff.active == True)  # noqa: E712
    people, next_after = paging.page(query, Staff.id, after, size)
    return annotate(people), next_after


def annotate(people) -> list[Row]:
    """Rows for `people` with their open items, absence today and live delegations (a few queries per page)."""
    ids = [person.id for person in people]
    if not ids:
        return []
    held = dict(Request.select(Request.assignee, fn.COUNT(Request.id))
                .where(Request.assignee.in_(ids) & Request.open_work()).group_by(Request.assignee).tuples())
    away = absence.absent_until(ids)
    rows = {person.id: Row(person, held.get(person.id, 0), away.get(person.id)) for person in people}
    today = local_today()
    for delegation in (Delegation.select().where(Delegation.live(today)
                                                 & (Delegation.grantor.in_(ids) | Delegation.delegate.in_(ids)))
                       .order_by(Delegation.id)):
        if delegation.grantor_id in rows:
            rows[delegation.grantor_id].given.append(delegation)
        if delegation.delegate_id in rows:
            rows[delegation.delegate_id].received.append(delegation)
    return [rows[i] for i in ids]


def person(staff) -> dict:
    """One person's page: their row, their open items by time left, their absences, their delegations (live and
    to come, given and received, with the other party)."""
    row = annotate([staff])[0]
    states = dict(Request.select(Request.sla_case(utcnow()), fn.COUNT(Request.id))
                  .where((Request.assignee == staff.id) & Request.open_work())
                  .group_by(SQL("1")).tuples())
    today = local_today()
    other = Staff.alias()
    given = list(Delegation.select(Delegation, other).join(other, on=(Delegation.delegate == other.id))
                 .where((Delegation.grantor == staff.id) & Delegation.revoked_at.is_null()
                        & (Delegation.ends_on >= today)).order_by(Delegation.starts_on, Delegation.id))
    received = list(Delegation.select(Delegation, other).join(other, on=(Delegation.grantor == other.id))
                    .where((Delegation.delegate == staff.id) & Delegation.revoked_at.is_null()
                           & (Delegation.ends_on >= today)).order_by(Delegation.starts_on, Delegation.id))
    return {"row": row, "states": states, "absences": absence.of(staff), "given": given, "received": received,
            "today": today}


def colleagues_for(staff) -> list[Staff]:
    """Who the person's open items may be handed to: the active clerks of their department who are at work today
    (anyone's clerks for a person without a department), by name."""
    query = Staff.select().where((Staff.role == "clerk") & (Staff.active == True) & (Staff.id != staff.id)  # noqa: E712
                                 & absence.present())
    if staff.department_id is not None:
        query = query.where(Staff.department == staff.department_id)
    return list(query.order_by(Staff.full_name, Staff.id).limit(MAX_COLLEAGUES))


def visible_person(user, staff_id):
    """The person `staff_id` if `user` may see their page, else None."""
    staff = Staff.select(Staff, Department).join(Department, JOIN.LEFT_OUTER).where(Staff.id == staff_id).first()
    return staff if staff is not None and permissions.can_see_staff_member(user, staff) else None

