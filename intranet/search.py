"""Find citizens and requests from what a person types: tracking number, national ID, phone or a name.

Names are folded by intranet.i18n.normalize_arabic and matched by word prefix: SQLite FTS5 over the folded
name (migration 0002), PostgreSQL's `arabic` text-search configuration over the same text.
"""
import re
import unicodedata

import phonenumbers
from flask import current_app
from peewee import SQL

from intranet.db import is_sqlite
from intranet.i18n import name_words
from intranet.models import Citizen, Request
from intranet.validation import ascii_digits

TRACKING = re.compile(r"^\d{2}-?\d{7}-?\d$")
# what a copied value may carry besides its characters: bidi marks and isolates (LRM, RLM, ALM, LRI ... PDI)
_INVISIBLE = dict.fromkeys(map(ord, "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def _typed(text: str) -> str:
    """What was typed, without invisible direction marks, with any dash (-, –, ‐, ...) as "-" and
    Arabic-Indic or Persian digits as ASCII (dashes and spaces then dropped by ascii_digits)."""
    text = (text or "").translate(_INVISIBLE).strip()
    return ascii_digits("".join("-" if unicodedata.category(ch) == "Pd" else ch for ch in text))


def typed_digits(text: str) -> str:
    """What was typed or scanned as the desk reads a number: `_typed` (the card token's reader, cards/tokens.py)."""
    return _typed(text)


def tracking_number(text: str) -> str | None:
    """The tracking number typed, in its canonical form (26-0001720-2), with or without dashes, in any digits;
    None when the text is not one."""
    digits = _typed(text)
    if not TRACKING.match(digits):
        return None
    return f"{digits[:2]}-{digits[2:9]}-{digits[9]}"


def _name_words(text: str) -> list[str]:
    """The typed words as name_words compares them (folded, compounds joined); a leading article is dropped
    (search_text indexes such words bare too)."""
    words = name_words(text)[:6]
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
    text = (text or "").translate(_INVISIBLE).strip()
    if number := tracking_number(text):  # the citizen whose request it is (the reception's lookup)
        return Request.select(Request.citizen).where(Request.tracking_number == number)
    digits = _typed(text)
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
    if number := tracking_number(text):
        return Request.tracking_number == number
    ids = citizen_ids(text)
    return Request.citizen.in_(ids) if ids is not None else None
