"""The outgoing register and what a letter's forms may hold: register numbers (OUT/2026/000123), and the typed text
of a letter or a reply, cleaned and checked once for every way in (the forms, the workflow's callers)."""
import datetime as dt
from dataclasses import dataclass

from intranet.i18n import lazy_gettext as _l

from intranet import validation
from intranet.config import setting
from intranet.db import database

PREFIX = "OUT"
LETTER_TYPE = "ministry_letter"  # the request type whose requests are letters
MINISTRY_MAX, SUBJECT_MAX, BODY_MAX = 200, 300, 20000
REPLY_REFERENCE_MAX, SUMMARY_MAX = 100, 5000
LONGEST_WAIT = dt.timedelta(days=366)  # an awaited-reply day further off is a typing error


class LetterRefused(ValueError):
    """Input a letter or a reply cannot take; the message says what to correct, in the person's language."""


def next_reference(year: int) -> str:
    """The next number of the year's outgoing register, taken in the caller's transaction: the year's row is
    raised and read in one statement (on PostgreSQL a concurrent sender waits for the row until this commits, on
    SQLite the write lock already orders them), so no number is given twice and none is skipped."""
    p = database.param
    row = database.execute_sql(
        f"INSERT INTO letter_sequence (year, last_value) VALUES ({p}, 1) "
        "ON CONFLICT (year) DO UPDATE SET last_value = letter_sequence.last_value + 1 "
        "RETURNING last_value", (year,)).fetchone()
    return format_reference(year, row[0])


def format_reference(year: int, number: int) -> str:
    return f"{PREFIX}/{year:04d}/{number:06d}"


def is_letter_request(req) -> bool:
    """Requests of the ministry-letter type carry a letter."""
    return req.request_type.code == LETTER_TYPE


def _text(value, limit: int, empty_message, long_message) -> str:
    text = validation.strip_controls(value if isinstance(value, str) else "").strip()
    if not text:
        raise LetterRefused(empty_message)
    if len(text) > limit:
        raise LetterRefused(long_message)
    return text


@dataclass(frozen=True)
class Draft:
    ministry: str
    subject: str
    body: str


def check_draft(ministry, subject, body) -> Draft:
    """The letter as typed, cleaned, or LetterRefused."""
    return Draft(
        _text(ministry, MINISTRY_MAX, _l("Name the ministry the letter is addressed to."),
              _l("The ministry's name is longer than %(n)d characters.", n=MINISTRY_MAX)),
        " ".join(_text(subject, SUBJECT_MAX, _l("Write the subject of the letter."),
                       _l("The subject is longer than %(n)d characters.", n=SUBJECT_MAX)).split()),
        _text(body, BODY_MAX, _l("Write the text of the letter."),
              _l("The text of the letter is longer than %(n)d characters.", n=BODY_MAX)))


def reply_due_for(sent_on: dt.date, asked: dt.date | None) -> dt.date:
    """The day the reply is awaited: the one the clerk chose (after the day it is sent, within a year), else the
    declared number of days after it is sent."""
    if asked is None:
        return sent_on + dt.timedelta(days=setting("LETTER_REPLY_DAYS"))
    if asked <= sent_on or asked > sent_on + LONGEST_WAIT:
        raise LetterRefused(_l("The reply can be awaited from the day after the letter is sent, within a year."))
    return asked


@dataclass(frozen=True)
class Reply:
    received_on: dt.date
    reference: str
    summary: str


def check_reply(received_on: dt.date | None, reference, summary, sent_on: dt.date | None, today: dt.date) -> Reply:
    """The ministry's reply as typed, cleaned, or LetterRefused: received on a day from the letter's own to today."""
    if received_on is None:
        raise LetterRefused(_l("Give the day the reply was received, as a date."))
    if received_on > today:
        raise LetterRefused(_l("The reply cannot have been received after today."))
    if sent_on is not None and received_on < sent_on:
        raise LetterRefused(_l("The reply cannot have been received before the letter was sent."))
    return Reply(
        received_on,
        " ".join(_text(reference, REPLY_REFERENCE_MAX, _l("Give the reference number of the ministry's reply."),
                       _l("The reply's reference is longer than %(n)d characters.", n=REPLY_REFERENCE_MAX)).split()),
        _text(summary, SUMMARY_MAX, _l("Summarise what the ministry answered."),
              _l("The summary is longer than %(n)d characters.", n=SUMMARY_MAX)))


STATUS_LABELS = {"draft": _l("Draft"), "sent": _l("Sent, awaiting the reply"), "replied": _l("Replied")}
