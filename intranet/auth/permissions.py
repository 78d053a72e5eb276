"""Who may see and do what: role, department, assignment. The workflow, every service and view ask here, and the
templates too, through the Jinja global `may` (this module: `may.see_payouts(current_user)` is
`can_see_payouts`), so no role is compared anywhere else. tests/test_permissions.py holds every rule as a table."""
from peewee import SQL, fn

from intranet.models import OPEN_STATUSES, Citizen, HistoryEntry, Request
from intranet.models.inquiries import ANSWER_STAGE
from intranet.models.requests import INTERVIEW_STAGE

# the head of the institution reads every request too: the stages they decide come from every department
STAFF_WIDE_ROLES = ("supervisor", "admin", "reception", "head")


def sees_every_request(user) -> bool:
    """Supervisors, administrators, the reception desk and the head of the institution see every request, open and
    closed, and every citizen."""
    return user.role in STAFF_WIDE_ROLES


def _acted_on(user, req) -> bool:
    """The person wrote a row of the request's history (took, decided, commented on it): one indexed look-up."""
    return HistoryEntry.select(SQL("1")).where((HistoryEntry.request == req.id)
                                               & (HistoryEntry.actor == user.id)).exists()


def can_view(user, req) -> bool:
    """Supervisors, administrators and the reception desk see every request; a clerk, those of their department and
    any other they acted on (a history row of theirs). The request page, its attachments, the header search and the
    citizen page all ask this rule (`visible_requests` is the same rule in SQL)."""
    if sees_every_request(user):
        return True
    if user.role != "clerk":
        return False
    return (user.department_id is not None and req.department_id == user.department_id) or _acted_on(user, req)


def visible_requests(user):
    """`can_view` as a condition on Request for searches and lists (None: every request): a clerk's department, or
    a history row of theirs (EXISTS over the history's (request, id) index, per request found)."""
    if sees_every_request(user):
        return None
    if user.role != "clerk":
        return Request.id.is_null()  # nothing: ids are never null
    acted = fn.EXISTS(HistoryEntry.select(SQL("1")).where((HistoryEntry.request == Request.id)
                                                          & (HistoryEntry.actor == user.id)))
    return acted if user.department_id is None else (Request.department == user.department_id) | acted


def visible_citizens(user):
    """The citizens a person may find and open, as a condition on Citizen (None: every citizen): for a clerk, those
    with at least one request the clerk may see (`visible_requests`), so no other department's request is reached
    through its citizen."""
    requests = visible_requests(user)
    if requests is None:
        return None
    return fn.EXISTS(Request.select(SQL("1")).where((Request.citizen == Citizen.id) & requests))


def can_see_citizen(user, citizen) -> bool:
    """The citizen page: `visible_citizens` for one citizen."""
    if sees_every_request(user):
        return True
    requests = visible_requests(user)
    return Request.select(SQL("1")).where((Request.citizen == citizen.id) & requests).exists()


def works_stage(user, req) -> bool:
    """The person may work the request's current stage: a stage that requires a role (the head's approval) is
    decided by that role alone, in whatever department (not by the department's clerks, nor by supervisors: the
    head's approval is the head's); any other stage by a supervisor anywhere, a clerk in its department."""
    if req.stage.role is not None:
        return user.role == req.stage.role
    if user.role == "supervisor":
        return True
    return user.role == "clerk" and req.department_id == user.department_id


def waits_for_role(user, req) -> str | None:
    """The role that alone decides this open request at its stage, when the person does not hold it (the panel says
    who decides: "awaiting the head's approval"); None when the stage requires no role or the person holds it."""
    role = req.stage.role if req.status in OPEN_STATUSES else None
    return role if role is not None and user.role != role else None


def has_approval_list(user) -> bool:
    """The list of open requests at the stages that require the person's role, across departments (the head's
    "awaiting my approval", their home page): the head of the institution."""
    return user.role == "head"


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
        # a stage closed by an answer to the citizen (an inquiry's) is answered (the text goes to the citizen), or
        # accepted when the answer was given otherwise (by telephone)
        actions = (["answer"] if answers_with_text(req) else []) + ["accept", "return", "reject", "comment"]
    else:
        actions = ["resubmit", "reject", "comment"]
    if req.assignee_id is None and req.status == "open":
        actions.append("claim")
    elif req.assignee_id == user.id:
        actions.append("release")
    return actions


def portal_actions(req) -> list[str]:
    """What the e-services portal (no member of staff) may do to a request it submitted: resubmit it corrected
    while it waits for the citizen (returned by its first stage); the API checks it is the client's own."""
    return ["resubmit"] if req.status == "awaiting_citizen" else []


def answers_with_text(req) -> bool:
    """The request's stage is closed by an answer text sent to the citizen (an inquiry's `answer` stage): its
    workers may answer it (the text goes to the citizen by SMS and to the portal)."""
    return req.stage.code == ANSWER_STAGE


def can_transfer(user, req) -> bool:
    """Sending a misrouted open request to another department, with a reason: a clerk of the request's department
    who is not barred by a colleague holding it, or a supervisor (who shares the work out)."""
    if req.status != "open":
        return False
    if user.role == "supervisor":
        return True
    held_by_other = req.assignee_id is not None and req.assignee_id != user.id
    return user.role == "clerk" and req.department_id == user.department_id and not held_by_other


def can_schedule_interview(user, req) -> bool:
    """Setting (or moving) the date and place of an interview request's interview: whoever may decide the open
    request at its interview stage (its department's clerk unless a colleague holds it, a supervisor); the reception
    desk and other departments only read it."""
    return req.stage.code == INTERVIEW_STAGE and req.status == "open" and "accept" in allowed_actions(req, user)


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



def can_see_letters(user) -> bool:
    """The list of letters to ministries awaiting a reply: the clerks (their department's letters) and supervisors."""
    return user.role in ("clerk", "supervisor")


def sees_every_letter(user) -> bool:
    """Supervisors see the letters of every department on that list (and may filter by one); a clerk, their own."""
    return user.role == "supervisor"


def letter_actions(user, req, letter) -> list[str]:
    """What the person may do now to the letter of a ministry-letter request (`letter` None: none drafted yet):
    whoever works the request's stage (its department's clerks, supervisors), while the request is open, drafts and
    edits it ("draft") until it is sent ("send"), then records the ministry's replies ("reply")."""
    if req.status not in OPEN_STATUSES or not works_stage(user, req):
        return []
    if letter is None:
        return ["draft"]
    if letter.status == "draft":
        return ["draft", "send"]
    return ["reply"]



def can_edit_automation_rules(user) -> bool:
    """Writing a request type's automatic-decision rule (a new version) and loading a local registry's file:
    administrators, who configure the system; they decide no request themselves."""
    return user.role == "admin"


def can_control_automation(user) -> bool:
    """Pausing and resuming automation for a request type, the exceptions list and the spending ceilings:
    supervisors, who answer for what is decided and spent."""
    return user.role == "supervisor"


def can_review_automation(user) -> bool:
    """Confirming or reversing a sampled automatic decision (a reversal reopens the request): supervisors."""
    return user.role == "supervisor"


def can_see_automation(user) -> bool:
    """The page of automatic decisions with their figures (issue 17): supervisors, who review and control them, and
    administrators, who write the rules."""
    return user.role in ("supervisor", "admin")


def for_templates():
    """This module as the templates' `may`: `may.see_payouts(current_user)` asks `can_see_payouts`, the other rules
    (`may.has_queue_badge`, `may.allowed_actions`) keep their names."""
    from types import SimpleNamespace

    rules = {name: value for name, value in globals().items()
             if callable(value) and not name.startswith("_") and name != "for_templates"
             and getattr(value, "__module__", None) == __name__}
    return SimpleNamespace(**{name.removeprefix("can_"): rule for name, rule in rules.items()})
