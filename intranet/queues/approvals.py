"""The head's list: open requests at the stages that require the person's role (the head of the institution's
approval of health-care grants, seed 004), across departments, most urgent first, paged by key (never OFFSET)."""
from intranet.i18n import lazy_gettext as _l
from peewee import JOIN

from intranet import paging
from intranet.models import Citizen, Department, Request, RequestType, Staff, Stage
from intranet.params import to_id


def _stages(role):
    return Stage.select(Stage.id).where(Stage.role == role)


def awaiting(role, after_id=None, size=25):
    """One page of the open requests whose current stage requires `role`, by due date then id, and the key of the
    next page (None on the last)."""
    where = Request.open_work() & Request.stage.in_(_stages(role))
    last = Request.select(Request.due_at, Request.id).where(Request.id == to_id(after_id)).first() \
        if to_id(after_id) else None
    found, next_after = paging.page(Request.select(Request.id, Request.due_at).where(where),
                                    (Request.due_at, Request.id), (last.due_at, last.id) if last else None, size,
                                    next_key=lambda row: row.id)
    page = [row.id for row in found]
    rows = {row.id: row for row in (
        Request.select(Request, Citizen, RequestType, Stage, Department, Staff)
        .join_from(Request, Citizen).join_from(Request, RequestType).join_from(Request, Stage)
        .join_from(Stage, Department)
        .join_from(Request, Staff, JOIN.LEFT_OUTER, on=(Request.assignee == Staff.id))
        .where(Request.id.in_(page)))} if page else {}
    return [rows[i] for i in page], next_after


def count_awaiting(role) -> int:
    """How many open requests wait for `role` (the heading of the list)."""
    return Request.select().where(Request.open_work() & Request.stage.in_(_stages(role))).count()


# who decides a stage that requires a role, said on the request panel to everyone else (permissions.waits_for_role)
DECIDER_LABELS = {
    "head": _l("Awaiting the head's approval: only the head of the institution decides at this stage."),
    "supervisor": _l("Awaiting a supervisor's decision: only a supervisor decides at this stage."),
}
