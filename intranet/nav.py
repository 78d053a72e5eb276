"""The header's links (templates/_nav.html): one list, each link with the permission rule that shows it.

What a person sees is the tuple of their links, so the header is rendered once for each set of links and language
(`fragments.keep`, issue 21: its 28 rules, links and labels were a fifth of a queue page's server time). Seeing a
link is not the permission: every route asks its own rule on the server.
"""
from typing import NamedTuple

from intranet.i18n import lazy_gettext as _l

from intranet import fragments
from intranet.auth import permissions as may


class Link(NamedTuple):
    endpoint: str
    label: object  # lazy: in the page's language
    shown: object  # rule(person, delegations held today) -> bool
    badge: bool = False  # the new-items badge beside it (templates/queues/_queue_badge.html)


def _rule(rule):
    return lambda user, held: rule(user)


LINKS = (
    Link("reception.index", _l("Reception desk"), _rule(may.can_enter_requests)),
    Link("ticket.desk", _l("Visitor queue"), _rule(may.can_enter_requests)),
    Link("booking.index", _l("Appointments"), _rule(may.can_enter_requests)),
    Link("booking.services", _l("Booking services"), _rule(may.can_administer)),
    Link("approval.index", _l("Awaiting my approval"), _rule(may.has_approval_list)),
    Link("queues.index", _l("Queues"), lambda user, held: may.can_open_queues(user) and not may.has_queue_badge(user)),
    Link("queues.index", _l("Queues"), lambda user, held: may.can_open_queues(user) and may.has_queue_badge(user),
         badge=True),
    Link("letters.index", _l("Letters"), _rule(may.can_see_letters)),
    Link("file_import.index", _l("Imports"), _rule(may.can_import_requests)),
    Link("payouts.index", _l("Payouts"), _rule(may.can_see_payouts)),
    Link("control.index", _l("Automation"), _rule(may.can_control_automation)),
    Link("registry.index", _l("Registries"), _rule(may.can_edit_automation_rules)),
    Link("rule.index", _l("Automation rules"), _rule(may.can_edit_automation_rules)),
    Link("decision.index", _l("Automatic decisions"), _rule(may.can_see_automation)),
    Link("dashboard.index", _l("Dashboard"), _rule(may.can_see_statistics)),
    Link("stats.index", _l("Statistics"), _rule(may.can_see_statistics)),
    Link("reports.index", _l("Printed documents"), _rule(may.can_see_statistics)),
    Link("unreachable.index", _l("Citizens to call"), _rule(may.can_follow_up_unreachable)),
    Link("wording.index", _l("Messages"), _rule(may.can_edit_message_templates)),
    Link("portal_client.index", _l("Portal clients"), _rule(may.can_manage_api_clients)),
    Link("session.overview", _l("Sessions"), _rule(may.can_manage_sessions)),
    Link("calendar.index", _l("Calendar"), _rule(may.can_edit_calendar)),
    Link("reference.index", _l("Reference data"), _rule(may.can_edit_reference_data)),
    Link("staff.index", _l("Staff"), _rule(may.can_see_staff)),
    Link("staff.index", _l("My absences"), lambda user, held: not may.can_see_staff(user)),
    Link("delegation.index", _l("Delegations"), lambda user, held: may.can_manage_delegations(user) or bool(held)),
    Link("type.index", _l("Request types"), _rule(may.can_administer)),
    Link("change.index", _l("Administration history"), _rule(may.can_administer)),
)


def links_of(user, held) -> tuple[int, ...]:
    """The links `user` sees (their places in LINKS), holding the delegations `held` today."""
    return tuple(place for place, link in enumerate(LINKS) if link.shown(user, held))


def html(user, held) -> str:
    """The header's <nav> for `user`, rendered once for each set of links (and language)."""
    shown = links_of(user, held)
    return fragments.keep(("nav", shown), lambda: fragments.render_alone(
        "_nav.html", links=[LINKS[place] for place in shown]))
