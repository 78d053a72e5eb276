"""Queries of the letters to ministries: a request's letter and replies for its panel, and the letters awaiting a
reply past their day (oldest due first, paged by key)."""
import datetime as dt
import json
from dataclasses import dataclass, field

from intranet import paging
from intranet.auth import permissions
from intranet.letters.register import is_letter_request, reply_due_for
from intranet.models import Department, Request
from intranet.models.letters import LetterReply, MinistryLetter
from intranet.params import to_id
from intranet.stats.figures import local_today


@dataclass
class Panel:
    """What the request panel shows of a ministry-letter request's letter."""
    letter: MinistryLetter | None
    replies: list = field(default_factory=list)
    actions: list = field(default_factory=list)
    ministry: str = ""  # what the draft form starts with: the letter's, else the request's own fields
    subject: str = ""
    body: str = ""
    today: dt.date | None = None  # the office's day: the latest a reply can have been received
    reply_due: dt.date | None = None  # the awaited-reply day a letter sent today gets unless the clerk sets another


def panel(req, user) -> Panel | None:
    """The letter part of a request's panel, or None for requests of other types."""
    if not is_letter_request(req):
        return None
    today = local_today()
    days = {"today": today, "reply_due": reply_due_for(today, None)}
    letter = MinistryLetter.get_or_none(MinistryLetter.request == req.id)
    if letter is None:
        data = json.loads(req.data or "{}")
        return Panel(None, [], permissions.letter_actions(user, req, None), str(data.get("ministry") or ""),
                     str(data.get("letter_subject") or req.subject or ""), "", **days)
    replies = list(LetterReply.select().where(LetterReply.letter == letter.id).order_by(LetterReply.id))
    return Panel(letter, replies, permissions.letter_actions(user, req, letter), letter.ministry, letter.subject,
                 letter.body, **days)


def letter_of(req) -> MinistryLetter | None:
    return MinistryLetter.get_or_none(MinistryLetter.request == req.id)


def days_overdue(reply_due: dt.date, today: dt.date) -> int:
    """Whole days since the reply was due; never negative (0: due today or later)."""
    return max(0, (today - reply_due).days)


@dataclass(frozen=True)
class Awaiting:
    letter: MinistryLetter
    tracking_number: str
    department: Department
    days_overdue: int


def _scope(user, department_id):
    """The department whose letters the person may list: a clerk's own, whatever was asked; a supervisor's choice
    (None: all)."""
    if permissions.sees_every_letter(user):
        return department_id
    return user.department_id or -1  # a clerk without a department sees none


def _awaiting(user, today, ministry, department_id):
    query = (MinistryLetter.select(MinistryLetter, Request.tracking_number, Department)
             .join(Request, on=(MinistryLetter.request == Request.id))
             .join(Department, on=(Request.department == Department.id))
             .where((MinistryLetter.status == "sent") & (MinistryLetter.reply_due < today)))
    scope = _scope(user, department_id)
    if scope is not None:
        query = query.where(Request.department == scope)
    if ministry:
        query = query.where(MinistryLetter.ministry == ministry)
    return query


def awaiting_reply(user, *, today: dt.date | None = None, ministry: str = "", department_id: int | None = None,
                   after: int | None = None, size: int = 25) -> tuple[list[Awaiting], int | None]:
    """Letters sent whose reply was due before today and has not come, oldest due first, `size` at a time after
    the letter `after`; (rows, the key of the next page or None)."""
    today = today or local_today()
    last = MinistryLetter.get_or_none(MinistryLetter.id == after) if to_id(after) else None
    letters, next_after = paging.page(
        _awaiting(user, today, ministry, department_id), (MinistryLetter.reply_due, MinistryLetter.id),
        (last.reply_due, last.id) if last is not None and last.reply_due else None, size,
        next_key=lambda letter: letter.id)
    return [Awaiting(letter, letter.request.tracking_number, letter.request.department,
                     days_overdue(letter.reply_due, today)) for letter in letters], next_after


def ministries_awaiting(user, today: dt.date | None = None) -> list[str]:
    """The ministries the person's awaiting letters are addressed to, for the filter."""
    query = _awaiting(user, today or local_today(), "", None)
    return sorted({row.ministry for row in query.select(MinistryLetter.ministry).distinct()})


def departments_for_filter(user) -> list[Department]:
    """The departments a supervisor may narrow the list to (a clerk sees their own only: no choice)."""
    if not permissions.sees_every_letter(user):
        return []
    return list(Department.select().order_by(Department.id))
