"""Statistics by governorate and by request type over any range of days, every table as CSV and XLSX."""
from flask import Blueprint, render_template, request
from flask_babel import format_date

from intranet.i18n import gettext as _

from intranet.auth import guard, permissions
from intranet.i18n import locale_code, localized
from intranet.models import Department, Governorate, RequestType, Stage
from intranet.models.stats import EVENTS
from intranet.models.inquiries import InquirySubject
from intranet.stats import charts, export, figures, inquiries
from intranet.stats.export import Table
from intranet.stats.forms import QUICK_RANGES, RangeForm, quick_range

bp = Blueprint("stats", __name__, url_prefix="/stats")
GOVERNORATE_EVENTS = ("received", "completed", "returned", "rejected")
TYPE_EVENTS = ("accepted", "completed", "returned", "rejected", "resubmitted")


def event_headings() -> dict[str, str]:
    """Column headings for the events counted (intranet.models.stats.EVENTS), in the reader's language."""
    return {"received": _("Requests received"), "accepted": _("Accepted to the next stage"),
            "completed": _("Requests completed"), "returned": _("Returned for correction"),
            "rejected": _("Requests rejected"), "resubmitted": _("Resubmitted after correction")}


# Supervisors and administrators read the statistics.
guard.only(bp, permissions.can_see_statistics)


def _caption(title: str, start, end, department) -> str:
    days = format_date(start, "long") if start == end else _(
        "%(first)s to %(last)s", first=format_date(start, "long"), last=format_date(end, "long"))
    caption = _("%(table)s, %(days)s", table=title, days=days)
    return f"{caption} ({localized(department)})" if department else caption


def _footer(rows) -> list[list]:
    """The totals row under the rows (none under no rows)."""
    return [[_("Total"), *(sum(row[i] for row in rows) for i in range(1, len(rows[0])))]] if rows else []


def governorate_table(start, end, department=None) -> Table:
    """Per governorate (the citizen's), requests received, completed, returned and rejected, with the totals."""
    found = figures.counts(start, end, by=("governorate",), department=department and department.id)
    places = [(localized(g), (g.id,)) for g in Governorate.select().order_by(Governorate.id)]
    if (None,) in found:  # requests of citizens without a governorate on record
        places.append((_("Governorate not recorded"), (None,)))
    rows = [[name, *(found.get(key, {}).get(event, 0) for event in GOVERNORATE_EVENTS)] for name, key in places]
    headings = event_headings()
    return Table(_caption(_("Requests by governorate"), start, end, department),
                 [_("Governorate"), *(headings[event] for event in GOVERNORATE_EVENTS)], rows, _footer(rows))


def _types_shown(found, department):
    """The active types (those with a stage in `department` when one is chosen), and any other with figures."""
    query = RequestType.select().order_by(RequestType.id)
    counted = {type_id for type_id, _channel in found}
    if department:
        query = query.where(RequestType.id.in_(Stage.select(Stage.request_type).where(Stage.department == department))
                            | RequestType.id.in_(counted or [0]))
    return [t for t in query if t.active or t.id in counted]


def type_table(start, end, department=None) -> Table:
    """Per request type, requests received (walk-in and electronic) and every later step, with the totals."""
    found = figures.counts(start, end, by=("request_type", "channel"), department=department and department.id)
    rows = []
    for kind in _types_shown(found, department):
        by_channel = {channel: counted for (type_id, channel), counted in found.items() if type_id == kind.id}
        total = {event: sum(counted[event] for counted in by_channel.values()) for event in EVENTS}
        rows.append([localized(kind), total["received"],
                     *(by_channel.get(channel, {}).get("received", 0) for channel in ("walk_in", "electronic")),
                     *(total[event] for event in TYPE_EVENTS)])
    headings = event_headings()
    return Table(_caption(_("Requests by type"), start, end, department),
                 [_("Request type"), headings["received"], _("Received at the desk"), _("Received electronically"),
                  *(headings[event] for event in TYPE_EVENTS)], rows, _footer(rows))


def subject_table(start, end, department=None) -> Table:
    """Inquiries by subject (the department it routes to), received and answered, with the totals; the active
    subjects, any other with figures, and the inquiries without a subject."""
    found = inquiries.counts_by_subject(start, end, department and department.id)
    subjects = [s for s in InquirySubject.select().order_by(InquirySubject.id)
                if (s.active and (department is None or s.department_id == department.id)) or s.id in found]
    shown = [(localized(s), s.id) for s in subjects]
    if None in found:
        shown.append((_("No subject recorded"), None))
    rows = [[name, found.get(key, {}).get("received", 0), found.get(key, {}).get("answered", 0)]
            for name, key in shown]
    return Table(_caption(_("Inquiries by subject"), start, end, department),
                 [_("Subject"), _("Inquiries received"), _("Inquiries answered")], rows, _footer(rows))


TABLES = {"governorates": governorate_table, "types": type_table, "subjects": subject_table}


def _chart(table: Table, columns: tuple[int, ...], title: str):
    """The rows' names against some of the table's columns, as a bar chart with its numbers table."""
    labels = [row[0] for row in table.rows]
    series = [(table.headings[i], [row[i] for row in table.rows]) for i in columns]
    svg = charts.bar_comparison(labels, series, title=title, locale=locale_code(), x_title=_("Requests"),
                                y_title=table.headings[0])
    numbers = charts.data_table(labels, series, caption=title, label_header=table.headings[0], locale=locale_code())
    return svg, numbers


def _range_form() -> RangeForm:
    """The range in the URL, checked; this month so far when the URL names none."""
    today = figures.local_today()
    departments = [(d.code, localized(d)) for d in Department.select().order_by(Department.id)]
    if not {"from", "to", "department"} & request.args.keys():
        first, last = quick_range("month", today)
        return RangeForm(formdata=None, today=today, departments=departments, start=first, end=last)
    form = RangeForm(request.args, today=today, departments=departments)
    form.validate()
    return form


def _chosen_department(form):
    return Department.get_or_none(Department.code == form.department.data) if form.department.data else None


def _refused(form):
    """The form with what to correct, and nothing else: no figure is shown for a range that is not one."""
    return render_template("stats/index.html", form=form, quick=_quick_links(form)), 422


def _quick_links(form):
    """(label, URL arguments, whether it is the range shown) for each quick choice, keeping the department."""
    links = []
    for name, label in QUICK_RANGES.items():
        first, last = quick_range(name, form.today)
        department = None if form.department.errors else form.department.data or None
        args = {"from": first.isoformat(), "to": last.isoformat(), "department": department}
        links.append((label, args, (first, last) == form.days))
    return links


@bp.get("/")
def index():
    """Requests by governorate and by type over the chosen days, as tables and charts, with their downloads."""
    form = _range_form()
    if form.errors:
        return _refused(form)
    department = _chosen_department(form)
    governorates, types = governorate_table(*form.days, department), type_table(*form.days, department)
    return render_template(
        "stats/index.html", form=form, quick=_quick_links(form), governorates=governorates, types=types,
        subjects=subject_table(*form.days, department),
        governorate_chart=_chart(governorates, (1,), _("Requests received by governorate")),
        type_chart=_chart(types, (2, 3), _("Requests received by type, at the desk and electronically")),
        args={"from": form.start.data.isoformat(), "to": form.end.data.isoformat(),
              "department": form.department.data or None})


@bp.get("/export/<any(governorates, types, subjects):table>.<any(csv, xlsx):kind>")
def export_table(table, kind):
    """One of the page's tables for the same days, as a CSV or XLSX file."""
    form = _range_form()
    if form.errors:
        return _refused(form)
    department = _chosen_department(form)
    first, last = form.days
    stem = "-".join([table, *([department.code] if department else []), first.isoformat(), last.isoformat()])
    return export.respond(TABLES[table](first, last, department), kind, stem)
