"""What the citizen is told, and when: the one place that turns a change of a request into notification rows,
inside the change's own transaction (workflow._record calls on_change). A job delivers them (delivery.py).

One row per event, channel and recipient: the dedupe key names the history entry that caused it, so a retried
or replayed action can never queue the same message twice.
"""
from babel.dates import format_date

from intranet.db import insert_row
from intranet.i18n import ltr
from intranet import interviews, reference
from intranet.models import Notification, RequestType, Stage
from intranet.notify import wording

# history action (and where it led) -> the citizen's event
_RETURNED_TO_CITIZEN = "awaiting_citizen"


def event_for(entry) -> str | None:
    """The citizen event a history entry is, or None (internal steps: claims, comments, returns between
    stages, which the citizen need not hear about; they hear when it moves on or comes back to them)."""
    if entry.action == "submit":
        return "request_received"
    if entry.action == "answer":
        return "inquiry_answered"  # the answer itself, to the citizen who asked (the desk's and a department's)
    if entry.action == "accept" and entry.to_status == "completed":
        return "completed"
    if entry.action == "accept":
        return "moved_on"
    if entry.action == "return" and entry.to_status == _RETURNED_TO_CITIZEN:
        return "returned"
    if entry.action == "reject":
        return "rejected"
    if entry.action == "schedule_interview":
        return "interview_scheduled"  # set or moved: every new date is told (the reminder: notify.reminders)
    return None


def _document_names(request_type, codes, language) -> str:
    names = {d["code"]: d.get(f"name_{language}") or d["code"] for d in request_type.document_list()}
    return "، ".join(names.get(code, code) for code in codes) if language == "ar" else \
        ", ".join(names.get(code, code) for code in codes)


class LazyContext(dict):
    """Placeholder values computed only when the template in force uses them (formatting dates and names
    costs more than the rest of the message, and it runs inside every action)."""

    def get(self, key, default=None):
        value = dict.get(self, key, default)
        if callable(value):
            value = self[key] = value()
        return value


def citizen_context(req, entry, citizen, language) -> LazyContext:
    """The placeholders' values for one citizen message, in the citizen's language."""
    def stage_name():
        stage = reference.by_id(Stage, entry.to_stage_id if entry is not None and entry.to_stage_id else req.stage_id)
        return stage.name(language) if stage is not None else ""

    def request_type():
        return reference.by_id(RequestType, req.request_type_id)

    return LazyContext({
        # left-to-right values isolated in an Arabic message, or "26-0001720-2" reads 2-0001720-26
        "tracking_number": ltr(req.tracking_number, language),
        "request_type": lambda: request_type().name(language),
        "citizen_name": citizen.full_name,
        "received_date": lambda: format_date(req.received_at, "medium", locale=language),
        "due_date": lambda: format_date(req.due_at, "medium", locale=language),
        "stage": stage_name,
        # the templates end the sentence themselves
        "reason": ((entry.comment if entry is not None else "") or "").strip().rstrip(".。۔"),
        "missing": lambda: _document_names(request_type(), entry.info.get("missing", []), language) if entry else "",
        "amount": lambda: wording.amount_text(req.amount, language) if req.amount is not None else "",
        "answer": (entry.comment or "").strip() if entry is not None and entry.action == "answer" else "",
        # an interview request's interview: as this entry set it, else as the request holds it (the reminder)
        "date": lambda: interviews.when_text(_interview(req, entry)[0], language) if _interview(req, entry)[0] else "",
        "place": lambda: _interview(req, entry)[1],
    })


def _interview(req, entry) -> tuple:
    """The interview's moment (naive UTC, or None) and place that a message tells of."""
    if entry is not None and entry.action == "schedule_interview":
        return interviews.from_iso(entry.info.get("at")), entry.info.get("place", "")
    return req.interview_at, req.interview_place or ""


def queue_citizen(event: str, req, entry=None, key: str | None = None, extra: dict | None = None) -> int:
    """Queue `event`'s SMS (and e-mail when the citizen gave one) to the request's citizen, in their language;
    returns how many rows were added (0: already queued for this key)."""
    citizen = req.citizen
    language = citizen.preferred_language if citizen.preferred_language in ("ar", "en") else "ar"
    context = citizen_context(req, entry, citizen, language)
    context.update(extra or {})
    key = key or f"h{entry.id}"
    added = 0
    for channel, recipient in (("sms", citizen.phone), ("email", citizen.email)):
        if not recipient:
            continue
        subject, body = wording.message(event, channel, language, context)
        added += insert_row(Notification, {
            "request": req.id, "history": entry.id if entry is not None else None, "citizen": citizen.id,
            "event": event, "channel": channel, "language": language, "recipient": recipient,
            "subject": subject, "body": body, "dedupe_key": f"{event}:{key}:{channel}",
        }, ignore_conflict=True) is not None
    if added:
        _trigger()
    return added


def on_change(req, entry):
    """Called by the workflow for every history entry, inside its transaction."""
    event = event_for(entry)
    if event is not None:
        queue_citizen(event, req, entry)


def queue_staff_email(staff, event: str, language: str, context: dict, dedupe_key: str, attachment: str = ""):
    """A staff e-mail (the morning digests, the printed reports with `attachment`: a file's path); None when the
    person has no address or it was already queued."""
    if not staff.email:
        return None
    subject, body = wording.message(event, "email", language, context)
    new_id = insert_row(Notification, {
        "staff": staff.id, "event": event, "channel": "email", "language": language, "recipient": staff.email,
        "subject": subject, "body": body, "dedupe_key": dedupe_key, "attachment": attachment or ""},
        ignore_conflict=True)
    if new_id is None:
        return None
    _trigger()
    return Notification.get_by_id(new_id)


def _trigger():
    from intranet.notify import delivery  # the delivery job, a moment after the commit; imported late (cycle)
    delivery.trigger_soon()
