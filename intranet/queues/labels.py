"""Translated labels for actions, statuses and channels: templates show these, never the raw codes."""
from flask_babel import lazy_gettext as _l

ACTION_LABELS = {
    "submit": _l("Submitted"), "accept": _l("Accept"), "return": _l("Return for correction"),
    "reject": _l("Reject"), "resubmit": _l("Resubmit corrected"), "comment": _l("Add comment"),
    "claim": _l("Take"), "release": _l("Release"), "assign": _l("Reassign"),
}
HISTORY_LABELS = {
    "submit": _l("submitted the request"), "accept": _l("accepted"), "return": _l("returned it for correction"),
    "reject": _l("rejected it"), "resubmit": _l("resubmitted it corrected"), "comment": _l("commented"),
    "claim": _l("took it"), "release": _l("released it"), "assign": _l("assigned it"),
    "answer": _l("answered it at the desk"), "reopen": _l("reopened it: the payout was rejected"),
}
STATUS_LABELS = {
    "open": _l("Open"), "returned": _l("Returned for correction"),
    "awaiting_citizen": _l("Awaiting the citizen"), "completed": _l("Completed"), "rejected": _l("Rejected"),
}
CHANNEL_LABELS = {"walk_in": _l("Walk-in"), "electronic": _l("Electronic")}


# single keys on the request panel (documented in the shortcuts dialog)
ACTION_KEYS = {"accept": "a", "return": "r", "reject": "x", "resubmit": "s", "comment": "c", "claim": "t"}


def document_name(request_type, code) -> str:
    from intranet.i18n import locale_code
    for document in request_type.document_list():
        if document["code"] == code:
            return document[f"name_{locale_code()}"]
    return code


def init_app(app):
    from intranet.auth import permissions
    from intranet.queues.filters import AGES, SLA_STATES, SORTS, TABS, QueueFilters, sla_state

    # every permission, as the templates ask it: may.see_payouts(current_user), may.allowed_actions(req, current_user)
    app.jinja_env.globals.update(
        may=permissions.for_templates(), sla_state=sla_state, TABS=TABS,
        SLA_STATES=SLA_STATES, AGES=AGES, SORTS=SORTS, ACTION_KEYS=ACTION_KEYS, document_name=document_name,
        empty_filters=QueueFilters)
    from intranet.notify.staff import delivery_error

    app.jinja_env.globals.update(delivery_error=delivery_error)
    app.jinja_env.globals.update(ACTION_LABELS=ACTION_LABELS, HISTORY_LABELS=HISTORY_LABELS,
                                 STATUS_LABELS=STATUS_LABELS, CHANNEL_LABELS=CHANNEL_LABELS)
