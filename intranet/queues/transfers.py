"""Sending a misrouted request to another department (issue 16): which departments it may go to. The change itself
is `workflow.transfer` (permission `can_transfer`, the history row, the clock left as it was)."""
from intranet import reference
from intranet.i18n import localized
from intranet.models import Department, Stage
from intranet.models.inquiries import InquirySubject


def _working_departments():
    """Departments that receive work: those that work a stage or answer an inquiry subject (not the desk)."""
    return Department.id.in_(Stage.select(Stage.department)) | Department.id.in_(
        InquirySubject.select(InquirySubject.department))


def transfer_targets(req) -> list[Department]:
    """The departments `req` may be sent to: every department that receives work, except the one holding it (the
    request page asks on every view: the departments are reference rows, remembered a minute, intranet/reference.py)."""
    return [department for department in reference.cached("working_departments", None, lambda _: list(
        Department.select().where(_working_departments()).order_by(Department.id)))
        if department.id != req.department_id]


def target(req, department_id) -> Department | None:
    """The department chosen in the form, if it is one the request may go to."""
    if department_id is None:
        return None
    return Department.get_or_none(_working_departments() & (Department.id == department_id)
                                  & (Department.id != req.department_id))


def department_name(department_id) -> str:
    """A department's name in the reader's language, by id (a transfer's history entry keeps ids)."""
    return localized(reference.by_id(Department, department_id)) \
        if department_id else ""
