"""The office's calendar (issue 20): which days of the week are the weekend and which days are public holidays,
per year, edited by administrators. A request type whose target counts working days (`RequestType.working_days`)
skips them when its due date and its stages' budgets are counted (`intranet/calendar.py`).

A year without a `calendar_year` row, or without a weekend on it, has the default weekend (INTRANET_WEEKEND_DAYS). Each year's `stamp` is new
random text at every change to its weekend or its holidays, written in the same transaction: each process's cache of
a year is read again when the stamp it holds is no longer the database's (random, not a counter, so a database
restored or recreated cannot hand back an old number with other holidays)."""
import peewee as pw

from intranet.db import BaseModel


class CalendarYear(BaseModel):
    year = pw.IntegerField(primary_key=True)
    # ISO weekday numbers, Monday 1 .. Sunday 7, comma separated: "5,6"; null: the default weekend (a year with
    # holidays whose weekend nobody set)
    weekend = pw.CharField(max_length=20, null=True)
    stamp = pw.CharField(max_length=32)  # new random text at every change of the year's weekend or holidays

    class Meta:
        table_name = "calendar_year"


class Holiday(BaseModel):
    """A public holiday of one year: one day, or several in a row (Eid), each with its name in both languages."""

    year = pw.IntegerField()
    starts_on = pw.DateField()
    ends_on = pw.DateField()  # inclusive; the same year as starts_on
    name_ar = pw.CharField(max_length=200)
    name_en = pw.CharField(max_length=200)

    class Meta:
        table_name = "holiday"
        indexes = ((("year", "starts_on"), False),)

    def name(self, locale: str) -> str:
        return self.name_ar if locale == "ar" else self.name_en
