"""The wording of every notification: default texts per event, channel and language, an administrator's saved
wording over them, the placeholder rules, a safe renderer and the SMS length arithmetic (GSM-7 / UCS-2)."""
import re
from datetime import date

from babel.dates import format_date
from flask_babel import get_locale
from intranet.i18n import gettext as _
from intranet.i18n import lazy_gettext as _l

from intranet import reference
from intranet.config import setting
from intranet.db import transaction
from intranet.i18n import ltr
from intranet.models.notifications import CITIZEN_EVENTS, STAFF_EVENTS, MessageTemplate
from intranet.models.people import utcnow
from intranet.payouts.labels import format_amount  # the currency's own decimals (QAR: 2), one rule

LANGUAGES = ("ar", "en")
SMS_MAX_CHARACTERS = 480  # what a template's own text may hold; values put in make the message longer
EMAIL_MAX_CHARACTERS = 5000
SUBJECT_MAX_CHARACTERS = 200

INTERVIEW_EVENTS = ("interview_scheduled", "interview_reminder")
_CITIZEN = ("tracking_number", "request_type", "citizen_name", "received_date", "due_date", "stage", "reason",
            "missing")
_STAFF = ("staff_name", "department", "date", "at_risk_count", "overdue_count", "items")
# the printed documents e-mailed to supervisors with the PDF attached (intranet/reports)
REPORT_EVENTS = ("daily_summary", "alert_statement", "execution_statement")
_REPORT = ("staff_name", "day", "items")
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    **{event: _CITIZEN for event in CITIZEN_EVENTS},
    "completed": (*_CITIZEN, "amount"), "payout_sent": (*_CITIZEN, "amount"),
    "inquiry_answered": (*_CITIZEN, "answer"),  # the department's answer to the citizen's own inquiry
    # an interview request's interview (its day and time in the office's time zone, and its place): when set or
    # moved, and the day before
    **{event: (*_CITIZEN, "date", "place") for event in INTERVIEW_EVENTS},
    **{event: _STAFF for event in STAFF_EVENTS},
    **{event: _REPORT for event in REPORT_EVENTS},
}
REQUIRED: dict[str, tuple[str, ...]] = {
    **{event: ("tracking_number",) for event in CITIZEN_EVENTS},
    "returned": ("tracking_number", "missing", "reason"), "rejected": ("tracking_number", "reason"),
    "payout_sent": ("tracking_number", "amount"), "inquiry_answered": ("tracking_number", "answer"),
    **{event: ("tracking_number", "date", "place") for event in INTERVIEW_EVENTS},
    **{event: ("items",) for event in STAFF_EVENTS},
    **{event: ("day",) for event in REPORT_EVENTS},
}
# which channels each event is written for (staff digests are e-mails only)
EVENT_CHANNELS = {**{event: ("sms", "email") for event in CITIZEN_EVENTS},
                  **{event: ("email",) for event in STAFF_EVENTS + REPORT_EVENTS}}

EVENT_LABELS = {
    "request_received": _l("Request received"), "moved_on": _l("Moved to the next stage"),
    "returned": _l("Returned for correction"), "rejected": _l("Rejected"), "completed": _l("Completed"),
    "payout_sent": _l("Payout sent"), "inquiry_answered": _l("Inquiry answered"),
    "interview_scheduled": _l("Interview scheduled"), "interview_reminder": _l("Interview reminder, the day before"),
    "clerk_digest": _l("Clerk's morning digest"),
    "department_digest": _l("Department digest for supervisors"),
    "daily_summary": _l("Daily summary for supervisors"), "alert_statement": _l("Alert statement"),
    "execution_statement": _l("Execution statement"),
    "automation_ceiling": _l("Automation stopped: a spending ceiling reached"),
    # appointments (issue 19): written by intranet/reception/bookings.py in its own words, not editable here
    "booking_code": _l("Booking confirmation code"), "booking_reminder": _l("Appointment reminder, the day before"),
}
CHANNEL_LABELS = {"sms": _l("SMS"), "email": _l("E-mail")}
PLACEHOLDER_LABELS = {
    "tracking_number": _l("the request's tracking number"), "request_type": _l("the type of request"),
    "citizen_name": _l("the citizen's full name"), "received_date": _l("the date the request was received"),
    "due_date": _l("the date an answer is due"), "stage": _l("the stage the request is at now"),
    "reason": _l("the staff member's reason or note"), "missing": _l("the documents still missing"),
    "amount": _l("the amount paid, with its currency"), "answer": _l("the answer to the citizen's inquiry"),
    "staff_name": _l("the staff member's name"),
    "department": _l("the department"),
    "date": _l("the date of the digest; in an interview's messages, the interview's day and time"),
    "place": _l("where the interview takes place"),
    "at_risk_count": _l("how many items are at risk of running late"),
    "overdue_count": _l("how many items are overdue"), "items": _l("the list of items, one per line"),
    "day": _l("the day the document is for"),
}

# The default wording. Arabic SMS stay within two UCS-2 parts (134 characters) for the common case.
_SIGNATURE = {"ar": "ديوان شؤون المواطنين", "en": "Citizens Affairs"}
DEFAULTS: dict[tuple[str, str, str], tuple[str, str]] = {
    ("request_received", "sms", "ar"): ("", "استلمنا طلبكم ({request_type}) برقم {tracking_number}. "
                                            "الرد المتوقع قبل {due_date}."),
    ("request_received", "sms", "en"): ("", "We received your request ({request_type}). Tracking number "
                                            "{tracking_number}. Expected answer by {due_date}."),
    ("request_received", "email", "ar"): (
        "استلام طلبكم رقم {tracking_number}",
        "السيد/السيدة {citizen_name}،\n\nاستلمنا طلبكم ({request_type}) بتاريخ {received_date}، ورقم متابعته "
        "{tracking_number}.\nنتوقع الرد عليه قبل {due_date}، وسنبلغكم بكل خطوة.\n\nمع التحية،\n" + _SIGNATURE["ar"]),
    ("request_received", "email", "en"): (
        "Your request {tracking_number} was received",
        "Dear {citizen_name},\n\nWe received your request ({request_type}) on {received_date}. Its tracking "
        "number is {tracking_number}.\nWe expect to answer by {due_date} and will tell you of every step.\n\n"
        "Kind regards,\n" + _SIGNATURE["en"]),
    ("moved_on", "sms", "ar"): ("", "انتقل طلبكم رقم {tracking_number} إلى مرحلة: {stage}. سنبلغكم بكل جديد."),
    ("moved_on", "sms", "en"): ("", "Your request {tracking_number} has moved on to: {stage}. "
                                    "We will keep you informed."),
    ("moved_on", "email", "ar"): (
        "تقدّم طلبكم رقم {tracking_number}",
        "السيد/السيدة {citizen_name}،\n\nانتقل طلبكم ({request_type}) رقم {tracking_number} إلى مرحلة: {stage}."
        "\nالرد المتوقع قبل {due_date}.\n\nمع التحية،\n" + _SIGNATURE["ar"]),
    ("moved_on", "email", "en"): (
        "Your request {tracking_number} has moved on",
        "Dear {citizen_name},\n\nYour request ({request_type}) {tracking_number} has moved on to: {stage}.\n"
        "We expect to answer by {due_date}.\n\nKind regards,\n" + _SIGNATURE["en"]),
    ("returned", "sms", "ar"): ("", "طلبكم {tracking_number} بحاجة إلى: {missing}. {reason}. "
                                    "قدّموها بمكتب الاستقبال أو عبر البوابة مع رقم الطلب."),
    ("returned", "sms", "en"): ("", "Your request {tracking_number} needs: {missing}. {reason}. Please bring "
                                    "them to the reception desk or upload them on the portal, quoting "
                                    "{tracking_number}."),
    ("returned", "email", "ar"): (
        "طلبكم رقم {tracking_number} يحتاج إلى استكمال",
        "السيد/السيدة {citizen_name}،\n\nلا يمكن متابعة طلبكم ({request_type}) رقم {tracking_number} قبل "
        "استكمال ما يلي:\n{missing}\n\nملاحظة الموظف: {reason}\n\nيرجى تقديم المستندات في مكتب الاستقبال أو "
        "رفعها عبر البوابة الإلكترونية مع ذكر رقم الطلب {tracking_number}.\n\nمع التحية،\n" + _SIGNATURE["ar"]),
    ("returned", "email", "en"): (
        "Your request {tracking_number} needs correction",
        "Dear {citizen_name},\n\nWe cannot go on with your request ({request_type}) {tracking_number} until we "
        "have:\n{missing}\n\nNote from our staff: {reason}\n\nPlease bring the documents to the reception desk "
        "or upload them on the portal, quoting tracking number {tracking_number}.\n\nKind regards,\n"
        + _SIGNATURE["en"]),
    ("rejected", "sms", "ar"): ("", "نأسف، تعذّر قبول طلبكم رقم {tracking_number}. السبب: {reason}. "
                                    "للاستفسار راجعوا مكتب الاستقبال."),
    ("rejected", "sms", "en"): ("", "We regret that your request {tracking_number} could not be approved. "
                                    "Reason: {reason}. For questions, please visit the reception desk."),
    ("rejected", "email", "ar"): (
        "قرار بشأن طلبكم رقم {tracking_number}",
        "السيد/السيدة {citizen_name}،\n\nنأسف لإبلاغكم بتعذّر قبول طلبكم ({request_type}) رقم "
        "{tracking_number}.\nالسبب: {reason}\n\nللاستفسار يسعدنا استقبالكم في مكتب الاستقبال مع ذكر رقم "
        "الطلب.\n\nمع التحية،\n" + _SIGNATURE["ar"]),
    ("rejected", "email", "en"): (
        "A decision on your request {tracking_number}",
        "Dear {citizen_name},\n\nWe regret that your request ({request_type}) {tracking_number} could not be "
        "approved.\nReason: {reason}\n\nIf you have questions, the reception desk will gladly help; please "
        "quote your tracking number.\n\nKind regards,\n" + _SIGNATURE["en"]),
    ("completed", "sms", "ar"): ("", "تم إنجاز طلبكم رقم {tracking_number} ({request_type}). "
                                     "شكراً لتواصلكم معنا."),
    ("completed", "sms", "en"): ("", "Your request {tracking_number} ({request_type}) has been completed. "
                                     "Thank you."),
    ("completed", "email", "ar"): (
        "تم إنجاز طلبكم رقم {tracking_number}",
        "السيد/السيدة {citizen_name}،\n\nيسعدنا إبلاغكم بإنجاز طلبكم ({request_type}) رقم {tracking_number}."
        "\n\nشكراً لتواصلكم معنا.\n\nمع التحية،\n" + _SIGNATURE["ar"]),
    ("completed", "email", "en"): (
        "Your request {tracking_number} has been completed",
        "Dear {citizen_name},\n\nWe are pleased to tell you that your request ({request_type}) "
        "{tracking_number} has been completed.\n\nThank you for contacting us.\n\nKind regards,\n"
        + _SIGNATURE["en"]),
    ("payout_sent", "sms", "ar"): ("", "تم تحويل مبلغ {amount} إلى حسابكم عن الطلب رقم {tracking_number}."),
    ("payout_sent", "sms", "en"): ("", "{amount} has been transferred to your account for request "
                                       "{tracking_number}."),
    ("payout_sent", "email", "ar"): (
        "تحويل مبلغ طلبكم رقم {tracking_number}",
        "السيد/السيدة {citizen_name}،\n\nتم تحويل مبلغ {amount} إلى حسابكم المصرفي عن طلبكم ({request_type}) "
        "رقم {tracking_number}.\nقد يستغرق ظهوره في الحساب يوم عمل أو يومين.\n\nمع التحية،\n"
        + _SIGNATURE["ar"]),
    ("payout_sent", "email", "en"): (
        "Payment for your request {tracking_number}",
        "Dear {citizen_name},\n\n{amount} has been transferred to your bank account for your request "
        "({request_type}) {tracking_number}.\nIt may take one or two working days to appear.\n\n"
        "Kind regards,\n" + _SIGNATURE["en"]),
    ("inquiry_answered", "sms", "ar"): ("", "رد على استفساركم رقم {tracking_number}: {answer}"),
    ("inquiry_answered", "sms", "en"): ("", "Answer to your inquiry {tracking_number}: {answer}"),
    ("inquiry_answered", "email", "ar"): (
        "الرد على استفساركم رقم {tracking_number}",
        "السيد/السيدة {citizen_name}،\n\nردّاً على استفساركم رقم {tracking_number}:\n\n{answer}\n\n"
        "شكراً لتواصلكم معنا.\n\nمع التحية،\n" + _SIGNATURE["ar"]),
    ("inquiry_answered", "email", "en"): (
        "The answer to your inquiry {tracking_number}",
        "Dear {citizen_name},\n\nIn answer to your inquiry {tracking_number}:\n\n{answer}\n\n"
        "Thank you for contacting us.\n\nKind regards,\n" + _SIGNATURE["en"]),
    ("interview_scheduled", "sms", "ar"): ("", "موعد مقابلتكم عن الطلب {tracking_number}: {date}، في {place}. "
                                               "يُرجى إحضار الهوية."),
    ("interview_scheduled", "sms", "en"): ("", "Your interview for request {tracking_number} is on {date}, at "
                                               "{place}. Please bring your ID card."),
    ("interview_scheduled", "email", "ar"): (
        "موعد مقابلتكم عن الطلب رقم {tracking_number}",
        "السيد/السيدة {citizen_name}،\n\nحُدِّد موعد مقابلتكم عن طلبكم ({request_type}) رقم {tracking_number}:\n\n"
        "الموعد: {date}\nالمكان: {place}\n\nيُرجى الحضور قبل الموعد بعشر دقائق مع إحضار الهوية، وإن تغيّر "
        "الموعد أبلغناكم بالموعد الجديد.\n\nمع التحية،\n" + _SIGNATURE["ar"]),
    ("interview_scheduled", "email", "en"): (
        "Your interview for request {tracking_number}",
        "Dear {citizen_name},\n\nYour interview for your request ({request_type}) {tracking_number} is set:\n\n"
        "When: {date}\nWhere: {place}\n\nPlease come ten minutes early and bring your ID card. Should the date "
        "change, we will tell you the new one.\n\nKind regards,\n" + _SIGNATURE["en"]),
    ("interview_reminder", "sms", "ar"): ("", "تذكير: موعد مقابلتكم عن الطلب {tracking_number} غداً، {date}، "
                                              "في {place}."),
    ("interview_reminder", "sms", "en"): ("", "Reminder: your interview for request {tracking_number} is tomorrow, "
                                              "{date}, at {place}."),
    ("interview_reminder", "email", "ar"): (
        "تذكير بموعد مقابلتكم غداً عن الطلب رقم {tracking_number}",
        "السيد/السيدة {citizen_name}،\n\nنذكّركم بموعد مقابلتكم غداً عن طلبكم ({request_type}) رقم "
        "{tracking_number}:\n\nالموعد: {date}\nالمكان: {place}\n\nيُرجى إحضار الهوية.\n\nمع التحية،\n"
        + _SIGNATURE["ar"]),
    ("interview_reminder", "email", "en"): (
        "Reminder: your interview tomorrow for request {tracking_number}",
        "Dear {citizen_name},\n\nThis is a reminder of your interview tomorrow for your request ({request_type}) "
        "{tracking_number}:\n\nWhen: {date}\nWhere: {place}\n\nPlease bring your ID card.\n\n"
        "Kind regards,\n" + _SIGNATURE["en"]),
    ("clerk_digest", "email", "ar"): (
        "طلبات تحتاج متابعتك: {at_risk_count} قريبة من الموعد، {overdue_count} متأخرة",
        "صباح الخير {staff_name}،\n\nهذه طلبات قائمتك في {date} التي تحتاج إلى متابعة: {at_risk_count} قريبة "
        "من موعدها و{overdue_count} متأخرة.\n\n{items}\n\n" + _SIGNATURE["ar"]),
    ("clerk_digest", "email", "en"): (
        "Items to follow up: {at_risk_count} at risk, {overdue_count} overdue",
        "Good morning {staff_name},\n\nThese items in your queue on {date} need attention: {at_risk_count} "
        "at risk and {overdue_count} overdue.\n\n{items}\n\n" + _SIGNATURE["en"]),
    ("department_digest", "email", "ar"): (
        "{department}: {at_risk_count} طلبات قريبة من الموعد، {overdue_count} متأخرة",
        "صباح الخير {staff_name}،\n\nطلبات إدارة {department} في {date} التي تحتاج إلى متابعة: "
        "{at_risk_count} قريبة من موعدها و{overdue_count} متأخرة.\n\n{items}\n\n" + _SIGNATURE["ar"]),
    ("department_digest", "email", "en"): (
        "{department}: {at_risk_count} at risk, {overdue_count} overdue",
        "Good morning {staff_name},\n\nItems of {department} on {date} that need attention: {at_risk_count} "
        "at risk and {overdue_count} overdue.\n\n{items}\n\n" + _SIGNATURE["en"]),
    ("daily_summary", "email", "ar"): (
        "الملخص اليومي ليوم {day}",
        "مساء الخير {staff_name}،\n\nمرفق الملخص اليومي ليوم {day} للطباعة والتوقيع: {items}.\n\n"
        + _SIGNATURE["ar"]),
    ("daily_summary", "email", "en"): (
        "Daily summary of {day}",
        "Good evening {staff_name},\n\nThe daily summary of {day} is attached, to print and sign: {items}.\n\n"
        + _SIGNATURE["en"]),
    ("alert_statement", "email", "ar"): (
        "كشف التنبيه ليوم {day}",
        "السيد/السيدة {staff_name}،\n\nمرفق كشف التنبيه ليوم {day}: ما يستحق خلال ثلاثين يوماً وما تأخر، "
        "لكل إدارة: {items}.\n\n" + _SIGNATURE["ar"]),
    ("alert_statement", "email", "en"): (
        "Alert statement of {day}",
        "Dear {staff_name},\n\nThe alert statement of {day} is attached: what falls due in the next 30 days and "
        "what is overdue, per department: {items}.\n\n" + _SIGNATURE["en"]),
    ("execution_statement", "email", "ar"): (
        "كشف التنفيذ ليوم {day}",
        "السيد/السيدة {staff_name}،\n\nمرفق كشف التنفيذ ليوم {day}: ما أُنجز وما رُفض أو أُعيد مع السبب، "
        "لكل إدارة: {items}.\n\n" + _SIGNATURE["ar"]),
    ("execution_statement", "email", "en"): (
        "Execution statement of {day}",
        "Dear {staff_name},\n\nThe execution statement of {day} is attached: what was completed, rejected or "
        "returned, with the reasons, per department: {items}.\n\n" + _SIGNATURE["en"]),
    ("automation_ceiling", "email", "ar"): (
        "توقف القرار الآلي: بلغ سقف الإنفاق ({date})",
        "السيد/السيدة {staff_name}،\n\nتوقف القرار الآلي لأن سقف الإنفاق قد بلغ حده، وتذهب الطلبات إلى الموظفين "
        "حتى تبدأ الفترة التالية أو يُرفع السقف: {items}\n\n" + _SIGNATURE["ar"]),
    ("automation_ceiling", "email", "en"): (
        "Automation stopped: spending ceiling reached ({date})",
        "Dear {staff_name},\n\nAutomatic decisions stopped because a spending ceiling was reached; requests go to "
        "people until the next period starts or the ceiling is raised: {items}\n\n" + _SIGNATURE["en"]),
}

# {{ and }} are literal braces; {name} a placeholder; any other brace or {...} is an error
_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}|\{[^{}]*\}|[{}]")


def parse(text: str) -> tuple[list, list[str]]:
    """The text as parts (str literals and ("name",) placeholders) and the malformed pieces found in it."""
    parts, bad, at = [], [], 0
    for match in _TOKEN.finditer(text):
        parts.append(text[at:match.start()])
        token, at = match.group(0), match.end()
        if token in ("{{", "}}"):
            parts.append(token[0])
        elif match.group(1):
            parts.append((match.group(1),))
        else:
            bad.append(token)
            parts.append(token)
    parts.append(text[at:])
    return [part for part in parts if part != ""], bad


def render(parts: list, context: dict) -> str:
    """Placeholders replaced by str(value); a value the context lacks becomes empty rather than failing an
    action (validation keeps templates to the event's placeholders)."""
    return "".join(part if isinstance(part, str) else str(context.get(part[0], "")) for part in parts)


def default(event: str, channel: str, language: str) -> tuple[str, str]:
    return DEFAULTS[(event, channel, language)]


def _compiled(key) -> tuple[list, list, bool]:
    event, channel, language = key
    row = MessageTemplate.get_or_none((MessageTemplate.event == event) & (MessageTemplate.channel == channel)
                                      & (MessageTemplate.language == language))
    subject, body = (row.subject, row.body) if row is not None else DEFAULTS[key]
    return parse(subject)[0], parse(body)[0], row is not None


def message(event: str, channel: str, language: str, context: dict) -> tuple[str, str]:
    """(subject, body) of one message: the administrator's wording if saved, else the default, filled in."""
    if language not in LANGUAGES:
        language = "ar"
    subject, body, _saved = reference.cached("message_template", (event, channel, language), _compiled)
    return render(subject, context), render(body, context)


def saved(event: str, channel: str, language: str) -> MessageTemplate | None:
    return MessageTemplate.get_or_none((MessageTemplate.event == event) & (MessageTemplate.channel == channel)
                                       & (MessageTemplate.language == language))


def current(event: str, channel: str, language: str) -> tuple[str, str]:
    """The wording in force now (saved or default), unrendered, for the editor."""
    row = saved(event, channel, language)
    return (row.subject, row.body) if row is not None else DEFAULTS[(event, channel, language)]


def customised() -> dict:
    """(event, channel, language) -> the saved MessageTemplate row, for the overview."""
    return {(row.event, row.channel, row.language): row for row in MessageTemplate.select()}


def _list(items) -> str:
    return ("، " if str(get_locale() or "") == "ar" else ", ").join(items)


def problems(event: str, channel: str, subject: str, body: str) -> list[tuple[str, str]]:
    """(field, message) for each thing wrong with a wording, field "subject" or "body", in the reader's language."""
    found = []
    allowed = PLACEHOLDERS.get(event, ())
    used = []
    for field, label, text in (("subject", _("subject"), subject or ""), ("body", _("message"), body or "")):
        parts, bad = parse(text)
        for token in bad:
            found.append((field, _("Malformed braces in the %(field)s: \u201c%(token)s\u201d. A placeholder is a "
                                   "name in braces such as {tracking_number}; write {{ or }} for a brace itself.",
                                   field=label, token=token)))
        names = [part[0] for part in parts if isinstance(part, tuple)]
        for name in dict.fromkeys(names):
            if name not in allowed:
                found.append((field, _("Unknown placeholder {%(name)s}: this message may use %(allowed)s.",
                                       name=name, allowed=_list("{%s}" % each for each in allowed))))
        used += names
    for name in REQUIRED.get(event, ()):
        if name not in used:
            found.append(("body", _("The placeholder {%(name)s} is required in this message.", name=name)))
    if not (body or "").strip():
        found.append(("body", _("The message must not be empty.")))
    if channel == "email":
        if not (subject or "").strip():
            found.append(("subject", _("An e-mail needs a subject.")))
        elif "\n" in subject or "\r" in subject or len(subject) > SUBJECT_MAX_CHARACTERS:
            found.append(("subject", _("The subject must be one line of at most %(limit)s characters.",
                                       limit=SUBJECT_MAX_CHARACTERS)))
        if len(body or "") > EMAIL_MAX_CHARACTERS:
            found.append(("body", _("An e-mail may hold at most %(limit)s characters.", limit=EMAIL_MAX_CHARACTERS)))
    elif len(body or "") > SMS_MAX_CHARACTERS:
        found.append(("body", _("An SMS template may hold at most %(limit)s characters (it has %(count)s).",
                                limit=SMS_MAX_CHARACTERS, count=len(body))))
    return found


def validate(event: str, channel: str, subject: str, body: str) -> list[str]:
    """What is wrong with a wording, in the reader's language; empty when it may be saved."""
    return [message for _field, message in problems(event, channel, subject, body)]


def save(actor, event: str, channel: str, language: str, subject: str, body: str) -> MessageTemplate:
    """Store an administrator's wording (replacing any earlier one); ValueError(list of errors) if invalid."""
    if (event, channel, language) not in DEFAULTS:
        raise ValueError([_("There is no such message.")])
    subject = (subject or "").strip() if channel == "email" else ""
    body = (body or "").replace("\r\n", "\n").strip()
    errors = validate(event, channel, subject, body)
    if errors:
        raise ValueError(errors)
    with transaction():
        row = saved(event, channel, language) or MessageTemplate(event=event, channel=channel, language=language)
        row.subject, row.body, row.updated_by, row.updated_at = subject, body, actor, utcnow()
        row.save()
    reference.forget()
    return row


def reset(actor, event: str, channel: str, language: str) -> bool:
    """Back to the default wording; True if there was a saved one to remove. (`actor` is for the audit trail.)"""
    removed = MessageTemplate.delete().where(
        (MessageTemplate.event == event) & (MessageTemplate.channel == channel)
        & (MessageTemplate.language == language)).execute()
    reference.forget()
    return bool(removed)


# --- SMS length: GSM 03.38 basic table (1 septet), its extension table (2 septets), else UCS-2 ---
GSM_BASIC = frozenset("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
                      "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")


def _units(text: str) -> tuple[str, list[int]]:
    """The encoding and each character's size in its units (septets, or UTF-16 code units)."""
    if all(char in GSM_BASIC or char in GSM_EXTENSION for char in text):
        return "GSM-7", [2 if char in GSM_EXTENSION else 1 for char in text]
    return "UCS-2", [2 if ord(char) > 0xFFFF else 1 for char in text]


def _segments(sizes: list[int], per_segment: int) -> tuple[int, int]:
    """Parts needed and units used in the last one; an escape pair or a surrogate pair never straddles two."""
    count, used = 1, 0
    for size in sizes:
        if used + size > per_segment:
            count, used = count + 1, 0
        used += size
    return count, used


def sms_info(text: str, max_segments: int | None = None) -> dict:
    """Length, encoding and segments of an SMS: GSM-7 160 in one or 153 per part, UCS-2 70 or 67."""
    encoding, sizes = _units(text or "")
    length = sum(sizes)
    single, multi = (160, 153) if encoding == "GSM-7" else (70, 67)
    if length <= single:
        segments, per_segment, remaining = (1 if length else 0), single, single - length
    else:
        segments, used = _segments(sizes, multi)
        per_segment, remaining = multi, multi - used
    if max_segments is None:
        max_segments = setting("SMS_MAX_SEGMENTS")
    return {"length": length, "characters": len(text or ""), "encoding": encoding, "segments": segments,
            "per_segment": per_segment, "remaining": remaining, "max_segments": max_segments,
            "over_limit": segments > max_segments}


def amount_text(amount, language, currency=None) -> str:
    """The amount and its currency for a message in `language`, isolated in an Arabic one (i18n.ltr)."""
    currency = currency or setting("CURRENCY")
    return ltr(f"{format_amount(amount, currency, language)} {currency}", language)


def sample_context(event: str, language: str) -> dict:
    """Realistic values for the preview, in the template's language."""
    ar = language == "ar"
    currency = setting("CURRENCY")
    values = {
        "tracking_number": ltr("EL-2500417-3", language),
        "request_type": "مساعدة علاجية" if ar else "Medical treatment assistance",
        "citizen_name": "مريم عبد الله الكواري" if ar else "Maryam Abdullah Al-Kuwari",
        "received_date": format_date(date(2025, 5, 12), "medium", locale=language),
        "due_date": format_date(date(2025, 6, 26), "medium", locale=language),
        "stage": "مراجعة الشؤون الصحية" if ar else "Health Affairs review",
        "reason": "التقرير غير مختوم" if ar else "The medical report is not stamped",
        "missing": "تقرير طبي حديث، صورة الهوية" if ar else "Recent medical report, copy of the ID card",
        "amount": amount_text(1250, language, currency),
        "answer": ("يُصرف المعاش في الخامس والعشرين من كل شهر، ويمكنكم متابعته عبر البوابة الإلكترونية" if ar
                   else "Pensions are paid on the 25th of each month; you can follow yours on the portal"),
        "staff_name": "خالد المري" if ar else "Khalid Al-Marri",
        "department": "الشؤون الصحية" if ar else "Health Affairs",
        "date": format_date(date(2025, 5, 13), "full", locale=language),
        "at_risk_count": 3, "overdue_count": 1, "day": format_date(date(2025, 5, 13), "full", locale=language),
        "items": (f"{ltr('EL-2500417-3', 'ar')} — مساعدة علاجية — متبقٍ يومان\n"
                  f"{ltr('WI-2500388-1', 'ar')} — مساعدة علاجية — متأخر 4 أيام" if ar
                  else "EL-2500417-3 — Medical treatment assistance — 2 days left\n"
                       "WI-2500388-1 — Medical treatment assistance — 4 days overdue"),
    }
    if event in INTERVIEW_EVENTS:  # the interview's day and time, and its place
        values["date"] = (f"{format_date(date(2025, 5, 20), 'full', locale=language)}، 9:30 ص" if ar
                          else f"{format_date(date(2025, 5, 20), 'full', locale=language)}, 9:30 AM")
        values["place"] = "مبنى الديوان، الطابق الثاني، القاعة 3" if ar else "Diwan building, second floor, room 3"
    return {name: values[name] for name in PLACEHOLDERS.get(event, ())}
