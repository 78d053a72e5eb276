"""Moments and days as the pages show them, each formatted once (issue 21).

A request page shows a dozen moments (received, each history entry, each message's sending and delivery) and Babel
takes longer to format one than Jinja takes to show the rest of an entry: each moment is formatted once for its
value, format, language and time zone (`datetime_text`, in place of flask-babel's `datetimeformat`), and each day
likewise (`date_text`, in place of `dateformat`).
"""
from functools import lru_cache

from flask import current_app
from flask_babel import format_date, format_datetime

from intranet.i18n import current_locale

MOMENTS_KEPT = 20_000  # formatted moments kept in each process (about 150 bytes each)


@lru_cache(maxsize=MOMENTS_KEPT)
def _formatted(value, format, locale, timezone):
    return format_datetime(value, format)  # in the locale and time zone in force: the key's


def datetime_text(value, format="medium"):
    """`value | datetimeformat(format)` (flask-babel), formatted once for the value, format, language and zone."""
    if value is None:  # flask-babel's "now": never kept
        return format_datetime(value, format)
    return _formatted(value, format, str(current_locale()), current_app.config["TIMEZONE"])



@lru_cache(maxsize=MOMENTS_KEPT)
def _date_formatted(value, format, locale, timezone):
    return format_date(value, format)  # in the locale and time zone in force: the key's


def date_text(value, format="medium"):
    """`value | dateformat(format)` (flask-babel), formatted once for the value, format, language and zone."""
    if value is None:  # flask-babel's "today": never kept
        return format_date(value, format)
    return _date_formatted(value, format, str(current_locale()), current_app.config["TIMEZONE"])
