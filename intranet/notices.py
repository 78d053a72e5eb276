"""Citizen notices: the outbox rows written inside the transaction of the event that causes them.

Delivery is a job's work (jobs/); a row's unique `dedupe_key` makes sure one event never gives two messages.
"""
from flask_babel import force_locale, format_date
from flask_babel import gettext as _

from intranet.db import insert_row
from intranet.i18n import localized
from intranet.models import Notification


def _received_text(req) -> str:
    return _("Your request \u201c%(type)s\u201d was received. Tracking number %(number)s. "
             "Expected answer by %(date)s.", type=localized(req.request_type), number=req.tracking_number,
             date=format_date(req.due_at, "medium"))


TEXTS = {"request_received": _received_text}


def queue_sms(req, event: str):
    """One SMS for `event` on `req` in the citizen's language; a second call for the same event adds nothing
    (the unique dedupe key, in one statement)."""
    citizen = req.citizen
    with force_locale(citizen.preferred_language):
        body = TEXTS[event](req)
    insert_row(Notification, {"request": req.id, "citizen": citizen.id, "event": event, "channel": "sms",
                              "language": citizen.preferred_language, "recipient": citizen.phone, "body": body,
                              "dedupe_key": f"{event}:{req.id}:sms"}, ignore_conflict=True)
