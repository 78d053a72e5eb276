"""A queue row's HTML (templates/queues/_queue_row.html), rendered once for what it shows (issue 21).

Rendering 25 rows was more than half of a queue page's server time, though a clerk sees the same rows again and
again. `Row` holds everything a row shows: its texts already in the page's language, its links, the viewer's
actions on it, where its clock stands. The row template reads nothing else (it is rendered with `Row` alone,
outside the page's context), so a row's HTML is a function of its `Row`, kept by `fragments.keep`. Whatever changes
what a row shows changes its `Row`: a workflow step bumps the version and the status, a renamed citizen or stage
changes a text, the next day changes the clock, a delegation or a new role changes the actions.
"""
import datetime as dt
from typing import NamedTuple

from intranet import fragments
from intranet.auth import permissions
from intranet.i18n import locale_code
from intranet.models.people import utcnow
from intranet.models.requests import Sla
from intranet.queues.links import queue_row_links
from intranet.queues.transfers import department_name

TEMPLATE = "queues/_queue_row.html"
ROW_ACTIONS = ("claim", "release")  # what a row offers as buttons (the rest are on the request's page)


class Row(NamedTuple):
    id: int
    tracking_number: str
    version: int
    citizen_name: str
    type_name: str
    stage_name: str
    channel: str
    status: str
    is_open: bool
    here: bool  # open in the queue shown (else done, or moved on to `elsewhere`)
    elsewhere: str
    due_at: dt.datetime
    sla: Sla
    assignee_name: str
    selectable: bool  # the viewer may reassign it (a checkbox)
    actions: tuple  # ROW_ACTIONS the viewer may take on it
    oob: bool  # swapped out of band (beside the request's panel)
    links: object  # the page's link patterns (queue_row_links), the same for all its rows: see `urls`

    @property
    def urls(self):
        """The row's four links: the request page, the same beside the queue, its action form (plain and htmx)."""
        return self.links.for_number(self.tracking_number)


class _Page(NamedTuple):
    """What the rows of one page share: their links, the moment, the language, the viewer's rules asked once for
    all, the names of its few types, stages and departments looked up once each."""
    links: object  # queue_row_links
    now: dt.datetime
    locale: str
    actions_of: object  # permissions.actions_on_rows(viewer)
    selectable: bool  # permissions.can_reassign(viewer)
    oob: bool
    names: dict  # (kind, id) -> the name in `locale`
    buttons: dict  # the viewer's actions on a row -> those it offers as buttons

    def name(self, kind: str, row) -> str:
        key = (kind, row.id)
        if key not in self.names:
            self.names[key] = row.name(self.locale)
        return self.names[key]

    def row_actions(self, req) -> tuple:
        actions = self.actions_of(req)
        key = tuple(actions)
        if key not in self.buttons:
            self.buttons[key] = tuple(a for a in ROW_ACTIONS if a in actions)
        return self.buttons[key]


def row_of(req, department, page) -> Row:
    """What `req`'s row shows in `department`'s queue, on a `page` of rows (`_Page`)."""
    here = req.is_open and req.department_id == department.id
    return Row(
        req.id, req.tracking_number, req.version, req.citizen.full_name, page.name("type", req.request_type),
        page.name("stage", req.stage), req.channel, req.status, req.is_open, here,
        department_name(req.department_id) if req.is_open and not here else "", req.due_at, req.sla(page.now),
        req.assignee.full_name if req.assignee_id else "", page.selectable, page.row_actions(req) if here else (),
        page.oob, page.links)


def _render(row: Row) -> str:
    return fragments.render_alone(TEMPLATE, row=row)


def html(rows, user, department, filter_args: dict, oob=False):
    """The rows' HTML in their order, for `user` in `department`'s queue shown with `filter_args`."""
    page = _Page(queue_row_links(department.code, filter_args), utcnow(), locale_code(),
                 permissions.actions_on_rows(user), permissions.can_reassign(user), oob, {}, {})
    rows = tuple(row_of(req, department, page) for req in rows)
    # the page's rows once more as one piece: a page seen again is one look-up, not one a row
    return fragments.with_token(fragments.keep(("queue_rows", rows), lambda: "".join(
        fragments.keep(("queue_row", row), lambda row=row: _render(row)) for row in rows)))
