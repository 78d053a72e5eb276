"""Find citizens and requests from what a person types: tracking number, national ID, phone or a name.

Names are folded by intranet.i18n.normalize_arabic and matched by word prefix: SQLite FTS5 over the folded
name (migration 0002), PostgreSQL's `arabic` text-search configuration over the same text.
"""
import re

import phonenumbers
from flask import current_app
from peewee import SQL

from intranet.db import is_sqlite
from intranet.i18n import normalize_arabic
from intranet.models import Citizen, Request
from intranet.validation import ascii_digits

TRACKING = re.compile(r"^\d{2}-?\d{7}-?\d$")
_WORD = re.compile(r"\w+", re.UNICODE)


def _name_words(text: str) -> list[str]:
    """The typed words, folded; a leading article is dropped (search_text indexes such words bare too)."""
    words = _WORD.findall(normalize_arabic(text))[:6]
    return [word[2:] if word.startswith("ال") and len(word) > 4 else word for word in words]


def citizens_named(text: str):
    """Citizen ids whose name has words starting with each word typed (unexecuted subquery), or None."""
    words = _name_words(text)
    if not words:
        return None
    if is_sqlite():
        match = " ".join(f'"{word}"*' for word in words)
        return SQL("(SELECT rowid FROM citizen_fts WHERE citizen_fts MATCH ?)", [match])
    query = " & ".join(f"{word}:*" for word in words)
    return Citizen.select(Citizen.id).where(SQL("name_tsv @@ to_tsquery('arabic', %s)", [query]))


def _phone(text: str) -> str | None:
    try:
        number = phonenumbers.parse(text, current_app.config["DEFAULT_PHONE_REGION"])
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) \
        if phonenumbers.is_possible_number(number) else None


def citizen_ids(text: str):
    """The ids of the citizens a typed national ID, phone number or name points at (unexecuted), or None when
    nothing searchable was typed."""
    text = (text or "").strip()
    digits = ascii_digits(text)
    if digits.isdigit() and len(digits) == current_app.config["NATIONAL_ID_LENGTH"]:
        return Citizen.select(Citizen.id).where(Citizen.national_id == digits)
    if digits.lstrip("+").isdigit() and len(digits) >= 7 and (phone := _phone(digits)):
        return Citizen.select(Citizen.id).where(Citizen.phone == phone)
    return citizens_named(text)


def citizen_condition(text: str):
    """A condition on Citizen for what was typed at the desk, or None."""
    ids = citizen_ids(text)
    return Citizen.id.in_(ids) if ids is not None else None


def request_condition(text: str):
    """A condition on Request for a search box entry (a tracking number, or whatever finds its citizen), or None
    when nothing searchable was typed."""
    digits = ascii_digits((text or "").strip())
    if TRACKING.match(digits):
        plain = digits.replace("-", "")
        return Request.tracking_number == f"{plain[:2]}-{plain[2:9]}-{plain[9]}"
    ids = citizen_ids(text)
    return Request.citizen.in_(ids) if ids is not None else None
