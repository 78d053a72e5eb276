"""The twice-monthly statements (seed 001), each as it stood at the start of its day:

- the alert statement (ALERT_STATEMENT_DAYS): per department, what falls due in the next 30 days, earliest
  first, and what is already overdue (by the one time rule: a request waiting for the citizen is neither);
- the execution statement (EXECUTION_STATEMENT_DAYS): per department, what was completed, rejected or returned
  since the previous execution day, with the reason given for each.

Both tell what automation does (issue 17): the alert statement, the periodic benefits it will renew in the next 30
days and those it would refuse, with the reason; the execution statement, what it decided since the previous
execution day (renewals and other automatic decisions) and each refusal with its reason, per person.
"""
import datetime as dt
from dataclasses import dataclass, field

from flask import current_app

from intranet.automation import renewals
from intranet.reports import past_state
from intranet.stats import figures as stats

ALERT_DAYS_AHEAD = 30
KINDS = ("alert_statement", "execution_statement")
_DAYS_SETTING = {"alert_statement": "ALERT_STATEMENT_DAYS", "execution_statement": "EXECUTION_STATEMENT_DAYS"}


@dataclass
class Section:
    department: object
    due_soon: list = field(default_factory=list)  # alert: OpenItem, earliest due first
    overdue: list = field(default_factory=list)
    decided: dict = field(default_factory=lambda: {outcome: [] for outcome in past_state.DECISIONS})  # execution


@dataclass
class Statement:
    kind: str
    day: dt.date
    since: dt.date | None  # execution: the previous execution day
    sections: list
    # issue 17: alert, the benefits automation will renew in the next 30 days and those it would refuse, with why
    # (renewals.Forecast); execution, what automation decided since the previous execution day (renewals.Done)
    automation: list = field(default_factory=list)


def days_of_month(kind: str) -> list[int]:
    """The configured days of the month of a kind of statement ("1,15" -> [1, 15])."""
    text = current_app.config[_DAYS_SETTING[kind]]
    return sorted({int(part) for part in str(text).split(",") if part.strip()})


def is_due(kind: str, day: dt.date) -> bool:
    return day.day in days_of_month(kind)


def previous_day(kind: str, day: dt.date) -> dt.date:
    """The latest configured day of `kind` before `day` (62 days back at most: two months)."""
    days = days_of_month(kind)
    for back in range(1, 63):
        candidate = day - dt.timedelta(days=back)
        if candidate.day in days:
            return candidate
    return day - dt.timedelta(days=31)


def build(kind: str, day: dt.date) -> Statement:
    if kind == "alert_statement":
        return alert(day)
    if kind == "execution_statement":
        return execution(day)
    raise ValueError(kind)


def alert(day: dt.date) -> Statement:
    """The open items at the start of `day` due within ALERT_DAYS_AHEAD days, and those already overdue."""
    moment = stats.day_bounds(day)[0]
    horizon = moment + dt.timedelta(days=ALERT_DAYS_AHEAD)
    sections = {dept.id: Section(dept) for dept in past_state.departments()}
    for item in sorted(past_state.open_at(moment), key=lambda item: (item.due_at, item.id)):
        section = sections.get(item.department_id)
        if section is None or item.state == "paused":
            continue
        if item.state == "overdue":
            section.overdue.append(item)
        elif item.due_at < horizon:
            section.due_soon.append(item)
    return Statement("alert_statement", day, None, list(sections.values()), renewals.forecast(day))


def execution(day: dt.date) -> Statement:
    """What was decided from the start of the previous execution day to the start of `day`."""
    since = previous_day("execution_statement", day)
    sections = {dept.id: Section(dept) for dept in past_state.departments()}
    for decision in past_state.decisions(stats.day_bounds(since)[0], stats.day_bounds(day)[0]):
        section = sections.get(decision.department_id)
        if section is not None:
            section.decided[decision.outcome].append(decision)
    done = renewals.done_between(stats.day_bounds(since)[0], stats.day_bounds(day)[0])
    return Statement("execution_statement", day, since, list(sections.values()), done)
