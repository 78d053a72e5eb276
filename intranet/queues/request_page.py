"""Moments and days as the pages show them, each formatted once (issue 21).

A request page shows a dozen moments (received, each history entry, each message's sending and delivery) and Babel
takes longer to format one than Jinja takes to show the rest of an entry: each moment is formatted once for its
value, format, language and time zone (`datetime_text`, in place of flask-babel's `datetimeformat`), and each day
likewise (`date_text`, in place of `dateformat`).
"""
from functools import lru_cache

from flask_babel import format_date, format_datetime

from intranet import context
from intranet.i18n import current_locale

MOMENTS_KEPT = 20_000  # formatted moments and days kept in each process (about 150 bytes each)
_BABEL = {"datetime": format_datetime, "date": format_date}


@lru_cache(maxsize=MOMENTS_KEPT)
def _formatted(kind, value, format, locale, timezone):
    return _BABEL[kind](value, format)  # in the locale and time zone in force: the key's


def _once(kind, value, format):
    if value is None:  # flask-babel's "now" or "today": never kept
        return _BABEL[kind](value, format)
    return _formatted(kind, value, format, str(current_locale()), context.app().config["TIMEZONE"])


def datetime_text(value, format="medium"):
    """`value | datetimeformat(format)` (flask-babel), formatted once for the value, format, language and zone."""
    return _once("datetime", value, format)


def date_text(value, format="medium"):
    """`value | dateformat(format)` (flask-babel), formatted once for the value, format, language and zone."""
    return _once("date", value, format)
