"""Translated labels for actions, statuses and channels: templates show these, never the raw codes."""
from flask_babel import lazy_gettext as _l

ACTION_LABELS = {
    "submit": _l("Submitted"), "accept": _l("Accept"), "return": _l("Return for correction"),
    "reject": _l("Reject"), "resubmit": _l("Resubmit corrected"), "comment": _l("Add comment"),
    "claim": _l("Take"), "release": _l("Release"),
}
HISTORY_LABELS = {
    "submit": _l("submitted the request"), "accept": _l("accepted"), "return": _l("returned it for correction"),
    "reject": _l("rejected it"), "resubmit": _l("resubmitted it corrected"), "comment": _l("commented"),
    "claim": _l("took it"), "release": _l("released it"),
}
STATUS_LABELS = {
    "open": _l("Open"), "returned": _l("Returned for correction"),
    "awaiting_citizen": _l("Awaiting the citizen"), "completed": _l("Completed"), "rejected": _l("Rejected"),
}
CHANNEL_LABELS = {"walk_in": _l("Walk-in"), "electronic": _l("Electronic")}


def init_app(app):
    from intranet.workflow import allowed_actions

    app.jinja_env.globals.update(allowed_actions=allowed_actions, ACTION_LABELS=ACTION_LABELS, HISTORY_LABELS=HISTORY_LABELS,
                                 STATUS_LABELS=STATUS_LABELS, CHANNEL_LABELS=CHANNEL_LABELS)
