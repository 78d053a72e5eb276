"""The calendar page (issue 20), administrators only: a year's weekend days and public holidays, and per request type
whether its target counts calendar or working days. A refusal is shown beside its field and nothing is saved."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from intranet.i18n import gettext as _
from flask_login import current_user

from intranet import calendar
from intranet.admin import calendar as service
from intranet.admin import types
from intranet.admin.reference import Refused
from intranet.auth import guard, permissions
from intranet.i18n import localized
from intranet.stats.figures import local_today

bp = Blueprint("calendar", __name__, url_prefix="/admin/calendar")


guard.only(bp, permissions.can_edit_calendar)


def _year_or_404(year: int) -> int:
    return year if service.valid_year(year) else abort(404)


def _page(year: int, errors=None, typed=None, weekend_errors=None, status=200):
    weekend, is_default = service.weekend_of(year)
    return render_template("admin/calendar.html", year=year, weekend=weekend, is_default=is_default,
                           holidays=service.holidays(year), types=service.request_types(), errors=errors or {},
                           typed=typed or {}, weekend_errors=weekend_errors or {}, weekdays=calendar.WEEKDAY_LABELS,
                           first_year=service.FIRST_YEAR, last_year=service.LAST_YEAR), status


@bp.get("/")
def index():
    return redirect(url_for("calendar.year", year=local_today().year))


@bp.get("/<int:year>")
def year(year):
    return _page(_year_or_404(year))


@bp.post("/<int:year>/weekend")
def weekend(year):
    _year_or_404(year)
    try:
        service.set_weekend(current_user, year, request.form.getlist("weekend"))
    except Refused as refused:
        return _page(year, weekend_errors=refused.errors, status=422)
    flash(_("The weekend of %(year)d was saved.", year=year), "success")
    return redirect(url_for("calendar.year", year=year), 303)


@bp.post("/<int:year>/holidays")
def add_holiday(year):
    _year_or_404(year)
    try:
        holiday = service.add_holiday(current_user, request.form)
    except Refused as refused:
        return _page(year, errors=refused.errors, typed=request.form, status=422)
    flash(_("The holiday %(name)s was added.", name=localized(holiday)), "success")
    return redirect(url_for("calendar.year", year=holiday.year), 303)


def _holiday_or_404(holiday_id):
    return service.holiday_or_none(holiday_id) or abort(404)


@bp.route("/holidays/<int:holiday_id>", methods=["GET", "POST"])
def edit_holiday(holiday_id):
    holiday = _holiday_or_404(holiday_id)
    errors, typed, status = {}, None, 200
    if request.method == "POST":
        try:
            saved = service.change_holiday(current_user, holiday, request.form)
        except Refused as refused:
            errors, typed, status = refused.errors, request.form, 422
        else:
            flash(_("The holiday %(name)s was saved.", name=localized(saved)), "success")
            return redirect(url_for("calendar.year", year=saved.year), 303)
    return render_template("admin/calendar_holiday.html", holiday=holiday, errors=errors,
                           typed=typed or {"starts_on": holiday.starts_on.isoformat(),
                                           "ends_on": holiday.ends_on.isoformat(),
                                           "name_ar": holiday.name_ar, "name_en": holiday.name_en}), status


@bp.post("/holidays/<int:holiday_id>/delete")
def delete_holiday(holiday_id):
    holiday = _holiday_or_404(holiday_id)
    service.remove_holiday(current_user, holiday)
    flash(_("The holiday %(name)s was removed.", name=localized(holiday)), "success")
    return redirect(url_for("calendar.year", year=holiday.year), 303)


@bp.post("/counting/<int:type_id>")
def counting(type_id):
    request_type = service.request_type_or_none(type_id) or abort(404)
    working = request.form.get("working_days")
    if working not in ("0", "1"):
        abort(400)
    try:
        service.set_counting(current_user, request_type, working == "1")
    except types.Refused as refused:
        flash(_("The counting of %(type)s was not changed: %(reasons)s", type=localized(request_type),
                reasons=" ".join(str(message) for message in refused.messages)), "error")
        return redirect(url_for("calendar.year", year=request.form.get("year", type=int) or local_today().year)
                        + "#counting", 303)
    flash(_("%(type)s now counts its target in %(counting)s.", type=localized(request_type),
            counting=calendar.COUNTING_LABELS[working == "1"]), "success")
    return redirect(url_for("calendar.year", year=request.form.get("year", type=int) or local_today().year)
                    + "#counting", 303)
