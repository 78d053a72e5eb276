"""Translated labels for actions, statuses and channels: templates show these, never the raw codes."""
from markupsafe import Markup

from intranet.i18n import gettext as _
from intranet.i18n import lazy_gettext as _l
from intranet.i18n import locale_code, ngettext

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


def sla_text(sla) -> str:
    """Where a request stands, in words (never by colour alone, never a negative count): the one rule's `Sla`
    (intranet.models.requests.sla_at). Templates call it, and `sla_badge`, as globals: as macros, each page (each
    queue row, each request panel) imported their template again (issue 21)."""
    if sla.state == "paused":
        return _("clock paused")
    if sla.state == "in_time":
        return _("answered in time")
    if sla.state == "late":
        return ngettext("answered %(num)d day late", "answered %(num)d days late", sla.days)
    if sla.state == "overdue":
        return ngettext("%(num)d day overdue", "%(num)d days overdue", sla.days)
    return ngettext("%(num)d day left", "%(num)d days left", sla.days)


def sla_badge(sla) -> Markup:
    """`sla_text` in the badge the queue and the request page show (its state's class colours it)."""
    return Markup('<span class="sla sla-{}">{}</span>').format(sla.state, sla_text(sla))


# single keys on the request panel (documented in the shortcuts dialog)
ACTION_KEYS = {"accept": "a", "return": "r", "reject": "x", "resubmit": "s", "comment": "c", "claim": "t"}


def document_name(request_type, code) -> str:
    for document in request_type.document_list():
        if document["code"] == code:
            return document[f"name_{locale_code()}"]
    return code
