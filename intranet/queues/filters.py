"""What a queue page shows, read from the URL: tab, filters, sort, search and the page key."""
import datetime as dt
from dataclasses import dataclass, fields

from intranet.i18n import lazy_gettext as _l

from intranet import params
from intranet.models import AT_RISK_DAYS, Request, utcnow  # noqa: F401 (AT_RISK_DAYS: the one rule's, re-exported)
from intranet.queues.labels import CHANNEL_LABELS, SLA_LABELS

TABS = {
    "unassigned": _l("Unassigned"), "mine": _l("Mine"), "returned": _l("Returned / awaiting correction"),
    "all": _l("All open"), "overdue": _l("Overdue"),
}
AGES = {"week": _l("Received this week"), "month": _l("8 to 30 days ago"), "older": _l("More than 30 days ago")}
SORTS = {"due": _l("Due date"), "received": _l("Received date")}


@dataclass(frozen=True)  # hashable: a kept piece of HTML is keyed by it (intranet/fragments.py)
class QueueFilters:
    tab: str = "all"
    type: str = ""
    stage: str = ""
    channel: str = ""
    governorate: str = ""
    sla: str = ""
    age: str = ""
    sort: str = "due"
    q: str = ""
    clerk: str = ""  # a staff id: the items one clerk holds (the dashboard's per-clerk links)

    @classmethod
    def from_args(cls, args) -> "QueueFilters":
        """Known values only: anything else in the URL falls back to the default, never to an error page."""
        choices = {"tab": TABS, "sla": SLA_LABELS, "age": AGES, "sort": SORTS, "channel": CHANNEL_LABELS}
        ids = {"stage", "clerk"}  # row ids: digits within the ids' range, else no filter
        values = {}
        for field in fields(cls):
            value = params.arg_text(field.name, max_length=100, source=args)
            allowed = choices.get(field.name)
            if field.name in ids:
                value = str(params.to_id(value) or "")
            if value and (allowed is None or value in allowed):
                values[field.name] = value
        return cls(**values)

    def args(self, **changes) -> dict:
        """URL arguments for url_for: the non-default values, with `changes` applied."""
        merged = {f.name: getattr(self, f.name) for f in fields(self)} | changes
        defaults = QueueFilters()
        return {key: value for key, value in merged.items() if value and value != getattr(defaults, key, None)}

    def __getitem__(self, name):
        return getattr(self, name)

    @property
    def active(self) -> bool:
        return any(self.args(tab="", sort=""))


def filter_choices(request_types, stages, governorates, localized):
    """The filter selects of a queue page: (name, label, [(value, text), ...]) in display order."""
    return [
        ("type", _l("Request type"), [(t.code, localized(t)) for t in request_types]),
        ("stage", _l("Stage"), [(str(s.id), f"{localized(s.request_type)}: {localized(s)}") for s in stages]),
        ("channel", _l("Channel"), list(CHANNEL_LABELS.items())),
        ("governorate", _l("Governorate"), [(g.code, localized(g)) for g in governorates]),
        ("sla", _l("Time left"), list(SLA_LABELS.items())),
        ("age", _l("Age"), list(AGES.items())),
        ("sort", _l("Sort by"), list(SORTS.items())),
    ]


def tab_condition(tab: str, user, now):
    return {
        "unassigned": (Request.status == "open") & Request.assignee.is_null(),
        "mine": Request.assignee == user.id,
        "returned": Request.status.in_(("returned", "awaiting_citizen")),
        "overdue": Request.sla_where("overdue", now),
    }.get(tab)


def sla_condition(state: str, now):
    return Request.sla_where(state, now) if state in SLA_LABELS else None


def age_condition(age: str, now):
    week, month = now - dt.timedelta(days=7), now - dt.timedelta(days=30)
    return {
        "week": Request.received_at >= week,
        "month": (Request.received_at < week) & (Request.received_at >= month),
        "older": Request.received_at < month,
    }.get(age)


def sla_state(req, now=None) -> str:
    """Where one request stands (Request.sla): on_track, at_risk, overdue, paused, or in_time / late once closed."""
    return req.sla(now or utcnow()).state
