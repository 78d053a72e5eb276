"""Who may see and do what: role, department, assignment. The workflow, every service and view ask here, and the
templates too, through the Jinja global `may` (this module: `may.see_payouts(current_user)` is
`can_see_payouts`), so no role is compared anywhere else. tests/test_permissions.py holds every rule as a table."""
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
    """Assigning requests to a clerk: supervisors, who share the work out."""
    return user.role == "supervisor"


def can_enter_requests(user) -> bool:
    """The reception desk (and supervisors): walk-in intake and visitor tickets."""
    return user.role in ("reception", "supervisor")


def can_print_receipt(user) -> bool:
    """The desk hands receipts over; supervisors and administrators may reprint one."""
    return user.role in ("reception", "supervisor", "admin")


def can_open_queues(user) -> bool:
    """The Queues link: the clerks who work them, supervisors and administrators (the desk has its own pages)."""
    return user.role in ("clerk", "supervisor", "admin")


def sees_every_queue(user) -> bool:
    """Supervisors and administrators choose among all departments' queues; a clerk is sent to their own."""
    return user.role in ("supervisor", "admin")


def works_one_queue(user) -> bool:
    """A clerk works their department's queue only: the list of queues sends them straight to it."""
    return user.role == "clerk"


def has_queue_badge(user) -> bool:
    """The count of new items beside Queues: a clerk of a department, for their own queue (what is new is theirs
    to take; supervisors watch every queue on the dashboard instead)."""
    return user.role == "clerk" and user.department_id is not None


def can_see_queue(user, department) -> bool:
    """A department's queue: supervisors and administrators any, a clerk their own department's."""
    if sees_every_queue(user):
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


def sees_every_import(user) -> bool:
    """Import batches: supervisors and administrators see everyone's, a clerk only those they uploaded (the desk
    does not reach imports at all: `can_import_requests`)."""
    return user.role != "clerk"


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


def can_decide_payouts(user) -> bool:
    """Approving and rejecting payouts (a rejection sends the request back to its last stage): supervisors, who carry
    the four-eyes rule; administrators read payouts only, so that no one who runs the system moves money."""
    return user.role == "supervisor"


def can_confirm_iban_changes(user) -> bool:
    """Confirming or refusing a citizen's new IBAN: supervisors (a second one, never the person who asked)."""
    return user.role == "supervisor"


def can_manage_payout_batches(user) -> bool:
    """Gathering approved payouts into batches, exporting and downloading the bank files: supervisors, who answer
    for the money that leaves; administrators see the batches only."""
    return user.role == "supervisor"


def can_import_bank_returns(user) -> bool:
    """Applying the bank's answer (paid or failed) to a released batch: supervisors; administrators read it."""
    return user.role == "supervisor"


def can_put_back_failed_payouts(user) -> bool:
    """Sending payouts the bank failed back for batching again: supervisors, as for every decision on money."""
    return user.role == "supervisor"


def can_see_statistics(user) -> bool:
    """The dashboard, the statistics and the printed documents: supervisors and administrators."""
    return user.role in ("supervisor", "admin")


def can_manage_sessions(user) -> bool:
    """Everyone's sign-in sessions (seeing and ending them) and the security events: administrators."""
    return user.role == "admin"


def for_templates():
    """This module as the templates' `may`: `may.see_payouts(current_user)` asks `can_see_payouts`, the other rules
    (`may.has_queue_badge`, `may.allowed_actions`) keep their names."""
    from types import SimpleNamespace

    rules = {name: value for name, value in globals().items()
             if callable(value) and not name.startswith("_") and name != "for_templates"
             and getattr(value, "__module__", None) == __name__}
    return SimpleNamespace(**{name.removeprefix("can_"): rule for name, rule in rules.items()})
