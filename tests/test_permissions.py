"""Every rule of intranet/auth/permissions.py as a table, on unsaved model instances (no database, no app).

The tables are written out by hand from what each rule means (who and why, in its docstring); a change of rule
changes a row here, on purpose."""
import itertools
import re
from decimal import Decimal
from pathlib import Path

import peewee
import pytest

from intranet.auth import permissions
from intranet.models import Delegation, Department, Payout, Request, Stage, Staff
from intranet.models.letters import MinistryLetter

ROLES = ("reception", "clerk", "supervisor", "head", "admin")
OWN, OTHER = 1, 2  # department ids: the person's own, another
ME, SOMEONE = 7, 8  # staff ids: the person, a colleague

FULL_OPEN = {"accept", "return", "reject", "comment"}  # an open stage being worked
FULL_BACK = {"resubmit", "reject", "comment"}  # returned to this stage, or awaiting the citizen


def person(role, department=OWN):
    return Staff(id=ME, username=f"{role}-me", role=role, department=department)


def request_(status, holder, department, stage_role=None):
    assignee = {"nobody": None, "me": ME, "other": SOMEONE}[holder]
    return Request(id=100, status=status, department=department, assignee=assignee,
                   stage=Stage(id=5, department=department, role=stage_role, position=1))


# (role, status, holder, department) -> the actions offered; holder: nobody, me (the person), other (a colleague).
# Rows not listed here offer nothing: every closed request (completed, rejected) to everyone, every request to an
# administrator (they read, they never act), a clerk's request of another department, every stage that requires no
# role to the head (they decide only the stages that require the head: HEAD_STAGE_ROWS).
ACTION_ROWS = {
    # the reception desk: a note on any open request, anywhere, whoever holds it; and the citizen's corrections on
    # what waits for the citizen (the desk is where the citizen brings them)
    **{("reception", status, holder, dept): {"comment"}
       for status in ("open", "returned") for holder in ("nobody", "me", "other") for dept in ("own", "other")},
    **{("reception", "awaiting_citizen", holder, dept): {"resubmit", "comment"}
       for holder in ("nobody", "me", "other") for dept in ("own", "other")},
    # a clerk of the request's department works it; an open request nobody holds can be claimed, a held one released
    ("clerk", "open", "nobody", "own"): FULL_OPEN | {"claim"},
    ("clerk", "open", "me", "own"): FULL_OPEN | {"release"},
    ("clerk", "open", "other", "own"): {"comment"},  # a colleague holds it: only a note
    # back at this stage (or with the citizen): resubmit once corrected; no claim (claims are of open work)
    ("clerk", "returned", "nobody", "own"): FULL_BACK,
    ("clerk", "returned", "me", "own"): FULL_BACK | {"release"},
    ("clerk", "returned", "other", "own"): {"comment"},
    ("clerk", "awaiting_citizen", "nobody", "own"): FULL_BACK,
    ("clerk", "awaiting_citizen", "me", "own"): FULL_BACK | {"release"},
    ("clerk", "awaiting_citizen", "other", "own"): {"comment"},
    # a supervisor works any department's stage, and may decide on work a clerk holds (but not release it for them)
    **{("supervisor", "open", "nobody", dept): FULL_OPEN | {"claim"} for dept in ("own", "other")},
    **{("supervisor", "open", "me", dept): FULL_OPEN | {"release"} for dept in ("own", "other")},
    **{("supervisor", "open", "other", dept): FULL_OPEN for dept in ("own", "other")},
    **{("supervisor", status, "nobody", dept): FULL_BACK
       for status in ("returned", "awaiting_citizen") for dept in ("own", "other")},
    **{("supervisor", status, "me", dept): FULL_BACK | {"release"}
       for status in ("returned", "awaiting_citizen") for dept in ("own", "other")},
    **{("supervisor", status, "other", dept): FULL_BACK
       for status in ("returned", "awaiting_citizen") for dept in ("own", "other")},
}

# the same cases at a stage that requires the head (the health-care grant's approval, issue 16): the head decides it
# in any department, as a clerk does their own department's stages; the department's clerks and supervisors do not
# touch it (the panel tells them who decides: waits_for_role); the desk keeps its note and the citizen's corrections
HEAD_STAGE_ROWS = {
    **{key: value for key, value in ACTION_ROWS.items() if key[0] == "reception"},
    **{("head", status, holder, dept): value for (role, status, holder, dept_), value in ACTION_ROWS.items()
       if role == "clerk" and dept_ == "own" for dept in ("own", "other")},
}

STATUSES = ("open", "returned", "awaiting_citizen", "completed", "rejected")
HOLDERS = ("nobody", "me", "other")
CASES = list(itertools.product(ROLES, STATUSES, HOLDERS, ("own", "other")))


def test_the_table_names_only_real_cases():
    assert set(ACTION_ROWS) <= set(CASES) and set(HEAD_STAGE_ROWS) <= set(CASES)
    assert not any(role == "head" for role, *_ in ACTION_ROWS)
    assert {role for role, *_ in HEAD_STAGE_ROWS} == {"reception", "head"}
    assert not any(status in ("completed", "rejected") for _, status, _, _ in ACTION_ROWS)
    assert not any(role == "admin" for role, *_ in ACTION_ROWS)


@pytest.mark.parametrize("stage_role", [None, "head"])
@pytest.mark.parametrize(("role", "status", "holder", "department"), CASES)
def test_allowed_actions(role, status, holder, department, stage_role):
    req = request_(status, holder, OWN if department == "own" else OTHER, stage_role)
    actions = permissions.allowed_actions(req, person(role, None if role == "head" else OWN))
    table = HEAD_STAGE_ROWS if stage_role == "head" else ACTION_ROWS
    assert set(actions) == table.get((role, status, holder, department), set())
    assert permissions.works_stage(person(role, None if role == "head" else OWN), req) is (
        role != "reception" and bool(table.get((role, "open", "nobody", department))))
    assert len(actions) == len(set(actions))
    # the page shows them in one order: the decisions, then the note, then claim or release
    order = ["accept", "resubmit", "return", "reject", "comment", "claim", "release"]
    assert actions == sorted(actions, key=order.index)


def test_a_stage_for_another_role_is_not_the_clerks():
    req = request_("open", "nobody", OWN)
    req.stage.role = "supervisor"
    assert permissions.allowed_actions(req, person("clerk")) == []
    assert "accept" in permissions.allowed_actions(req, person("supervisor"))
    assert permissions.allowed_actions(req, person("head")) == []


# (role, status, holder, department) that may send a misrouted request to another department (issue 16): a clerk of
# the department holding it (unless a colleague holds it), a supervisor anywhere; open requests only
TRANSFER_ROWS = {
    ("clerk", "open", "nobody", "own"), ("clerk", "open", "me", "own"),
    *{("supervisor", "open", holder, dept) for holder in ("nobody", "me", "other") for dept in ("own", "other")},
}


@pytest.mark.parametrize(("role", "status", "holder", "department"), CASES)
def test_who_may_transfer(role, status, holder, department):
    req = request_(status, holder, OWN if department == "own" else OTHER)
    assert permissions.can_transfer(person(role), req) is ((role, status, holder, department) in TRANSFER_ROWS)


# (role, status, holder, department) that may set an interview request's date and place (issue 16): who decides the
# open request at its interview stage; never the desk, another department, the head or an administrator
INTERVIEW_ROWS = {
    ("clerk", "open", "nobody", "own"), ("clerk", "open", "me", "own"),
    *{("supervisor", "open", holder, dept) for holder in ("nobody", "me", "other") for dept in ("own", "other")},
}


@pytest.mark.parametrize(("role", "status", "holder", "department"), CASES)
def test_who_may_schedule_an_interview(role, status, holder, department):
    req = request_(status, holder, OWN if department == "own" else OTHER)
    req.stage.code = "interview"
    assert permissions.can_schedule_interview(person(role), req) is (
        (role, status, holder, department) in INTERVIEW_ROWS)
    req.stage.code = "review"  # any other stage: no interview to set
    assert permissions.can_schedule_interview(person(role), req) is False


@pytest.mark.parametrize(("role", "holder", "department", "expected"), [
    ("clerk", "nobody", "own", ["answer", "accept", "return", "reject", "comment", "claim"]),
    ("clerk", "me", "own", ["answer", "accept", "return", "reject", "comment", "release"]),
    ("clerk", "other", "own", ["comment"]), ("clerk", "nobody", "other", []),
    ("supervisor", "other", "other", ["answer", "accept", "return", "reject", "comment"]),
    ("reception", "nobody", "own", ["comment"]), ("admin", "nobody", "own", [])])
def test_an_answer_stage_is_answered(role, holder, department, expected):
    """An inquiry's `answer` stage: answered with a text for the citizen (or accepted, answered otherwise)."""
    req = request_("open", holder, OWN if department == "own" else OTHER)
    req.stage.code = "answer"
    assert permissions.answers_with_text(req) and not permissions.answers_with_text(request_("open", "nobody", OWN))
    assert permissions.allowed_actions(req, person(role)) == expected


# (person's role, stage's role, status) -> who alone decides, said on the panel to everyone else
@pytest.mark.parametrize(("role", "stage_role", "status", "waits_for"), [
    *[(role, "head", "open", None if role == "head" else "head") for role in ROLES],
    *[(role, None, "open", None) for role in ROLES],
    ("clerk", "head", "completed", None), ("clerk", "head", "rejected", None), ("clerk", "head", "returned", "head"),
    ("head", "supervisor", "open", "supervisor"), ("supervisor", "supervisor", "open", None)])
def test_who_decides_a_stage_that_requires_a_role(role, stage_role, status, waits_for):
    assert permissions.waits_for_role(person(role), request_(status, "nobody", OWN, stage_role)) == waits_for


# role -> granted, for every rule that asks the role alone
ROLE_RULES = {
    "can_reassign": {"supervisor"},
    "can_enter_requests": {"reception", "supervisor"},
    "can_print_receipt": {"reception", "supervisor", "admin"},
    "can_open_queues": {"clerk", "supervisor", "admin"},
    "sees_every_queue": {"supervisor", "admin"},
    "works_one_queue": {"clerk"},
    "can_manage_api_clients": {"admin"},
    "can_import_requests": {"clerk", "supervisor", "admin"},
    "sees_every_import": {"reception", "supervisor", "head", "admin"},  # the desk never reaches imports (can_import_requests)
    "can_see_system_health": {"admin"},
    "can_edit_message_templates": {"admin"},
    "can_follow_up_unreachable": {"reception", "supervisor", "admin"},
    "can_see_payouts": {"supervisor", "admin"},  # and a payout delegate: test_a_payout_delegation_decides_...
    # batches, bank files, returns, failed payouts, IBAN changes, the audit trail: never a payout delegate's (issue 18)
    "can_see_payout_records": {"supervisor", "admin"},
    "can_decide_payouts": {"supervisor"},
    "can_confirm_iban_changes": {"supervisor"},
    "can_manage_payout_batches": {"supervisor"},
    "can_import_bank_returns": {"supervisor"},
    "can_put_back_failed_payouts": {"supervisor"},
    "can_see_statistics": {"supervisor", "admin"},
    "can_manage_sessions": {"admin"},
    "has_approval_list": {"head"},  # the head's "awaiting my approval", across departments
    "sees_every_request": {"reception", "supervisor", "head", "admin"},  # and every citizen (issue 16: the header search)
    "can_see_letters": {"clerk", "supervisor"},  # letters awaiting a reply: a clerk their department's (issue 16)
    "sees_every_letter": {"supervisor"},
    "can_edit_automation_rules": {"admin"},  # issue 17: rules as data, registry files
    "can_control_automation": {"supervisor"},  # pauses, exceptions, ceilings
    "can_review_automation": {"supervisor"},  # the sample: confirm or reverse
    "can_see_automation": {"supervisor", "admin"},  # the automatic decisions' page and figures
    "can_manage_delegations": {"supervisor", "head", "admin"},  # issue 18: granting delegations
    "sees_every_delegation": {"admin"},  # issue 18: every delegation, granted for anyone
    "can_edit_calendar": {"admin"},  # issue 20: weekend days, public holidays, working-day counting
    "can_edit_reference_data": {"admin"},  # issue 20: departments, governorates, inquiry subjects
    "can_manage_cards": {"reception", "supervisor"},  # issue 19: issue, print, reissue, revoke beneficiary cards
    "can_administer": {"admin"},  # issue 20: request types, calendar, reference data, administration history
    "can_see_staff": {"supervisor", "admin"},  # issue 18: the staff page (a supervisor: their department's people)
    "can_sync_directory": {"admin"},  # issue 18: reading the directory now
    "can_see_directory_sync": {"supervisor", "admin"},  # issue 18: the sync's last run and its error
}


@pytest.mark.parametrize(("rule", "role"), list(itertools.product(ROLE_RULES, ROLES)))
def test_role_rules(rule, role):
    assert getattr(permissions, rule)(person(role)) is (role in ROLE_RULES[rule])


# rule -> role -> the (person's department, department asked about) pairs granted; None: the person has no department
ANYWHERE = {(OWN, OWN), (OWN, OTHER), (None, OWN), (None, OTHER)}
OWN_ONLY = {(OWN, OWN)}
DEPARTMENT_RULES = {
    "can_view": {"reception": ANYWHERE, "clerk": OWN_ONLY, "supervisor": ANYWHERE, "head": ANYWHERE,
                 "admin": ANYWHERE},
    "can_see_queue": {"reception": set(), "clerk": OWN_ONLY, "supervisor": ANYWHERE, "head": set(), "admin": ANYWHERE},
    "can_take_from": {"reception": set(), "clerk": OWN_ONLY, "supervisor": ANYWHERE, "head": set(), "admin": set()},
    "can_import_into": {"reception": set(), "clerk": OWN_ONLY, "supervisor": ANYWHERE, "head": set(),
                        "admin": ANYWHERE},
}


def _ask(rule, user, department):
    if rule == "can_view":
        return permissions.can_view(user, request_("open", "nobody", department))
    if rule == "can_import_into":
        return permissions.can_import_into(user, department)
    return getattr(permissions, rule)(user, Department(id=department, code=f"d{department}"))


@pytest.mark.parametrize(("rule", "role", "own", "asked"),
                         list(itertools.product(DEPARTMENT_RULES, ROLES, (OWN, None), (OWN, OTHER))))
def test_department_rules(rule, role, own, asked, monkeypatch):
    monkeypatch.setattr(permissions, "_acted_on", lambda user, req: False)  # no history row of theirs: see below
    assert _ask(rule, person(role, own), asked) is ((own, asked) in DEPARTMENT_RULES[rule][role])


# issue 16: a request a clerk acted on (a history row of theirs) stays theirs to see, whatever department holds it
@pytest.mark.parametrize(("role", "own", "asked", "acted", "seen"), [
    ("clerk", OWN, OTHER, True, True), ("clerk", OWN, OTHER, False, False), ("clerk", None, OWN, True, True),
    ("clerk", OWN, OWN, False, True), ("reception", OWN, OTHER, False, True), ("supervisor", None, OTHER, False, True),
    ("admin", OWN, OTHER, False, True)])
def test_a_clerk_sees_what_they_acted_on(role, own, asked, acted, seen, monkeypatch):
    monkeypatch.setattr(permissions, "_acted_on", lambda user, req: acted)
    assert permissions.can_view(person(role, own), request_("completed", "nobody", asked)) is seen


# the same rules as conditions for searches (checked against can_view on a database in tests/test_lookup.py):
# None means no restriction
SEEN_RULES = ("visible_requests", "visible_citizens", "can_see_citizen")


@pytest.mark.parametrize("role", ROLES)
def test_who_is_not_restricted_in_searches(role):
    wide = role in ROLE_RULES["sees_every_request"]
    assert (permissions.visible_requests(person(role)) is None) is wide
    assert (permissions.visible_citizens(person(role)) is None) is wide
    if wide:  # no query needed to open any citizen's page
        assert permissions.can_see_citizen(person(role), None) is True


@pytest.mark.parametrize(("role", "department", "badge"), [
    ("clerk", OWN, True), ("clerk", None, False), ("supervisor", OWN, False), ("admin", OWN, False),
    ("reception", OWN, False), ("head", None, False), ("head", OWN, False)])
def test_queue_badge(role, department, badge):
    assert permissions.has_queue_badge(person(role, department)) is badge


@pytest.mark.parametrize("status", STATUSES)
def test_the_portal_resubmits_only_what_waits_for_the_citizen(status):
    expected = ["resubmit"] if status == "awaiting_citizen" else []
    assert permissions.portal_actions(request_(status, "nobody", OWN)) == expected


# (role, department, letter) -> what may be done to the letter of an open ministry-letter request (issue 16); letter:
# None (none drafted yet) or its status. Rows not listed offer nothing: the desk, the head, administrators, a clerk of
# another department, and every closed request (test below).
LETTER_ROWS = {
    **{(role, "own", letter): actions for role in ("clerk", "supervisor")
       for letter, actions in ((None, ["draft"]), ("draft", ["draft", "send"]), ("sent", ["reply"]),
                               ("replied", ["reply"]))},
    **{("supervisor", "other", letter): actions
       for letter, actions in ((None, ["draft"]), ("draft", ["draft", "send"]), ("sent", ["reply"]),
                               ("replied", ["reply"]))},
}


@pytest.mark.parametrize(("role", "department", "letter"),
                         list(itertools.product(ROLES, ("own", "other"), (None, "draft", "sent", "replied"))))
def test_letter_actions(role, department, letter):
    req = request_("open", "nobody", OWN if department == "own" else OTHER)
    letter_row = MinistryLetter(status=letter) if letter else None
    assert permissions.letter_actions(person(role), req, letter_row) == LETTER_ROWS.get((role, department, letter), [])
    closed = request_("completed", "nobody", OWN if department == "own" else OTHER)
    assert permissions.letter_actions(person(role), closed, letter_row) == []


# --- the staff lifecycle (issue 18) --------------------------------------------------------------------------------
# (role, the person's department, whose page: "self", a colleague of "own" or "other" department) -> granted, for
# seeing a person's staff page, marking their absence and handing their work over (one rule: can_see_staff_member)
STAFF_RULES = ("can_see_staff_member", "can_mark_absence", "can_hand_over_work")
STAFF_ROWS = {
    *{(role, dept, "self") for role in ROLES for dept in (OWN, None)},  # everyone: their own page and absences
    *{("admin", dept, whose) for dept in (OWN, None) for whose in ("own", "other")},  # administrators: anyone's
    ("supervisor", OWN, "own"),  # a supervisor of a department: its people
    ("supervisor", None, "own"), ("supervisor", None, "other"),  # a supervisor of every department: everyone's
}


@pytest.mark.parametrize(("rule", "role", "dept", "whose"),
                         list(itertools.product(STAFF_RULES, ROLES, (OWN, None), ("self", "own", "other"))))
def test_staff_rules(rule, role, dept, whose):
    user = person(role, dept)
    staff = user if whose == "self" else Staff(id=SOMEONE, role="clerk", department=OWN if whose == "own" else OTHER)
    assert getattr(permissions, rule)(user, staff) is ((role, dept, whose) in STAFF_ROWS)


@pytest.mark.parametrize(("role", "dept", "everyone"), [
    (role, dept, role == "admin" or (role == "supervisor" and dept is None)) for role in ROLES for dept in (OWN, None)])
def test_who_sees_everyone_on_the_staff_page(role, dept, everyone):
    """`visible_staff` is `can_see_staff_member` in SQL (checked on a database in tests/test_staff_page.py)."""
    assert (permissions.visible_staff(person(role, dept)) is None) is everyone


def test_every_rule_is_in_a_table():
    """A new rule gets its rows here, and the templates reach it as `may.<name without can_>`."""
    may = permissions.for_templates()
    rules = {name for name, value in vars(permissions).items()
             if callable(value) and not name.startswith("_") and getattr(value, "__module__", "") == permissions.__name__
             and name not in ("for_templates", "none_held")}  # (none_held: what the sign-in check found, no rule)
    # actions_on_rows: allowed_actions for a page of rows (tests/test_fragments.py checks it gives the same answers)
    tabled = set(ROLE_RULES) | set(DEPARTMENT_RULES) | {"allowed_actions", "actions_on_rows", "works_stage",
                                                        "has_queue_badge", "portal_actions",
                                                        "waits_for_role", *SEEN_RULES,
                                                        "can_transfer", "answers_with_text", "letter_actions",
                                                        "can_schedule_interview", *DELEGATION_RULES,
                                                        *STAFF_RULES, "visible_staff", "visible_payouts"}
    assert rules == tabled
    for name in rules:
        assert getattr(may, name.removeprefix("can_")) is getattr(permissions, name)
        assert getattr(permissions, name).__doc__, f"{name} says who and why"


def test_no_role_is_compared_outside_the_permissions():
    """Views, services and templates ask a named permission; only queries over staff (digests, the clerks to assign
    to, the supervisors who get reports) and sign-in (the role read from the directory) name roles themselves."""
    root = Path(__file__).resolve().parent.parent
    allowed = {"intranet/auth/permissions.py", "intranet/auth/signin.py", "intranet/auth/mfa.py", "intranet/seed.py"}
    # not permissions: which page a person starts on, which digest a member of staff gets, who can be given work
    # (an active clerk)
    expected = {"intranet/auth/views.py": 1, "intranet/notify/digests.py": 1, "intranet/workflow.py": 1}
    pattern = re.compile(r"""(current_user|user|actor|staff|clerk|person)\.role\s*(==|!=|\bin\b|\bnot in\b)""")
    found, seen = [], dict.fromkeys(expected, 0)
    for path in itertools.chain((root / "intranet").rglob("*.py"), (root / "templates").rglob("*.html")):
        relative = path.relative_to(root).as_posix()
        if relative in allowed:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not pattern.search(line):
                continue
            if relative in expected:
                seen[relative] += 1
            else:
                found.append(f"{relative}:{number}: {line.strip()}")
    assert found == []
    assert all(seen[name] <= expected[name] for name in expected), seen


# --- delegation (issue 18) ----------------------------------------------------------------------------------------
# The rules read the delegations a person holds today from the database (`permissions._delegations`); everywhere
# above, nobody holds one. The tables below hand some in, as unsaved rows.
DELEGATION_RULES = {"stage_delegation", "payout_delegation", "can_decide_payout", "approval_role", "can_grant_for",
                    "can_delegate", "can_grant_in", "can_revoke_delegation"}
GRANTOR = 30


@pytest.fixture(autouse=True)
def no_delegations(monkeypatch):
    monkeypatch.setattr(permissions, "_delegations", lambda user: [])


def holding(monkeypatch, *held):
    monkeypatch.setattr(permissions, "_delegations", lambda user: list(held))


def delegation(scope, **values):
    if scope == "stage":  # the stage rows it covers, as the delegation read finds them (`Delegation.stage_rows`)
        values.setdefault("stage_ids", frozenset({values.get("stage")}))
    return Delegation(id=40, scope=scope, grantor=GRANTOR, delegate=ME, created_by=GRANTOR, **values)


# (scope held, its parameter) -> for a clerk of OWN: may they work an open request at stage 5 of OTHER, where the stage
# requires no role / requires the head
STAGE_ROWS = [
    ("stage", {"stage": 5}, True, True), ("stage", {"stage": 6}, False, False),
    # granted on the stage's row of another version of the type: the same stage in this one (issue 20's versions)
    ("stage", {"stage": 6, "stage_ids": frozenset({6, 5})}, True, True),
    ("queue", {"department": OTHER}, True, False), ("queue", {"department": OWN}, False, False),
    ("head", {}, False, True), ("payouts", {"amount_limit": Decimal(1000)}, False, False),
]


@pytest.mark.parametrize(("scope", "values", "plain", "head"), STAGE_ROWS)
def test_a_delegation_covers_its_stage_only(scope, values, plain, head, monkeypatch):
    held = delegation(scope, **values)
    holding(monkeypatch, held)
    monkeypatch.setattr(permissions, "_acted_on", lambda user, req: False)
    for stage_role, expected in ((None, plain), ("head", head)):
        req = request_("open", "nobody", OTHER, stage_role)
        clerk = person("clerk")
        assert permissions.works_stage(clerk, req) is expected
        assert permissions.stage_delegation(clerk, req) is (held if expected else None)
        assert ("accept" in permissions.allowed_actions(req, clerk)) is expected
        assert permissions.can_view(clerk, req) is expected
        assert (permissions.waits_for_role(clerk, req) is None) is (stage_role is None or expected)
    # in their own right (their department's stage, a supervisor's) nobody acts under a delegation
    assert permissions.stage_delegation(person("clerk"), request_("open", "nobody", OWN)) is None
    assert permissions.stage_delegation(person("supervisor"), request_("open", "nobody", OTHER)) is None


@pytest.mark.parametrize(("department", "expected"), [(OTHER, True), (OWN, True), (3, False)])
def test_a_queue_delegation_opens_that_queue(department, expected, monkeypatch):
    holding(monkeypatch, delegation("queue", department=OTHER))
    clerk, asked = person("clerk"), Department(id=department, code="d")
    own = department == OWN
    assert permissions.can_see_queue(clerk, asked) is (expected and (own or department == OTHER))
    assert permissions.can_take_from(clerk, asked) is (expected and (own or department == OTHER))
    assert permissions.can_transfer(clerk, request_("open", "nobody", department)) is expected
    assert permissions.can_transfer(clerk, request_("open", "other", department)) is False


# (delegation's limit, its department, the payout's amount, the payout's department) -> may a clerk decide it
PAYOUT_ROWS = [
    (Decimal(1000), None, Decimal(1000), OTHER, True), (Decimal(1000), None, Decimal("1000.001"), OTHER, False),
    (Decimal(1000), OWN, Decimal(10), OWN, True), (Decimal(1000), OWN, Decimal(10), OTHER, False),
]


@pytest.mark.parametrize(("limit", "department", "amount", "payout_department", "expected"), PAYOUT_ROWS)
def test_a_payout_delegation_decides_up_to_its_amount(limit, department, amount, payout_department, expected,
                                                       monkeypatch):
    held = delegation("payouts", amount_limit=limit, department=department)
    holding(monkeypatch, held)
    payout = Payout(amount=amount, department=payout_department)
    clerk = person("clerk")
    assert permissions.can_decide_payouts(clerk) and permissions.can_see_payouts(clerk)
    assert not permissions.can_see_payout_records(clerk)  # the approval screen only, and on it:
    assert _sql(permissions.visible_payouts(clerk)) == _sql(held.payout_condition())  # what it covers, in SQL
    assert permissions.can_decide_payout(clerk, payout) is expected
    assert permissions.payout_delegation(clerk, payout) is (held if expected else None)
    assert permissions.payout_delegation(person("supervisor"), payout) is None  # their own right
    assert permissions.can_decide_payout(person("supervisor"), payout) is True
    holding(monkeypatch, delegation("queue", department=OWN))
    assert not permissions.can_decide_payouts(clerk) and not permissions.can_decide_payout(clerk, payout)


@pytest.mark.parametrize(("role", "scope", "expected"), [
    ("head", None, "head"), ("clerk", "head", "head"), ("supervisor", "head", "head"), ("clerk", "stage", None),
    ("supervisor", None, None), ("admin", None, None)])
def test_who_approves_as_the_head(role, scope, expected, monkeypatch):
    if scope:
        holding(monkeypatch, delegation(scope, stage=5))
    assert permissions.approval_role(person(role)) == expected
    assert permissions.has_approval_list(person(role)) is (expected is not None)


# who may hand on whose authority: (creator's role, grantor is the creator) -> granted
GRANT_FOR_ROWS = {("supervisor", True), ("head", True), ("admin", True), ("admin", False)}


@pytest.mark.parametrize(("role", "own"), list(itertools.product(ROLES, (True, False))))
def test_who_may_grant_for_whom(role, own):
    grantor = person(role) if own else Staff(id=SOMEONE, role="supervisor", department=OWN)
    assert permissions.can_grant_for(person(role), grantor) is ((role, own) in GRANT_FOR_ROWS)


# the grantor's role -> the scopes they hold in their own right (a stage that requires no role / the head's stage)
DELEGABLE = {"supervisor": {"stage", "queue", "payouts"}, "head": {"head_stage", "head"}}


@pytest.mark.parametrize(("role", "scope"), list(itertools.product(ROLES, ("stage", "head_stage", "queue",
                                                                          "payouts", "head"))))
def test_what_a_grantor_may_hand_on(role, scope):
    stage = Stage(id=5, role="head" if scope == "head_stage" else None)
    asked = "stage" if scope == "head_stage" else scope
    assert permissions.can_delegate(person(role), asked, stage) is (scope in DELEGABLE.get(role, set()))
    assert permissions.can_delegate(person(role), "stage", None) is False


@pytest.mark.parametrize(("role", "own", "asked", "expected"), [
    ("supervisor", OWN, OWN, True), ("supervisor", OWN, OTHER, False), ("supervisor", None, OTHER, True),
    ("supervisor", OWN, None, True), ("head", None, None, True), ("admin", OWN, OTHER, True)])
def test_where_a_delegation_may_be_granted(role, own, asked, expected):
    user = person(role, own)
    assert permissions.can_grant_in(user, user, asked) is expected


@pytest.mark.parametrize(("who", "role", "expected"), [
    ("grantor", "supervisor", True), ("creator", "supervisor", True), ("delegate", "clerk", True),
    ("stranger", "supervisor", False), ("stranger", "head", False), ("stranger", "admin", True)])
def test_who_may_revoke_a_delegation(who, role, expected):
    ids = {"grantor": (ME, SOMEONE, 50), "creator": (SOMEONE, ME, 50), "delegate": (SOMEONE, 50, ME),
           "stranger": (SOMEONE, SOMEONE, 50)}[who]
    held = Delegation(id=40, scope="head", grantor=ids[0], created_by=ids[1], delegate=ids[2])
    assert permissions.can_revoke_delegation(person(role), held) is expected


# who sees which payouts (the approval screen, its sum, the password prompt; checked on a database in
# tests/test_delegation.py): None means every payout; a delegate's delegations as a condition, several or'ed together
@pytest.mark.parametrize("role", ROLES)
def test_who_sees_every_payout(role, monkeypatch):
    wide = role in ROLE_RULES["can_see_payout_records"]
    assert permissions.visible_payouts(person(role)) is None if wide else "IS NULL" in _sql(
        permissions.visible_payouts(person(role)))[0]  # no delegation: no payout
    held = [delegation("payouts", amount_limit=Decimal(10)), delegation("payouts", amount_limit=Decimal(5),
                                                                         department=OTHER)]
    holding(monkeypatch, *held, delegation("queue", department=OWN))
    seen = permissions.visible_payouts(person(role))
    assert (seen is None) if wide else _sql(seen) == _sql(held[0].payout_condition() | held[1].payout_condition())


def _sql(condition):
    """A condition as SQL text and parameters, without a database (peewee's own rendering)."""
    return peewee.Context().sql(condition).query()
