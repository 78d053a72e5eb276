"""Who may see and do what: role, department, assignment. The workflow and every view ask here."""
from intranet.models import OPEN_STATUSES

STAFF_WIDE_ROLES = ("supervisor", "admin", "reception")


def can_view(user, req) -> bool:
    """Supervisors, administrators and the reception desk see every request; a clerk, those of their department."""
    if user.role in STAFF_WIDE_ROLES:
        return True
    return user.role == "clerk" and req.department_id == user.department_id


def works_stage(user, req) -> bool:
    """The person may work the request's current stage: a supervisor anywhere, a clerk in its department."""
    if user.role == "supervisor":
        return True
    if user.role != "clerk" or req.department_id != user.department_id:
        return False
    return req.stage.role in (None, user.role)


def can_take_from(user, department) -> bool:
    """Take-next and claims: the department's clerks, and supervisors."""
    return user.role == "supervisor" or (user.role == "clerk" and user.department_id == department.id)


def can_reassign(user) -> bool:
    return user.role == "supervisor"


def can_enter_requests(user) -> bool:
    """The reception desk (and supervisors): walk-in intake and visitor tickets."""
    return user.role in ("reception", "supervisor")


def can_print_receipt(user) -> bool:
    """The desk hands receipts over; supervisors and administrators may reprint one."""
    return user.role in ("reception", "supervisor", "admin")


def can_open_queues(user) -> bool:
    return user.role in ("clerk", "supervisor", "admin")


def can_see_queue(user, department) -> bool:
    if user.role in ("supervisor", "admin"):
        return True
    return user.role == "clerk" and user.department_id == department.id


def allowed_actions(req, user) -> list[str]:
    """The actions this person may take on this request now, in the order the page shows them."""
    if req.status not in OPEN_STATUSES:
        return []
    if user.role == "reception":
        return ["resubmit", "comment"] if req.status == "awaiting_citizen" else ["comment"]
    if not works_stage(user, req):
        return []
    held_by_other = req.assignee_id is not None and req.assignee_id != user.id
    if held_by_other and user.role != "supervisor":
        return ["comment"]
    if req.status == "open":
        actions = ["accept", "return", "reject", "comment"]
    else:
        actions = ["resubmit", "reject", "comment"]
    if req.assignee_id is None and req.status == "open":
        actions.append("claim")
    elif req.assignee_id == user.id:
        actions.append("release")
    return actions


def can_manage_api_clients(user) -> bool:
    """Portal clients and their tokens: administrators only."""
    return user.role == "admin"


def can_import_requests(user) -> bool:
    """Files of electronic requests delivered by a portal in batches: clerks, supervisors, administrators."""
    return user.role in ("clerk", "supervisor", "admin")


def can_import_into(user, department_id) -> bool:
    """Whether `user` may import requests that land in `department_id` (the first stage's department of their
    type): a clerk only into their own department, supervisors and administrators into any."""
    if user.role in ("supervisor", "admin"):
        return True
    return user.role == "clerk" and user.department_id is not None and department_id == user.department_id


def can_see_system_health(user) -> bool:
    """The details of /healthz (database, job queue, consumer): administrators."""
    return user.role == "admin"


def can_edit_message_templates(user) -> bool:
    """The wording of the citizens' SMS and e-mails: administrators."""
    return user.role == "admin"


def can_follow_up_unreachable(user) -> bool:
    """Citizens whose messages could not be delivered, to call: the reception desk, supervisors, administrators."""
    return user.role in ("reception", "supervisor", "admin")


def can_see_payouts(user) -> bool:
    """The approval screen: supervisors decide, administrators look."""
    return user.role in ("supervisor", "admin")


def can_see_statistics(user) -> bool:
    """The dashboard, the statistics and the printed documents: supervisors and administrators."""
    return user.role in ("supervisor", "admin")


def can_manage_sessions(user) -> bool:
    """Everyone's sign-in sessions (seeing and ending them) and the security events: administrators."""
    return user.role == "admin"
