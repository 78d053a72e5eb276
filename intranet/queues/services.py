"""Queue and request-page queries: tabs, filters, search, key-set pagination, counts, history."""
from collections import defaultdict
from types import SimpleNamespace
from functools import reduce
from operator import and_

from peewee import JOIN, SQL, fn

from intranet import paging, reference, search
from intranet.db import instance, is_sqlite, select, select_tuples
from intranet.models import (
    Attachment,
    Citizen,
    Department,
    Governorate,
    HistoryEntry,
    Request,
    RequestType,
    Staff,
    Stage,
    utcnow,
)
from intranet.models.automation import AutoDecision
from intranet.models.notifications import Notification
from intranet.notify import staff as staff_notices
from intranet.models.delegations import Delegation
from intranet.params import to_id
from intranet.i18n import localized
from intranet.queues.filters import TABS, age_condition, filter_choices, sla_condition, tab_condition
from intranet.request_substance import portal_client
from intranet.staff import absence

SORT_COLUMNS = {"due": Request.due_at, "received": Request.received_at}


def _reference_id(model, code):
    row = by_code(model, code) if code else None
    return row.id if row else None


def by_code(model, code):
    """A reference row (department, request type, governorate) by its code, or None: the table's few rows are
    remembered a minute (intranet/reference.py), whatever code a URL names."""
    return reference.cached(f"{model.__name__}_by_code", None,
                            lambda _: {row.code: row for row in model.select()}).get(code)


_by_id = reference.by_id


def filter_rows(department):
    """What the queue's filter selects offer (filters.filter_choices): the request types, the department's stages
    with their types, the governorates; reference rows, remembered a minute like the rest (intranet/reference.py)."""
    return (
        reference.cached("request_types", None, lambda _: list(RequestType.select().order_by(RequestType.id))),
        reference.cached("queue_stages", department.id, lambda department_id: list(
            Stage.select(Stage, RequestType).join(RequestType).where(Stage.department == department_id)
            .order_by(Stage.request_type, Stage.position))),
        reference.cached("governorates", None, lambda _: list(Governorate.select().order_by(Governorate.id))),
    )


def filter_choices_of(department, locale: str) -> tuple:
    """The queue's filter selects in `locale` as texts (filters.filter_choices), made once with the reference rows
    they come from (intranet/reference.py: made again after any change to them)."""
    return reference.cached(f"queue_filter_choices:{locale}", department.id, lambda _: tuple(
        (name, str(label), tuple((value, str(text)) for value, text in choices))
        for name, label, choices in filter_choices(*filter_rows(department), localized)))


def _conditions(filters, values: dict):
    """Every condition the page's tab, filters and search put on the department's open work, from `values` (see
    `queue_page`: the department, the person, the moment, the filters' ids and texts)."""
    now = values["now"]
    conditions = [Request.department == values["department"], Request.open_work()]
    optional = [
        tab_condition(filters.tab, SimpleNamespace(id=values["user"]), now),
        sla_condition(filters.sla, now),
        age_condition(filters.age, now),
        search.request_condition(filters.q),
    ]
    if "type" in values:
        optional.append(Request.request_type == values["type"])
    if "governorate" in values:
        optional.append(Request.governorate == values["governorate"])
    if "stage" in values:
        optional.append(Request.stage == values["stage"])
    if "channel" in values:
        optional.append(Request.channel == values["channel"])
    if "clerk" in values:
        optional.append(Request.assignee == values["clerk"])
    return conditions + [c for c in optional if c is not None]


def queue_page(department, filters, user, after_id=None, size=25, counts=False):
    """One page of rows and the key of the next page (None on the last): key-set pagination, never OFFSET; with
    `counts`, the tab counts as well (`tab_counts`).

    Each page view runs this query: its SQL text is made once for each shape of filters (db.select), from the values
    that change between views; a search's conditions change with its words, so a search builds it each time. On
    PostgreSQL the tab counts come in the same statement (a CTE joined to every row; asked alone when the page has no
    row): each statement is a round trip, and on the two cores each round trip cost the web server more CPU than the
    statement's own work (issue 21). SQLite answers in the process: there they are their own statement."""
    now = utcnow()
    column = SORT_COLUMNS[filters.sort]
    last = Request.select(column, Request.id).where(Request.id == after_id).first() if to_id(after_id) else None
    named = [("department", department.id), ("user", user.id), ("now", now)]
    if filters.type:
        named.append(("type", _reference_id(RequestType, filters.type)))
    if filters.governorate:
        named.append(("governorate", _reference_id(Governorate, filters.governorate)))
    if (stage := to_id(filters.stage)) is not None:
        named.append(("stage", stage))
    if filters.channel:
        named.append(("channel", filters.channel))
    if (clerk := to_id(filters.clerk)) is not None:
        named.append(("clerk", clerk))
    if last:
        named += [("after_key", getattr(last, column.name)), ("after_id", last.id)]
    names, values = tuple(name for name, _ in named), [value for _, value in named]

    def ids(*given):
        by_name = dict(zip(names, given))
        query = Request.select(Request.id).where(reduce(and_, _conditions(filters, by_name)))
        if "after_id" in by_name:
            query = query.where(paging.beyond((column, Request.id), (by_name["after_key"], by_name["after_id"])))
        return query.order_by(column, Request.id).limit(size + 1)

    if filters.q or None in values:  # (an unknown type or governorate code: no request has it)
        # a search's SQL is built for each view: the ids' query alone, its rows by the cached query of rows by id
        found, next_after = paging.cut([row[0] for row in ids(*values).tuples()], size, lambda row_id: row_id)
        items = _items(_rows(found))
        return (items, next_after, tab_counts(department, user)) if counts else (items, next_after)
    merged = counts and not is_sqlite()

    def page(*given):
        # the page's ids found by the index first (a subquery with a LIMIT: neither database folds it into the
        # join), then their rows with the citizen's and assignee's names: one statement
        found = ids(*given).cte("page", columns=("id",))
        if not merged:
            return _with_names(Request.select(*ROW_COLUMNS, Citizen.full_name, Staff.full_name).with_cte(found)
                               .join_from(Request, found, on=(Request.id == found.c.id))).order_by(column, Request.id)
        by_name = dict(zip(names, given))
        counted = _counts_query(department.id, by_name["user"], by_name["now"]).cte("counts", columns=COUNTED)
        return _with_names(Request.select(*ROW_COLUMNS, Citizen.full_name, Staff.full_name,
                                          *(getattr(counted.c, tab) for tab in COUNTED))
                           .with_cte(found, counted).join_from(Request, found, on=(Request.id == found.c.id))
                           .join_from(Request, counted, JOIN.CROSS)).order_by(column, Request.id)

    rows = select_tuples(f"queue_page:{filters.tab}:{filters.sla}:{filters.age}:{filters.sort}:{size}:"
                         f"{','.join(names)}" + (f":counts:{int(department.id)}" if merged else ""), page, *values)
    found, next_after = paging.cut(rows, size, lambda row: row[0])
    if not counts:
        return _items(found), next_after
    if not merged or not rows:  # (no row to carry them: asked alone)
        return _items(found), next_after, tab_counts(department, user)
    return _items([row[:-len(COUNTED)] for row in found]), next_after, _counted(rows[0][-len(COUNTED):])


def _with_names(query):
    """The query of queue rows joined to the citizen and the assignee for their names (as `.tuples()`)."""
    return (query.join_from(Request, Citizen)
            .join_from(Request, Staff, JOIN.LEFT_OUTER, on=(Request.assignee == Staff.id)).tuples())


def _rows(ids) -> list:
    """The queue rows (ROW_COLUMNS and the two names) of these requests in the order of `ids`."""
    if not ids:
        return []
    by_id = {row[0]: row for row in select_tuples(f"queue_rows:{len(ids)}", lambda *ids: _with_names(
        Request.select(*ROW_COLUMNS, Citizen.full_name, Staff.full_name).where(Request.id.in_(ids))), *ids)}
    return [by_id[i] for i in ids]


class QueueItem:
    """A request as a queue row shows it and its permission rules read it (rows.row_of, permissions.allowed_actions):
    the same names as on Request, read as plain values; building 25 Request models with their citizen and assignee
    cost peewee half a millisecond a page, more than running the query (issue 21)."""
    __slots__ = ("id", "tracking_number", "citizen", "request_type_id", "stage_id", "department_id", "channel",
                 "status", "assignee_id", "version", "due_at", "paused_at", "closed_at", "assignee", "request_type",
                 "stage")

    def __init__(self, values, citizen_name, assignee_name, reference_row):
        (self.id, self.tracking_number, self.request_type_id, self.stage_id, self.department_id, self.channel,
         self.status, self.assignee_id, self.version, self.due_at, self.paused_at, self.closed_at) = values
        self.citizen, self.assignee = SimpleNamespace(full_name=citizen_name), SimpleNamespace(full_name=assignee_name)
        self.request_type, self.stage = reference_row(RequestType, self.request_type_id), reference_row(Stage, self.stage_id)

    is_open = Request.is_open
    sla = Request.sla


# what QueueItem holds, in its order
ROW_COLUMNS = (Request.id, Request.tracking_number, Request.request_type, Request.stage, Request.department,
               Request.channel, Request.status, Request.assignee, Request.version, Request.due_at, Request.paused_at,
               Request.closed_at)


def _items(rows) -> list:
    """The page's rows as QueueItems; their type and stage are reference rows (`_by_id`), not read again for each
    row."""
    known = {}

    def reference_row(model, row_id):  # the page's few types and stages, each asked of the cache once
        if (model, row_id) not in known:
            known[model, row_id] = _by_id(model, row_id)
        return known[model, row_id]

    return [QueueItem(values, citizen_name, assignee_name, reference_row)
            for *values, citizen_name, assignee_name in rows]


def tab_counts(department, user) -> dict:
    """How many open requests each tab holds, in one pass over the department's open-work index (`_counts_query`)."""
    department_id = int(department.id)
    (row,) = select_tuples(f"tab_counts:{department_id}", lambda user_id, now: (
        _counts_query(department_id, user_id, now).tuples()), user.id, utcnow())
    return _counted(row)


COUNTED = ("all", *(tab for tab in TABS if tab != "all"))  # the tabs counted, in the order of `_counts_query`


def _counts_query(department_id: int, user_id, now):
    """The tab counts of a department's open requests, for the person `user_id` at `now`: one COUNT(...) FILTER
    (WHERE its condition) a tab (`tab_condition`), in the order of COUNTED.

    The department is written into the statement (a statement for each department, its SQL made once): given as a
    parameter, PostgreSQL planned the statement again on every page (0.1 ms), its plan for the one department always
    looking cheaper than the generic plan for the average department, though both are the same scan of the index
    (issue 21)."""
    query = Request.select(*[(fn.COUNT(Request.id) if tab == "all" else fn.COUNT(Request.id).filter(
        tab_condition(tab, SimpleNamespace(id=user_id), now))).alias(tab) for tab in COUNTED])
    if is_sqlite():
        # SQLite's planner would pick the narrower received-date index and read the table for each row
        query = query.from_(SQL('"request" AS "t1" INDEXED BY "request_open_by_due"'))
    return query.where((Request.department == SQL(str(int(department_id)))) & Request.open_work())


def _counted(values) -> dict:
    return {tab: int(count or 0) for tab, count in zip(COUNTED, values)}


def _entered_by_name():
    """The name of the staff member who entered the request (its page's "Brought in"), as a column of its row."""
    entered_by = Staff.alias("entered_by")
    return (entered_by.select(entered_by.full_name).where(entered_by.id == Request.entered_by)
            .alias("entered_by_name"))


def find_request(tracking_number: str):
    """The request with what its page shows of it: citizen, assignee, the name of who entered it (`entered_by_name`)
    and of the portal client that sent it (`portal_client`; both for request_substance.origin) in one query, read
    as values (db.instance); its type, stage and department are reference rows (`_by_id`), not built again from a
    join for each page (issue 21)."""
    found = select_tuples("find_request", lambda number: (
        Request.select(*_REQUEST, *_CITIZEN, *_STAFF, _entered_by_name(), portal_client().alias("portal_client"),
                       _any(Attachment), _any(AutoDecision))
        .join_from(Request, Citizen)
        .join_from(Request, Staff, JOIN.LEFT_OUTER, on=(Request.assignee == Staff.id))
        .where(Request.tracking_number == number).limit(1).tuples()), tracking_number.strip())
    if not found:
        return None
    row, citizen_at, staff_at = found[0], len(_REQUEST), len(_REQUEST) + len(_CITIZEN)
    req = instance(Request, row[:citizen_at])
    req.citizen = instance(Citizen, row[citizen_at:staff_at])
    if req.assignee_id is not None:
        req.assignee = instance(Staff, row[staff_at:-4])
    req.request_type = _by_id(RequestType, req.request_type_id)
    req.stage = _by_id(Stage, req.stage_id)
    req.department = _by_id(Department, req.department_id)
    req.entered_by_name, req.portal_client = row[-4], row[-3]
    req.has_files, req.auto_decided = bool(row[-2]), bool(row[-1])
    req._dirty.clear()
    return req


_REQUEST, _CITIZEN, _STAFF = Request._meta.sorted_fields, Citizen._meta.sorted_fields, Staff._meta.sorted_fields


def _any(model):
    """Whether the request has a row of `model` (its attachments, its automatic decision), as a column of its row:
    its page asks for them only when there are some (`history_of`, automation/explain.explain)."""
    return fn.EXISTS(model.select(SQL("1")).where(model.request == Request.id))


def history_of(req):
    """The request's history, oldest first, each entry with its attachments and the name of its actor; the messages
    each entry caused come in the same statement, kept on `req` for notify/staff.timeline_notifications (issue 21:
    a statement fewer on every request page)."""
    entries, messages = [], defaultdict(list)
    columns, notice_at = len(HistoryEntry._meta.sorted_fields), len(HistoryEntry._meta.sorted_fields) + 2
    for row in select_tuples("history_of", lambda request_id: (
            HistoryEntry.select(*HistoryEntry._meta.sorted_fields, Staff.id, Staff.full_name,
                                *staff_notices.TIMELINE_COLUMNS)
            .join(Staff, JOIN.LEFT_OUTER, on=(HistoryEntry.actor == Staff.id))
            .join_from(HistoryEntry, Notification, JOIN.LEFT_OUTER, on=(
                (Notification.history == HistoryEntry.id) & (Notification.request == HistoryEntry.request)))
            .join_from(Notification, staff_notices.ResolvedBy, JOIN.LEFT_OUTER,
                       on=(Notification.resolved_by == staff_notices.ResolvedBy.id))
            .where(HistoryEntry.request == request_id).order_by(HistoryEntry.id, Notification.id).tuples()), req.id):
        if not entries or entries[-1].id != row[0]:  # an entry's first row (one more for each further message)
            entry = instance(HistoryEntry, row[:columns])
            actor_id, actor_name = row[columns:notice_at]
            if actor_id is not None:  # of the actor, what the page shows: the name
                entry.actor = instance(Staff, (actor_id, actor_name), ("id", "full_name"))
                entry._dirty.clear()
            entries.append(entry)
        if row[notice_at] is not None:
            messages[row[0]].append(staff_notices.timeline_item(row[notice_at:]))
    req.timeline = messages
    by_entry = defaultdict(list)
    for attachment in select("attachments_of", lambda request_id: (
            Attachment.select().where(Attachment.request == request_id).order_by(Attachment.id)), req.id) \
            if getattr(req, "has_files", True) else ():  # (found without any by find_request: not asked)
        by_entry[attachment.history_id].append(attachment)
    # the steps taken under a delegation: its grantor, for "A acting for B under delegation n" (issue 18)
    used = {entry.delegation_id for entry in entries} - {None}
    granted = {row.id: row for row in Delegation.select(Delegation, Staff)
               .join(Staff, on=(Delegation.grantor == Staff.id)).where(Delegation.id.in_(list(used)))} if used else {}
    for entry in entries:
        entry.files = by_entry[entry.id]
        entry.acting_for = granted.get(entry.delegation_id)
    return entries


def since_last_return(history):
    """The last return and what came after it (comments, files, resubmission), for the clerk who sent it back."""
    returns = [i for i, entry in enumerate(history) if entry.action == "return"]
    if not returns:
        return None, []
    return history[returns[-1]], history[returns[-1] + 1:]


def stage_names(req):
    """The stages of the request's type (every version's) by id: reference rows, remembered a minute."""
    return reference.cached("stages_of_type", req.request_type_id, lambda type_id: {
        stage.id: stage for stage in Stage.select().where(Stage.request_type == type_id)})


def clerks_of(department):
    """The clerks a supervisor may assign the department's work to: active, and not absent today (issue 18)."""
    return Staff.select().where((Staff.department == department.id) & (Staff.role == "clerk")
                                & Staff.active & absence.present()).order_by(Staff.full_name)
