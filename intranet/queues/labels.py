"""Translated labels for actions, statuses and channels: templates show these, never the raw codes."""
from intranet.i18n import lazy_gettext as _l

from intranet.i18n import locale_code

ACTION_LABELS = {
    "submit": _l("Submitted"), "accept": _l("Accept"), "return": _l("Return for correction"),
    "reject": _l("Reject"), "resubmit": _l("Resubmit corrected"), "comment": _l("Add comment"),
    "claim": _l("Take"), "release": _l("Release"), "assign": _l("Reassign"),
    "answer": _l("Send the answer to the citizen"),
}
HISTORY_LABELS = {
    "submit": _l("submitted the request"), "accept": _l("accepted"), "return": _l("returned it for correction"),
    "reject": _l("rejected it"), "resubmit": _l("resubmitted it corrected"), "comment": _l("commented"),
    "claim": _l("took it"), "release": _l("released it"), "assign": _l("assigned it"),
    "answer": _l("answered the inquiry"), "transfer": _l("transferred it to another department"), "reopen": _l("reopened it: the payout was rejected"),
    # letters to ministries (intranet/letters/)
    "letter_draft": _l("wrote the letter to the ministry"), "letter_sent": _l("sent the letter to the ministry"),
    "letter_reply": _l("recorded the ministry's reply"),
    "schedule_interview": _l("scheduled an interview"),  # interview requests: its day, time and place
    "reverse_automatic": _l("reversed the automatic decision"),  # issue 17: a sampled decision reviewed
    "migrate": _l("moved it to the current version of its request type"),  # issue 20: an administrator's migration
}
STATUS_LABELS = {
    "open": _l("Open"), "returned": _l("Returned for correction"),
    "awaiting_citizen": _l("Awaiting the citizen"), "completed": _l("Completed"), "rejected": _l("Rejected"),
}
CHANNEL_LABELS = {"walk_in": _l("Walk-in"), "electronic": _l("Electronic")}
# the open states of the one time rule (models/requests.OPEN_SLA_STATES, Request.sla_where), in its order
SLA_LABELS = {"on_track": _l("On track"), "at_risk": _l("At risk"), "overdue": _l("Overdue"), "paused": _l("Clock paused")}


# single keys on the request panel (documented in the shortcuts dialog)
ACTION_KEYS = {"accept": "a", "return": "r", "reject": "x", "resubmit": "s", "comment": "c", "claim": "t"}


def document_name(request_type, code) -> str:
    for document in request_type.document_list():
        if document["code"] == code:
            return document[f"name_{locale_code()}"]
    return code
