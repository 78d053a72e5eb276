"""Interview requests (issue 16): the one rule for an interview's date, time and place as the clerk sets them
(`workflow.schedule_interview` stores them), and how they read in the citizen's language (the SMS, the reminder, the
panel and the history). Times are typed and read in the office's time zone (INTRANET_TIMEZONE), stored in UTC."""
import datetime as dt
from dataclasses import dataclass

from babel.dates import format_date, format_time
from intranet.i18n import lazy_gettext as _l

from intranet import validation
from intranet.models.requests import INTERVIEW_PLACE_MAX_LENGTH
from intranet.models.people import utcnow
from intranet.stats.figures import zone

MAX_DAYS_AHEAD = 366  # an interview is set for the coming months, not years ahead (a mistyped year)
_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")


class InterviewRefused(ValueError):
    """The date or the place cannot be taken; args[0] says what to change, in the person's language."""


@dataclass
class Interview:
    at: dt.datetime  # naive UTC
    place: str

    @property
    def details(self) -> dict:
        """What the history entry keeps: the moment (ISO, UTC) and the place."""
        return {"at": iso(self.at), "place": self.place}


def iso(at: dt.datetime) -> str:
    return at.replace(tzinfo=dt.timezone.utc).isoformat()


def from_iso(text: str) -> dt.datetime | None:
    """A history entry's moment as naive UTC (None: absent or unreadable)."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def _local_to_utc(moment: dt.datetime) -> dt.datetime:
    """A moment in the office's time (naive: read as the office's) as naive UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone())
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _parse(when) -> dt.datetime:
    if isinstance(when, dt.datetime):
        return when
    text = validation.strip_controls(str(when or "")).strip()
    if not text:
        raise InterviewRefused(_l("Give the interview's date and time."))
    for form in _FORMATS:
        try:
            return dt.datetime.strptime(text, form)
        except ValueError:
            continue
    raise InterviewRefused(_l("Give the interview's date and time as day, month, year, hour and minute."))


def check(when, place, now: dt.datetime | None = None) -> Interview:
    """The interview as it will be stored: `when` (the form's local date and time, or a datetime; naive is the
    office's time) in the future and within MAX_DAYS_AHEAD days, `place` without control characters, not empty, at
    most INTERVIEW_PLACE_MAX_LENGTH characters. InterviewRefused says what is wrong."""
    now = now or utcnow()
    try:
        at = _local_to_utc(_parse(when))
    except (OverflowError, ValueError) as refused:
        if isinstance(refused, InterviewRefused):
            raise
        raise InterviewRefused(_l("Give the interview's date and time as day, month, year, hour and minute.")) \
            from None
    if at <= now:
        raise InterviewRefused(_l("The interview must be set for a time still to come."))
    if at > now + dt.timedelta(days=MAX_DAYS_AHEAD):
        raise InterviewRefused(_l("The interview must be set within the coming year: check the year."))
    place = " ".join(validation.strip_controls(place).split())
    if not place:
        raise InterviewRefused(_l("Say where the interview takes place."))
    if len(place) > INTERVIEW_PLACE_MAX_LENGTH:
        raise InterviewRefused(_l("At most %(max_length)s characters.", max_length=INTERVIEW_PLACE_MAX_LENGTH))
    return Interview(at, place)


def local(at: dt.datetime) -> dt.datetime:
    """A stored (naive UTC) moment in the office's time, naive."""
    return at.replace(tzinfo=dt.timezone.utc).astimezone(zone()).replace(tzinfo=None)


def input_value(at: dt.datetime | None) -> str:
    """The moment as a datetime-local input's value (the office's time)."""
    return local(at).strftime("%Y-%m-%dT%H:%M") if at else ""


def when_text(at, language: str) -> str:
    """The interview's day and time as the citizen and staff read them, in `language`, in the office's time (`at`:
    naive UTC, or a history entry's ISO text; "" when there is none)."""
    at = from_iso(at) if isinstance(at, str) else at
    if at is None:
        return ""
    moment = local(at)
    day = format_date(moment.date(), "full", locale=language)
    time = format_time(moment.time(), "short", locale=language)
    # CLDR puts a narrow no-break space before AM/PM: outside GSM-7, it would make an English SMS cost double
    time = time.replace("\u202f", " ").replace("\u00a0", " ")
    return f"{day}، {time}" if language == "ar" else f"{day}, {time}"
