"""The range of days a statistics page covers, read from the URL (`from`, `to`, `department`), and its quick choices."""
import datetime as dt

from intranet.i18n import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, ValidationError

MAX_DAYS = 3 * 366  # three years, leap days included: the longest range one page sums
WEEK_STARTS = 5  # Saturday (Monday is 0): the first day of the week in Qatar, as CLDR has it

NOT_A_DATE = _l("Enter the date as year-month-day, for example 2026-03-31.")
QUICK_RANGES = {"today": _l("Today"), "week": _l("This week"), "month": _l("This month"),
                "last_month": _l("Last month"), "year": _l("This year")}


def quick_range(name: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """The days of a quick choice, up to today."""
    first_of_month = today.replace(day=1)
    if name == "today":
        return today, today
    if name == "week":
        return today - dt.timedelta(days=(today.weekday() - WEEK_STARTS) % 7), today
    if name == "month":
        return first_of_month, today
    if name == "last_month":
        last = first_of_month - dt.timedelta(days=1)
        return last.replace(day=1), last
    if name == "year":
        return today.replace(month=1, day=1), today
    raise KeyError(name)


class RangeForm(FlaskForm):
    """From and to, both included, none after today, at most three years; optionally one department."""

    class Meta:
        csrf = False  # a GET form: reading figures changes nothing

    start = DateField(_l("From"), name="from", invalid_value_message=NOT_A_DATE,
                      validators=[InputRequired(_l("Enter the first day of the range."))])
    end = DateField(_l("To"), name="to", invalid_value_message=NOT_A_DATE,
                    validators=[InputRequired(_l("Enter the last day of the range."))])
    department = SelectField(_l("Department"), default="", validate_choice=False, choices=[])

    def __init__(self, *args, today: dt.date, departments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.department.choices = [SelectChoice("", _l("All departments")),
                                   *(SelectChoice(value, label) for value, label in departments)]

    def validate_department(self, field):
        if field.data not in {choice.value for choice in field.choices}:
            raise ValidationError(_l("Choose a department from the list."))

    def validate_end(self, field):
        if self.start.data and field.data and field.data < self.start.data:
            raise ValidationError(_l("The last day comes before the first: choose a later last day."))
        if field.data and field.data > self.today:
            raise ValidationError(_l("Figures exist up to today only: choose today or an earlier day."))
        if self.start.data and field.data and (field.data - self.start.data).days >= MAX_DAYS:
            raise ValidationError(_l("A range covers at most three years: choose a later first day."))

    @property
    def days(self) -> tuple[dt.date, dt.date]:
        return self.start.data, self.end.data
