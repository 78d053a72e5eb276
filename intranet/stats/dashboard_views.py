"""The supervisor's dashboard: what came in and went out, what is open and how late, who holds what.

Thin: `dashboard.build` gathers the figures, `charts` draws them; the page links each overdue count to the queue
filtered to exactly those items.
"""
from flask import Blueprint, abort, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from intranet.auth import permissions
from intranet.htmx import render
from intranet.i18n import locale_code, localized
from intranet.models import Department
from intranet.models.stats import SLA_STATES
from intranet.queues.filters import SLA_STATES as SLA_LABELS
from intranet.stats import charts, dashboard, figures

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@bp.before_request
@login_required
def readers_only():
    if not permissions.can_see_statistics(current_user):
        abort(403)


def age_label(limits) -> str:
    low, high = limits
    return _("%(low)s–%(high)s days", low=low, high=high) if high is not None else _("over %(low)s days",
                                                                                          low=low - 1)


def _charts(data) -> dict:
    """Each chart with the table of its numbers."""
    locale = locale_code()
    made = {}

    def add(name, draw, labels, series, title, label_header, **options):
        made[name] = (draw(labels, series, title=title, locale=locale, chart_id=f"chart-{name}", **options),
                      charts.data_table(labels, series, caption=title, label_header=label_header, locale=locale))

    trend = data["trend"]
    add("trend", charts.trend_chart, trend["days"],
        [(_("Received"), trend["received"]), (_("Completed"), trend["completed"])],
        _("Received and completed per day"), _("Day"))
    days = data["sla_days"]
    add("sla", charts.stacked_bar_chart, days,
        [(str(SLA_LABELS[state]), [data["sla"][day][state] for day in days]) for state in SLA_STATES],
        _("Open items at the end of each day, by time left"), _("Day"), palette=charts.SLA)
    ages = data["ages"]
    add("ages", charts.histogram, [age_label(limits) for limits in ages], [(_("Open items"), list(ages.values()))],
        _("Open items by age"), _("Age"))
    governorates = data["governorates"]
    add("governorates", charts.bar_comparison, [localized(g) for g, _n in governorates],
        [(_("Received"), [n for _g, n in governorates])], _("Received by governorate"), _("Governorate"))
    return made


@bp.get("/")
def index():
    today = figures.local_today()
    departments = list(Department.select().order_by(Department.id))
    chosen = request.args.get("department", type=int)
    department = chosen if chosen in {d.id for d in departments} else None
    error, status = None, 200
    try:
        period = dashboard.period_from(request.args, today)
    except dashboard.PeriodInvalid as invalid:
        error, status = invalid.message, 422
        period = dashboard.Period("today", today, today)
    data = dashboard.build(period, department)
    return render("stats/dashboard.html", status=status, period=period, data=data, charts=_charts(data),
                  departments=departments, department=department, error=error, today=today,
                  PERIODS=dashboard.PERIODS, age_label=age_label, args=request.args)
