"""The supervisors' page of automatic decisions (issue 17): the decisions with their filters and the sample awaiting
review, each linking to its request and explanation; the figures of the range, as numbers and as a chart of the
money committed against the ceilings. Queries are in figures.py."""
from flask import Blueprint, render_template, request
from intranet.i18n import gettext as _

from intranet import params
from intranet.auth import guard, permissions
from intranet.automation import figures
from intranet.i18n import locale_code, localized
from intranet.stats import charts

bp = Blueprint("decision", __name__)


guard.only(bp, permissions.can_see_automation)


def _money_chart(money):
    """Money committed per type today and this month, with its table."""
    shown = [row for row in money if row.rule or row.committed_month]
    labels = [localized(row.request_type) for row in shown]
    series = [(_("Committed today"), [row.committed_day for row in shown]),
              (_("Committed this month"), [row.committed_month for row in shown])]
    title = _("Money committed by automatic decisions")
    return (charts.bar_comparison(labels, series, title=title, locale=locale_code(), chart_id="chart-committed",
                                  x_title=_("Amount"), y_title=_("Request type")),
            charts.data_table(labels, series, caption=title, label_header=_("Request type"), locale=locale_code()),
            title)


@bp.route("/automation/decisions")
def index():
    chosen = figures.filters_from(request.args)
    rows, next_after = figures.decisions(chosen, params.arg_id("after"))
    numbers = figures.figures(chosen)
    return render_template("automation/decisions.html", rows=rows, next_after=next_after, chosen=chosen,
                           numbers=numbers, chart=_money_chart(numbers.money), awaiting=figures.awaiting_review(),
                           types=figures.request_types(),
                           outcomes=figures.OUTCOMES, reviews=figures.REVIEWS)
