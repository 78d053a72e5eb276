"""Every rule of intranet/auth/permissions.py as a table, on unsaved model instances (no database, no app).

The tables are written out by hand from what each rule means (who and why, in its docstring); a change of rule
changes a row here, on purpose."""
import itertools
import re
from pathlib import Path

import pytest

from intranet.auth import permissions
from intranet.models import Department, Request, Stage, Staff

ROLES = ("reception", "clerk", "supervisor", "admin")
OWN, OTHER = 1, 2  # department ids: the person's own, another
ME, SOMEONE = 7, 8  # staff ids: the person, a colleague

FULL_OPEN = {"accept", "return", "reject", "comment"}  # an open stage being worked
FULL_BACK = {"resubmit", "reject", "comment"}  # returned to this stage, or awaiting the citizen


def person(role, department=OWN):
    return Staff(id=ME, username=f"{role}-me", role=role, department=department)


def request_(status, holder, department):
    assignee = {"nobody": None, "me": ME, "other": SOMEONE}[holder]
    return Request(id=100, status=status, department=department, assignee=assignee,
                   stage=Stage(id=5, department=department, role=None, position=1))


# (role, status, holder, department) -> the actions offered; holder: nobody, me (the person), other (a colleague).
# Rows not listed here offer nothing: every closed request (completed, rejected) to everyone, every request to an
# administrator (they read, they never act), a clerk's request of another department.
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

STATUSES = ("open", "returned", "awaiting_citizen", "completed", "rejected")
HOLDERS = ("nobody", "me", "other")
CASES = list(itertools.product(ROLES, STATUSES, HOLDERS, ("own", "other")))


def test_the_table_names_only_real_cases():
    assert set(ACTION_ROWS) <= set(CASES)
    assert not any(status in ("completed", "rejected") for _, status, _, _ in ACTION_ROWS)
    assert not any(role == "admin" for role, *_ in ACTION_ROWS)


@pytest.mark.parametrize(("role", "status", "holder", "department"), CASES)
def test_allowed_actions(role, status, holder, department):
    req = request_(status, holder, OWN if department == "own" else OTHER)
    actions = permissions.allowed_actions(req, person(role))
    assert set(actions) == ACTION_ROWS.get((role, status, holder, department), set())
    assert len(actions) == len(set(actions))
    # the page shows them in one order: the decisions, then the note, then claim or release
    order = ["accept", "resubmit", "return", "reject", "comment", "claim", "release"]
    assert actions == sorted(actions, key=order.index)


def test_a_stage_for_another_role_is_not_the_clerks():
    req = request_("open", "nobody", OWN)
    req.stage.role = "supervisor"
    assert permissions.allowed_actions(req, person("clerk")) == []
    assert "accept" in permissions.allowed_actions(req, person("supervisor"))


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
    "sees_every_import": {"reception", "supervisor", "admin"},  # the desk never reaches imports (can_import_requests)
    "can_see_system_health": {"admin"},
    "can_edit_message_templates": {"admin"},
    "can_follow_up_unreachable": {"reception", "supervisor", "admin"},
    "can_see_payouts": {"supervisor", "admin"},
    "can_decide_payouts": {"supervisor"},
    "can_confirm_iban_changes": {"supervisor"},
    "can_manage_payout_batches": {"supervisor"},
    "can_import_bank_returns": {"supervisor"},
    "can_put_back_failed_payouts": {"supervisor"},
    "can_see_statistics": {"supervisor", "admin"},
    "can_manage_sessions": {"admin"},
}


@pytest.mark.parametrize(("rule", "role"), list(itertools.product(ROLE_RULES, ROLES)))
def test_role_rules(rule, role):
    assert getattr(permissions, rule)(person(role)) is (role in ROLE_RULES[rule])


# rule -> role -> the (person's department, department asked about) pairs granted; None: the person has no department
ANYWHERE = {(OWN, OWN), (OWN, OTHER), (None, OWN), (None, OTHER)}
OWN_ONLY = {(OWN, OWN)}
DEPARTMENT_RULES = {
    "can_view": {"reception": ANYWHERE, "clerk": OWN_ONLY, "supervisor": ANYWHERE, "admin": ANYWHERE},
    "can_see_queue": {"reception": set(), "clerk": OWN_ONLY, "supervisor": ANYWHERE, "admin": ANYWHERE},
    "can_take_from": {"reception": set(), "clerk": OWN_ONLY, "supervisor": ANYWHERE, "admin": set()},
    "can_import_into": {"reception": set(), "clerk": OWN_ONLY, "supervisor": ANYWHERE, "admin": ANYWHERE},
}


def _ask(rule, user, department):
    if rule == "can_view":
        return permissions.can_view(user, request_("open", "nobody", department))
    if rule == "can_import_into":
        return permissions.can_import_into(user, department)
    return getattr(permissions, rule)(user, Department(id=department, code=f"d{department}"))


@pytest.mark.parametrize(("rule", "role", "own", "asked"),
                         list(itertools.product(DEPARTMENT_RULES, ROLES, (OWN, None), (OWN, OTHER))))
def test_department_rules(rule, role, own, asked):
    assert _ask(rule, person(role, own), asked) is ((own, asked) in DEPARTMENT_RULES[rule][role])


@pytest.mark.parametrize(("role", "department", "badge"), [
    ("clerk", OWN, True), ("clerk", None, False), ("supervisor", OWN, False), ("admin", OWN, False),
    ("reception", OWN, False)])
def test_queue_badge(role, department, badge):
    assert permissions.has_queue_badge(person(role, department)) is badge


def test_every_rule_is_in_a_table():
    """A new rule gets its rows here, and the templates reach it as `may.<name without can_>`."""
    may = permissions.for_templates()
    rules = {name for name, value in vars(permissions).items()
             if callable(value) and not name.startswith("_") and getattr(value, "__module__", "") == permissions.__name__
             and name != "for_templates"}
    tabled = set(ROLE_RULES) | set(DEPARTMENT_RULES) | {"allowed_actions", "works_stage", "has_queue_badge"}
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
