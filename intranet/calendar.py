"""Counting days (issue 20): the ONE function that turns a number of days into a due moment, `add_days(start, days,
working)`, used for a request's target (`due_at`) and every stage's budget (`stage_due_at`) in workflow.py.

Calendar days: `start` + days. Working days: the office's local date of `start` (INTRANET_TIMEZONE) is moved on one
day at a time, counting only days that are neither weekend days of their year nor public holidays, and the due
moment is the last counted day at the same local time of day. A request received on a Thursday evening before a
weekend and a holiday is therefore due the n-th working day after, at the same hour; one received on a weekend day
starts counting with the next working day.

Each year's weekend and holidays (models/calendar.py) are cached per process and database, and read again when the
year's stamp in the database differs (one small query per counting), so an administrator's edit counts at once in
every process; `forget()` drops this process's copy as the edit commits. The default weekend (INTRANET_WEEKEND_DAYS)
is checked when the configuration is loaded (`config._check` calls `parse_weekend`)."""
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import current_app
from intranet.i18n import lazy_gettext as _l

from intranet.models import RequestType
from intranet.models.calendar import CalendarYear, Holiday

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # ISO weekday 1 .. 7
WEEKDAY_LABELS = {1: _l("Monday"), 2: _l("Tuesday"), 3: _l("Wednesday"), 4: _l("Thursday"), 5: _l("Friday"),
                  6: _l("Saturday"), 7: _l("Sunday")}
COUNTING_LABELS = {False: _l("calendar days"), True: _l("working days")}
_UTC = dt.timezone.utc


@dataclass(frozen=True)
class Year:
    year: int
    weekend: frozenset  # ISO weekday numbers
    holidays: frozenset  # dates
    stamp: str  # the database's stamp when read ("" for a year without a row)
    default: frozenset  # the default weekend it was read with (a year without a row uses it)


_years: dict = {}  # (database, year) -> Year


def parse_weekend(raw: str) -> frozenset:
    """"fri,sat" or "5,6" as ISO weekday numbers; ValueError for an unknown day or a week without a working day."""
    days = set()
    for part in (raw or "").replace(" ", "").lower().split(","):
        if not part:
            continue
        if part in WEEKDAYS:
            days.add(WEEKDAYS.index(part) + 1)
        elif part.isdigit() and 1 <= int(part) <= 7:
            days.add(int(part))
        else:
            raise ValueError(f"unknown weekday {part!r}: use {', '.join(WEEKDAYS)}")
    if len(days) == 7:
        raise ValueError("a week needs at least one working day")
    return frozenset(days)


def weekend_text(days) -> str:
    """ISO weekday numbers as the column keeps them: "5,6"."""
    return ",".join(str(day) for day in sorted(days))


def stored_weekend(row) -> frozenset:
    """A `calendar_year` row's weekend as ISO weekday numbers."""
    return frozenset(int(day) for day in row.weekend.split(",") if day)


def default_weekend() -> frozenset:
    return parse_weekend(current_app.config["WEEKEND_DAYS"])


def forget():
    """Drop this process's cached years (an administrator changed the calendar)."""
    _years.clear()


def _load(year: int, row, default) -> Year:
    days = set()
    for holiday in Holiday.select(Holiday.starts_on, Holiday.ends_on).where(Holiday.year == year):
        day = holiday.starts_on
        while day <= holiday.ends_on:
            days.add(day)
            day += dt.timedelta(days=1)
    weekend = stored_weekend(row) if row is not None and row.weekend is not None else default
    return Year(year, weekend, frozenset(days), row.stamp if row else "", default)


def years(first: int, last: int) -> dict[int, Year]:
    """The calendar of each year from `first` to `last`, from this process's cache while it is current."""
    database = current_app.config["DATABASE_URL"]
    default = default_weekend()
    rows = {row.year: row for row in CalendarYear.select().where(CalendarYear.year.between(first, last))}
    found = {}
    for year in range(first, last + 1):
        row = rows.get(year)
        held = _years.get((database, year))
        if held is None or held.stamp != (row.stamp if row else "") or held.default != default:
            held = _years[(database, year)] = _load(year, row, default)
        found[year] = held
    return found


def is_working(day: dt.date, calendar: Year) -> bool:
    return day.isoweekday() not in calendar.weekend and day not in calendar.holidays


def add_days(start: dt.datetime, days: int, working: bool) -> dt.datetime:
    """The moment `days` calendar or working days after `start` (naive UTC, as the database keeps moments)."""
    if not working or days <= 0:
        return start + dt.timedelta(days=days)
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    local = start.replace(tzinfo=_UTC).astimezone(zone)
    day = local.date()
    known = years(day.year, day.year + 1 + days // 200)
    counted = 0
    while counted < days:
        day += dt.timedelta(days=1)
        if day.year not in known:
            known.update(years(day.year, day.year + 1))
        counted += is_working(day, known[day.year])
    due = dt.datetime.combine(day, local.time().replace(tzinfo=None)).replace(tzinfo=zone)
    return due.astimezone(_UTC).replace(tzinfo=None)


def working_day_types() -> list:
    """The request types whose target counts working days, for the pages and documents that say how days are
    counted (the dashboard, the daily summary); every other type counts calendar days."""
    return list(RequestType.select().where(RequestType.working_days == True).order_by(RequestType.id))  # noqa: E712
