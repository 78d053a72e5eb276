"""Who may see and do what: role, department, assignment, delegation. The workflow, every service and view ask
here, and the templates too, through the Jinja global `may` (this module: `may.see_payouts(current_user)` is
`can_see_payouts`), so no role is compared anywhere else. tests/test_permissions.py holds every rule as a table.

Delegations (issue 18) are read here and nowhere else: where a person's own role and department refuse acting on a
stage, working a queue, deciding a payout or approving as the head, the delegations they hold today (the office's
date) are asked (`_delegations`, one indexed query, only after the own rule said no); `stage_delegation` and
`payout_delegation` name the one an action is taken under, for its history and audit entry."""
import functools
import operator

from flask import has_request_context, request
from peewee import SQL, fn

from intranet import context
from intranet.models import OPEN_STATUSES, Citizen, HistoryEntry, Request, Staff, Stage
from intranet.models.delegations import Delegation
from intranet.models.payouts import Payout
from intranet.models.inquiries import ANSWER_STAGE
from intranet.models.requests import INTERVIEW_STAGE
from intranet.stats.figures import local_today

# the head of the institution reads every request too: the stages they decide come from every department
STAFF_WIDE_ROLES = ("supervisor", "admin", "reception", "head")


def _delegations(user) -> list:
    """The delegations the person acts under today, in the office's time zone (revoked, ended or not yet begun ones,
    and those of an inactive grantor, do not apply). For the person signed in on this HTTP request (the object
    flask-login loaded for it), read once per request: a queue page asks for each of its rows, the layout once
    more; forgotten when a delegation is granted or revoked (`_forget_delegations`). Anyone else, or outside a
    request: read each time."""
    if getattr(user, "id", None) is None:
        return []
    answering = context.request()
    signed_in = context.g().__dict__.get("_login_user") if answering is not None else None
    if signed_in is None or signed_in is not getattr(user, "_get_current_object", lambda: user)():
        return Delegation.active_for(user.id, local_today())
    known = answering.environ.setdefault(_DELEGATIONS_READ, {})
    day = known.get("today") or known.setdefault("today", local_today())  # the request's day, worked out once
    if (user.id, day) not in known:
        known[(user.id, day)] = Delegation.active_for(user.id, day)
    return list(known[(user.id, day)])


_DELEGATIONS_READ = "diwan.delegations_read"


def none_held(user, day) -> None:
    """The sign-in check found that `user` holds no delegation live on `day` (`Delegation.held_by`): on this request,
    `_delegations` answers that without a query."""
    request.environ[_DELEGATIONS_READ] = {"today": day, (user.id, day): []}


def _forget_delegations() -> None:
    """After a delegation was granted or revoked in this request (intranet/auth/delegations.py), the next question
    reads them again."""
    if has_request_context():
        request.environ.pop(_DELEGATIONS_READ, None)


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
    return ((user.department_id is not None and req.department_id == user.department_id) or _acted_on(user, req)
            or stage_delegation(user, req) is not None)


def visible_requests(user):
    """`can_view` as a condition on Request for searches and lists (None: every request): a clerk's department, or
    a history row of theirs (EXISTS over the history's (request, id) index, per request found)."""
    if sees_every_request(user):
        return None
    if user.role != "clerk":
        return Request.id.is_null()  # nothing: ids are never null
    acted = fn.EXISTS(HistoryEntry.select(SQL("1")).where((HistoryEntry.request == Request.id)
                                                          & (HistoryEntry.actor == user.id)))
    seen = acted if user.department_id is None else (Request.department == user.department_id) | acted
    for delegation in _delegations(user):  # what they act on for someone else (`Delegation.covers_request`)
        if delegation.scope == "stage":
            seen = seen | Request.stage.in_(sorted(delegation.covered_stages()))  # its rows in every version
        elif delegation.scope == "queue":
            seen = seen | (Request.department == delegation.department_id)
        elif delegation.scope == "head":
            seen = seen | Request.stage.in_(Stage.select(Stage.id).where(Stage.role == "head"))
    return seen


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


def _works_stage_itself(user, req) -> bool:
    if req.stage.role is not None:
        return user.role == req.stage.role
    if user.role == "supervisor":
        return True
    return user.role == "clerk" and req.department_id == user.department_id


def stage_delegation(user, req):
    """The delegation under which the person works the request's current stage: None when they work it in their
    own right (or not at all). Its scope covers the stage (that stage of that type; that department's queue; a
    stage that requires the head: `Delegation.covers_request`); the first granted applies."""
    if _works_stage_itself(user, req):
        return None
    return next((d for d in _delegations(user) if d.covers_request(req)), None)


def works_stage(user, req) -> bool:
    """The person may work the request's current stage: a stage that requires a role (the head's approval) is
    decided by that role alone, in whatever department (not by the department's clerks, nor by supervisors: the
    head's approval is the head's); any other stage by a supervisor anywhere, a clerk in its department; and
    whoever holds a delegation today that covers it (`stage_delegation`)."""
    return _works_stage_itself(user, req) or stage_delegation(user, req) is not None


def waits_for_role(user, req) -> str | None:
    """The role that alone decides this open request at its stage, when the person does not hold it (the panel says
    who decides: "awaiting the head's approval"); None when the stage requires no role or the person holds it."""
    role = req.stage.role if req.status in OPEN_STATUSES else None
    return role if role is not None and user.role != role and stage_delegation(user, req) is None else None


def has_approval_list(user) -> bool:
    """The list of open requests at the stages that require the person's role, across departments (the head's
    "awaiting my approval", their home page): the head of the institution, and whoever approves as the head today
    under a delegation (`approval_role`)."""
    return approval_role(user) is not None


def approval_role(user) -> str | None:
    """The role whose approval list the person works: the head's own ("head"), or the head's while they hold a
    delegation to approve as the head; None: no such list."""
    if user.role == "head":
        return "head"
    return "head" if any(d.scope == "head" for d in _delegations(user)) else None


def _works_queue(user, department_id) -> bool:
    """A delegation today to work this department's queue."""
    return any(d.covers_department(department_id) for d in _delegations(user))


def can_take_from(user, department) -> bool:
    """Take-next and claims: the department's clerks, and supervisors; and whoever works the department's queue
    today under a delegation."""
    if user.role == "supervisor" or (user.role == "clerk" and user.department_id == department.id):
        return True
    return _works_queue(user, department.id)


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
    """A department's queue: supervisors and administrators any, a clerk their own department's, and whoever works
    it today under a delegation."""
    if sees_every_queue(user) or (user.role == "clerk" and user.department_id == department.id):
        return True
    return _works_queue(user, department.id)


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


def actions_on_rows(user):
    """`allowed_actions` for the many requests of one page (a queue's 25 rows): requests alike in what the rule reads
    (status, stage, department, held by nobody, by this person or by another) get the same answer, worked out once
    (issue 21: a third of a row's cost was this rule asking the same of each row)."""
    known = {}

    def actions(req) -> list[str]:
        holder = req.assignee_id if req.assignee_id in (None, user.id) else "another"
        key = (req.status, req.stage_id, req.department_id, holder)
        if key not in known:
            known[key] = allowed_actions(req, user)
        return known[key]
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
    if held_by_other:
        return False
    return (user.role == "clerk" and req.department_id == user.department_id) or _works_queue(user, req.department_id)


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
    """The approval screen: supervisors decide, administrators look; and whoever decides payouts today under a
    delegation, who sees there the payouts it covers only (`visible_payouts`)."""
    return can_see_payout_records(user) or can_decide_payouts(user)


def can_see_payout_records(user) -> bool:
    """Every payout and the pages of the money's way after the decision: batches and bank files, the bank's
    returns, failed payouts, IBAN changes, the audit trail: supervisors and administrators. A delegation to decide
    payouts up to an amount opens none of them: its delegate decides on the approval screen what it covers."""
    return user.role in ("supervisor", "admin")


def visible_payouts(user):
    """The payouts a person may see, as a condition on Payout (None: every payout): supervisors and administrators
    all (`can_see_payout_records`); a delegate those the delegations they hold today cover (up to the amount, in the
    department: `Delegation.covers_payout`, in SQL), whatever has become of them since; anyone else none. The
    approval screen, its ticked sum and the password prompt list only these."""
    if can_see_payout_records(user):
        return None
    held = [d.payout_condition() for d in _delegations(user) if d.scope == "payouts"]
    return functools.reduce(operator.or_, held) if held else Payout.id.is_null()


def can_decide_payouts(user) -> bool:
    """Approving and rejecting payouts (a rejection sends the request back to its last stage): supervisors, who carry
    the four-eyes rule; administrators read payouts only, so that no one who runs the system moves money. A person
    holding a delegation today to decide payouts does too, each payout within its limit (`can_decide_payout`)."""
    return user.role == "supervisor" or any(d.scope == "payouts" for d in _delegations(user))


def payout_delegation(user, payout):
    """The delegation under which the person decides this payout: None when a supervisor decides it in their own
    right (or nobody covers it); the first granted whose limit and department cover it."""
    if user.role == "supervisor":
        return None
    return next((d for d in _delegations(user) if d.covers_payout(payout)), None)


def can_decide_payout(user, payout) -> bool:
    """One payout: a supervisor any, a delegate those their delegation covers (amount up to its limit, in its
    department). The four-eyes rules apply to the real person on top (payouts/service.refusal)."""
    return user.role == "supervisor" or payout_delegation(user, payout) is not None


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


def can_administer(user) -> bool:
    """Administration (issue 20): request types and their versions, the calendar, the reference data and the
    administration history: administrators, on every route."""
    return user.role == "admin"


# --- delegation (issue 18): who may grant what, for whom, where; the rules above read the delegations held ---------

def can_manage_delegations(user) -> bool:
    """Granting delegations (issue 18): supervisors (what they do themselves, in their department), the head (the
    head's approval) and administrators (anything, for anyone); the page of delegations is everyone's."""
    return user.role in ("supervisor", "head", "admin")


def sees_every_delegation(user) -> bool:
    """Every delegation, whoever gave or holds it, granted for anyone: administrators."""
    return user.role == "admin"


def can_grant_for(user, grantor) -> bool:
    """Whose authority a delegation hands on: one's own (a supervisor, the head), anyone's for an administrator."""
    if not can_manage_delegations(user):
        return False
    return sees_every_delegation(user) or user.id == grantor.id


def can_delegate(grantor, scope, stage=None) -> bool:
    """Whether `grantor` holds what the scope hands on, in their own right: a stage (the stage's role, or a
    supervisor for a stage that requires none), a queue or payouts (supervisors), the head's approval (the head)."""
    if scope == "stage":
        return stage is not None and (grantor.role == stage.role if stage.role else grantor.role == "supervisor")
    if scope in ("queue", "payouts"):
        return grantor.role == "supervisor"
    return scope == "head" and grantor.role == "head"


def can_grant_in(user, grantor, department_id) -> bool:
    """Where: an administrator anywhere; anyone else within the grantor's department (a grantor without one, such
    as a supervisor of all departments, anywhere; a scope of no department, the head's approval, for its holder)."""
    if sees_every_delegation(user) or grantor.department_id is None or department_id is None:
        return True
    return department_id == grantor.department_id


def can_revoke_delegation(user, delegation) -> bool:
    """Ending a delegation early: its grantor, whoever recorded it, its delegate (giving it back), administrators."""
    return sees_every_delegation(user) or user.id in (delegation.grantor_id, delegation.created_by_id,
                                                      delegation.delegate_id)


# --- the staff lifecycle (issue 18): the staff page, absences, handing work over, the directory sync ------------

def _supervises(user, staff) -> bool:
    """A supervisor of the person's department, or of every department (a supervisor without one)."""
    return user.role == "supervisor" and (user.department_id is None or user.department_id == staff.department_id)


def can_see_staff(user) -> bool:
    """The staff page (who is who, their load, absences, delegations, the directory sync's last run):
    supervisors (their department's people) and administrators (everyone's)."""
    return user.role in ("supervisor", "admin")


def visible_staff(user):
    """`can_see_staff_member` as a condition on Staff (None: everyone): a supervisor of a department sees its
    people; one of every department and administrators everyone; anyone else only themselves."""
    if user.role == "admin" or (user.role == "supervisor" and user.department_id is None):
        return None
    if user.role == "supervisor":
        return (Staff.department == user.department_id) | (Staff.id == user.id)
    return Staff.id == user.id


def can_see_staff_member(user, staff) -> bool:
    """One person's staff page: themselves (their own absences), their supervisor, an administrator."""
    return user.id == staff.id or user.role == "admin" or _supervises(user, staff)


def can_mark_absence(user, staff) -> bool:
    """Marking (or cancelling) a person's absence: the person, a supervisor of their department, an administrator."""
    return can_see_staff_member(user, staff)


def can_hand_over_work(user, staff) -> bool:
    """Handing all of a person's open items to the queue or to a colleague in one action: the person, a supervisor
    of their department, an administrator (who also names a colleague for someone who left)."""
    return can_see_staff_member(user, staff)


def can_sync_directory(user) -> bool:
    """Running the directory sync now (it also runs on a schedule): administrators."""
    return user.role == "admin"


def can_see_directory_sync(user) -> bool:
    """The directory sync's runs and errors (an unreachable directory): supervisors and administrators."""
    return user.role in ("supervisor", "admin")


def can_manage_cards(user) -> bool:
    """Beneficiary cards (issue 19): the desk and supervisors issue, print, reissue and revoke them (who may open
    the citizen a scanned card names is `can_see_citizen`, as for any search)."""
    return user.role in ("reception", "supervisor")


def can_edit_calendar(user) -> bool:
    """The weekend days, the public holidays and whether a request type counts working days (issue 20):
    administrators, who configure the system; the dates they set move every due date counted afterwards."""
    return user.role == "admin"


def can_edit_reference_data(user) -> bool:
    """Departments, governorates and inquiry subjects (issue 20), and reading the banks' file layouts:
    administrators."""
    return user.role == "admin"


def for_templates():
    """This module as the templates' `may`: `may.see_payouts(current_user)` asks `can_see_payouts`, the other rules
    (`may.has_queue_badge`, `may.allowed_actions`) keep their names."""
    from types import SimpleNamespace

    rules = {name: value for name, value in globals().items()
             if callable(value) and not name.startswith("_") and name != "for_templates"
             and getattr(value, "__module__", None) == __name__}
    return SimpleNamespace(**{name.removeprefix("can_"): rule for name, rule in rules.items()})
