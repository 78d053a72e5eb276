"""The supervisor's dashboard: what came in and went out, what is open and how late, who holds what.

Thin: `dashboard.build` gathers the figures, `charts` draws them; the page links each overdue count to the queue
filtered to exactly those items.
"""
from flask import Blueprint, abort, request
from intranet.i18n import gettext as _

from intranet import params
from intranet.auth import guard, permissions
from intranet.htmx import render
from intranet.i18n import locale_code, localized
from intranet.models.requests import OPEN_SLA_STATES
from intranet.models import Department
from intranet.queues.labels import SLA_LABELS
from intranet.stats import charts, dashboard, export, figures
from intranet.stats.views import event_headings

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


guard.only(bp, permissions.can_see_statistics)


def age_label(limits) -> str:
    low, high = limits
    return _("%(low)s–%(high)s days", low=low, high=high) if high is not None else _("over %(low)s days",
                                                                                          low=low - 1)


def _charts(data) -> dict:
    """Each chart with the table of its numbers."""
    locale = locale_code()
    names = event_headings()
    made = {}

    def add(name, draw, labels, series, title, label_header, **options):
        """(svg, table, title): the title is the figure's visible caption too; `x_title` and `y_title` name the
        axes in the reader's language."""
        made[name] = (draw(labels, series, title=title, locale=locale, chart_id=f"chart-{name}", **options),
                      charts.data_table(labels, series, caption=title, label_header=label_header, locale=locale),
                      title)

    trend = data["trend"]
    add("trend", charts.trend_chart, trend["days"],
        [(names["received"], trend["received"]), (names["completed"], trend["completed"])],
        _("Received and completed per day"), _("Day"), x_title=_("Day"), y_title=_("Requests"))
    days = data["sla_days"]
    add("sla", charts.stacked_bar_chart, days,
        [(str(SLA_LABELS[state]), [data["sla"][day][state] for day in days]) for state in OPEN_SLA_STATES],
        _("Open items at the end of each day, by time left"), _("Day"), palette=charts.SLA, x_title=_("Day"),
        y_title=_("Open items"))
    ages = data["ages"]
    add("ages", charts.histogram, [age_label(limits) for limits in ages], [(_("Open items"), list(ages.values()))],
        _("Open items by age"), _("Age"), x_title=_("Days since received"), y_title=_("Open items"))
    answer_days = data["answer_days"]
    add("answers", charts.histogram, [age_label(limits) for limits in answer_days],
        [(_("Requests answered"), list(answer_days.values()))], _("Answers of the period by days taken"),
        _("Days taken"), x_title=_("Days taken to answer (the clock stops while the citizen holds a request)"),
        y_title=_("Requests answered"))
    governorates = data["governorates"]
    add("governorates", charts.bar_comparison, [localized(g) for g, _n in governorates],
        [(names["received"], [n for _g, n in governorates])], _("Received by governorate"), _("Governorate"),
        x_title=_("Requests received"), y_title=_("Governorate"))
    return made


EVENT_COLUMNS = ("received", "accepted", "returned", "rejected", "completed")


def _tables(data) -> dict[str, export.Table]:
    """The dashboard's two tables as files: what the page shows, cell for cell."""
    names = event_headings()
    headings = [_("Department"), _("Request type"), *(names[e] for e in EVENT_COLUMNS), _("Open: on track"),
                _("Open: at risk"), _("Open: overdue"), _("Open: clock paused")]

    def line(first, second, row):
        return [first, second, *(row.events[e] for e in EVENT_COLUMNS), *(row.open[s] for s in OPEN_SLA_STATES)]
    by_type = export.Table(_("The period's steps and the open items now, by department and request type"), headings,
                           [line(localized(r.department), localized(r.request_type), r) for r in data["rows"]],
                           footer=[line(_("Total"), "", data["totals"])])
    clerks = export.Table(_("Open items held by each clerk, and how many are overdue"),
                          [_("Clerk"), _("Department"), _("Open items held"), _("Overdue"), _("At risk"),
                           _("Absent until")],
                          [[c["staff"].full_name, localized(c["department"]), c["held"], c["overdue"], c["at_risk"],
                            c["absent_until"].isoformat() if c["absent_until"] else ""]
                           for c in data["clerks"]])
    def answered(first, second, row):
        times = row.answers
        return [first, second, times.total, times.in_time, _percent(times.share_in_time), _days(times.median),
                _days(times.p90), row.will_breach]
    answers = export.Table(answers_caption(), answer_headings(),
                           [answered(localized(r.department), localized(r.request_type), r) for r in data["rows"]],
                           footer=[answered(_("Total"), "", data["totals"])])
    return {"by-type": by_type, "clerks": clerks, "answers": answers}


def answers_caption() -> str:
    return _("The period's answers against the target and the open items that will breach it this week, by "
             "department and request type")


def answer_headings() -> list[str]:
    return [_("Department"), _("Request type"), _("Answered"), _("Answered within the target"),
            _("Share within the target"), _("Median days to answer"), _("90th percentile of days to answer"),
            _("Will breach the target this week")]


def _percent(share):
    return "" if share is None else round(share * 100, 1)


def _days(value):
    return "" if value is None else value


def _chosen():
    """The period and department the URL asks for, or the reason it cannot be shown."""
    today = figures.local_today()
    departments = list(Department.select().order_by(Department.id))
    chosen = params.arg_id("department")
    department = chosen if chosen in {d.id for d in departments} else None
    try:
        return today, departments, department, dashboard.period_from(request.args, today), None
    except dashboard.PeriodInvalid as invalid:
        return today, departments, department, dashboard.Period("today", today, today), invalid.message


@bp.get("/")
def index():
    today, departments, department, period, error = _chosen()
    data = dashboard.build(period, department)
    keep = {k: v for k, v in request.args.items() if k in ("period", "from", "to", "department")}
    return render("stats/dashboard.html", status=422 if error else 200, period=period, data=data,
                  charts=_charts(data), departments=departments, department=department, error=error, today=today,
                  PERIODS=dashboard.PERIODS, age_label=age_label, args=request.args, keep=keep,
                  EVENT_HEADINGS=event_headings(), EVENT_COLUMNS=EVENT_COLUMNS, ANSWER_HEADINGS=answer_headings(),
                  ANSWERS_CAPTION=answers_caption())


@bp.get("/export/<any('by-type', clerks, answers):table>.<any(csv, xlsx):kind>")
def export_table(table, kind):
    """A dashboard table as CSV or XLSX, for the same period and department."""
    _today, _departments, department, period, error = _chosen()
    if error:
        abort(422, error)
    stem = f"dashboard-{table}-{period.start.isoformat()}-{period.end.isoformat()}"
    return export.respond(_tables(dashboard.build(period, department))[table], kind, stem)
