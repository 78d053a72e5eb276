"""The calendar administrators edit (issue 20): each year's weekend days, its public holidays, and per request type
whether its target counts calendar or working days. Every change is checked first (a refusal says what is wrong
and changes nothing), made in one transaction with its record (`changes.record`) and with a new stamp on the year's
`calendar_year` row, so every process counts with it at once (`intranet/calendar.py`).

Changing the calendar moves no due date already set: a request's target was counted when it arrived and each
stage's budget when the stage began; what follows is counted with the calendar then in force. A type's counting is
part of its definition (`set_counting` saves a new version through `types.save`): a request keeps the counting of
the version it started with (`RequestType.as_of`, asked by `workflow._counts_working_days`) until an administrator
migrates it to the current version."""
import datetime as dt
import uuid

from intranet.i18n import lazy_gettext as _l

from intranet import calendar
from intranet.admin import changes, types
from intranet.admin.reference import Refused, read_names
from intranet.db import transaction
from intranet.i18n import localized
from intranet.models import RequestType
from intranet.models.calendar import CalendarYear, Holiday

FIRST_YEAR, LAST_YEAR = 2000, 2100
LONGEST_HOLIDAY = 30  # days in a row; more is a typing error


def valid_year(year: int) -> bool:
    return FIRST_YEAR <= year <= LAST_YEAR


def weekend_of(year: int) -> tuple[frozenset, bool]:
    """The year's weekend (ISO weekday numbers) and whether it is the default one (no administrator set it)."""
    row = CalendarYear.get_or_none(CalendarYear.year == year)
    if row is None or row.weekend is None:
        return calendar.default_weekend(), True
    return calendar.stored_weekend(row), False


def holidays(year: int) -> list[Holiday]:
    return list(Holiday.select().where(Holiday.year == year).order_by(Holiday.starts_on, Holiday.id))


def holiday_or_none(holiday_id: int) -> Holiday | None:
    return Holiday.get_or_none(Holiday.id == holiday_id)


def request_types() -> list[RequestType]:
    """Every request type with its counting, in definition order."""
    return list(RequestType.select().order_by(RequestType.id))


def request_type_or_none(type_id: int) -> RequestType | None:
    return RequestType.get_or_none(RequestType.id == type_id)


def _weekday_codes(days) -> list[str]:
    return [calendar.WEEKDAYS[day - 1] for day in sorted(days)]


def _renew(year: int, weekend=None):
    """A new stamp on the year's row (made without a weekend, i.e. the default, unless `weekend` is given): in the
    caller's transaction, first, so concurrent edits of one year take turns (the row is locked on PostgreSQL)."""
    stamp = uuid.uuid4().hex
    text = calendar.weekend_text(weekend) if weekend is not None else None
    values = {CalendarYear.stamp: stamp}
    if text is not None:
        values[CalendarYear.weekend] = text
    CalendarYear.insert(year=year, stamp=stamp, weekend=text).on_conflict(
        conflict_target=[CalendarYear.year], update=values).execute()


def set_weekend(actor, year: int, days) -> None:
    """The year's weekend days (ISO numbers 1-7); at least one working day must remain."""
    try:
        chosen = frozenset(int(day) for day in days)
    except (TypeError, ValueError):
        chosen = frozenset({0})
    if not chosen <= set(range(1, 8)):
        raise Refused({"weekend": _l("Choose the weekend among the days of the week.")})
    if len(chosen) == 7:
        raise Refused({"weekend": _l("A week needs at least one working day.")})
    with transaction():
        before, was_default = weekend_of(year)
        _renew(year, chosen)
        changes.record(actor, "weekend", str(year), {"weekend": _weekday_codes(before), "default": was_default},
                       {"weekend": _weekday_codes(chosen), "default": False})
    calendar.forget()


def read_holiday(form) -> dict:
    """The holiday typed in the form, checked: dates in one year, the last not before the first, at most
    LONGEST_HOLIDAY days, names in both languages. Refused names each field that is wrong."""
    errors = {}
    values = read_names(form, errors)
    first = _date(form.get("starts_on"))
    last = _date(form.get("ends_on")) if (form.get("ends_on") or "").strip() else first
    if first is None:
        errors["starts_on"] = _l("Give the holiday's first day as a date.")
    if last is None:
        errors["ends_on"] = _l("Give the holiday's last day as a date, or leave it empty for one day.")
    if first is not None and last is not None:
        if not valid_year(first.year):
            errors["starts_on"] = _l("The calendar covers the years %(first)d to %(last)d.", first=FIRST_YEAR,
                                     last=LAST_YEAR)
        elif last < first:
            errors["ends_on"] = _l("The last day cannot come before the first.")
        elif last.year != first.year:
            errors["ends_on"] = _l("A holiday ends in the year it starts: enter the days of the next year apart.")
        elif (last - first).days + 1 > LONGEST_HOLIDAY:
            errors["ends_on"] = _l("A holiday lasts at most %(days)d days.", days=LONGEST_HOLIDAY)
    if errors:
        raise Refused(errors)
    return dict(values, starts_on=first, ends_on=last)


def _date(raw) -> dt.date | None:
    try:
        return dt.date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


def _as_dict(holiday) -> dict:
    return {"starts_on": holiday.starts_on.isoformat(), "ends_on": holiday.ends_on.isoformat(),
            "name_ar": holiday.name_ar, "name_en": holiday.name_en}


def _check_overlap(values: dict, holiday_id: int | None):
    query = Holiday.select().where((Holiday.year == values["starts_on"].year)
                                   & (Holiday.starts_on <= values["ends_on"])
                                   & (Holiday.ends_on >= values["starts_on"]))
    if holiday_id is not None:
        query = query.where(Holiday.id != holiday_id)
    other = query.first()
    if other is not None:
        raise Refused({"starts_on": _l("These days overlap %(name)s (%(first)s to %(last)s): change that holiday "
                                       "instead.", name=localized(other),
                                       first=other.starts_on.isoformat(), last=other.ends_on.isoformat())})


def add_holiday(actor, form) -> Holiday:
    values = read_holiday(form)
    with transaction():
        _renew(values["starts_on"].year)
        _check_overlap(values, None)
        holiday = Holiday.create(year=values["starts_on"].year, **values)
        changes.record(actor, "holiday", values["starts_on"].isoformat(), None, _as_dict(holiday))
    calendar.forget()
    return holiday


def change_holiday(actor, holiday: Holiday, form) -> Holiday:
    values = read_holiday(form)
    with transaction():
        _renew(holiday.year)
        if values["starts_on"].year != holiday.year:
            _renew(values["starts_on"].year)
        _check_overlap(values, holiday.id)
        before = _as_dict(holiday)
        Holiday.update(year=values["starts_on"].year, **values).where(Holiday.id == holiday.id).execute()
        after = Holiday.get_by_id(holiday.id)
        changes.record(actor, "holiday", values["starts_on"].isoformat(), before, _as_dict(after))
    calendar.forget()
    return after


def remove_holiday(actor, holiday: Holiday) -> None:
    with transaction():
        _renew(holiday.year)
        before = _as_dict(holiday)
        Holiday.delete().where(Holiday.id == holiday.id).execute()
        changes.record(actor, "holiday", before["starts_on"], before, None)
    calendar.forget()


def set_counting(actor, request_type: RequestType, working: bool) -> None:
    """Whether the type's target and its stages' budgets count working days (True) or calendar days. The counting
    is part of the type's definition: the change is saved as the type editor saves one (`types.save`: checked, a
    new version, recorded), so requests in flight keep the counting of the version they started with. Raises
    `types.Refused` when the definition as it stands cannot be saved."""
    spec = types.spec_of(RequestType.get_by_id(request_type.id))
    if spec.get("working_days") == working:
        return
    types.save(actor, {**spec, "working_days": working})
