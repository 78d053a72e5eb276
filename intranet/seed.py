"""Synthetic demo data: citizens, requests at every point of their workflow, and their history.

`seed(n)` appends n requests (and about n/3 citizens) to whatever the database already holds. The data follows
the rules the application enforces (see intranet.workflow): a request's status, stage, department, assignee,
`returned_from`, version and history rows are those its simulated path through the stages would have left,
and tracking numbers continue the yearly sequences so the application goes on without collisions.

It is written for volume: rows are generated as plain tuples, day by day in time order, in chunks of about
`batch` requests, and written with executemany (SQLite, inside one IMMEDIATE transaction with
`synchronous=OFF`) or COPY (PostgreSQL, psycopg 3; foreign-key triggers skipped for the transaction when the
role may, see _prepare_postgresql). From PIPELINE_FROM requests on, forked processes generate, sign and format the
rows (the citizens in one, then the requests in PIPELINE_PARTS, each every other chunk) while this one writes
them; on PostgreSQL, from DEFER_INDEXES_FROM requests into tables that hold fewer, the indexes of the three tables
are built once after the load instead of row by row (_drop_indexes), and a VACUUM follows. History is written a
day at a time, as the application appends it. A million requests (333,333 citizens, ~3 million history rows)
take about a minute; ten million, see the README ("Ten million requests").

The same `seed` value, `now` and starting database give the same rows.
"""
import datetime as dt
import json
import multiprocessing
import random
import time
import traceback
from decimal import Decimal
from queue import Empty

import click
from flask import current_app
from flask.cli import with_appcontext
from stdnum import luhn

from intranet import chain, history_chain
from intranet.db import bulk_write, database, is_sqlite
from intranet.i18n import search_text
from intranet.models import Department, Governorate, Request, RequestType, Stage, Staff
from intranet.stats import open_work
from intranet.workflow import format_tracking_number, last_tracking_value, raise_tracking_value

DAY = 86400
HISTORY_DAYS = 730  # requests are spread over two years ending now
CITIZEN_DAYS = 365  # citizens were registered in the year before
CLERKS_PER_DEPARTMENT = 3

# --- Arabic names: spelling variants (hamza, alef maqsura, taa marbuta, diacritics, tatweel) on purpose,
# so that search only works through intranet.i18n.search_text ----------------------------------------------
MALE_NAMES = (
    "محمد", "مُحَمَّد", "محمـــد", "أحمد", "احمد", "أَحْمَد", "عبدالله", "عبد الله", "علي", "عَلِيّ", "خالد",
    "خَالِد", "حمد", "جاسم", "يوسف", "إبراهيم", "ابراهيم", "سعود", "فهد", "ناصر", "سالم", "راشد", "عيسى",
    "عيسي", "مصطفى", "مصطفي", "عمر", "عُمَر", "حسن", "حسين", "سلطان", "ماجد", "منصور", "عبدالعزيز",
    "عبدالرحمن", "إسماعيل", "اسماعيل", "مبارك", "ثاني", "عبداللطيف", "غانم", "هزاع", "طلال", "أسامة",
    "اسامه", "مؤيد", "مويد", "فيصل", "نايف", "حامد", "صالح", "جبر", "محسن", "بدر",
)
FEMALE_NAMES = (
    "فاطمة", "فاطمه", "فَاطِمَة", "عائشة", "عايشه", "مريم", "مَرْيَم", "نورة", "نوره", "آمنة", "امنة",
    "أسماء", "اسماء", "هند", "شيخة", "شيخه", "موزة", "لطيفة", "حصة", "سارة", "ساره", "دانة", "العنود",
    "جواهر", "إيمان", "ايمان", "روضة", "منيرة", "هيا", "ليلى", "ليلي", "رؤى", "روى", "أمل", "امل",
)
FAMILY_NAMES = (
    "آل ثاني", "ال ثاني", "المري", "الكواري", "الهاجري", "النعيمي", "السليطي", "العطية", "المهندي",
    "الكبيسي", "الدوسري", "المناعي", "الخليفي", "البوعينين", "السويدي", "الأنصاري", "الانصاري",
    "المريخي", "الشهواني", "الإبراهيم", "الابراهيم", "الخاطر", "الجابر", "المالكي", "الغانم", "البنعلي",
    "الملا", "الحمادي", "القحطاني", "العمادي", "الباكر", "الدرويش", "فخرو", "المسند", "العذبة", "الخيارين",
    "اليافعي", "الهتمي", "الكعبي", "الرميحي", "العبيدلي", "المحمود", "الخُلَيْفِي",
)

SUBJECTS = {
    "compensation": ("طلب منحة تعويض عن أضرار في المسكن", "تعويض عن إصابة عمل", "طلب تعويض عن نزع ملكية",
                     "تعويض عن تلف ممتلكات بسبب الأمطار", "طلب تعويض عن حادث مروري حكومي"),
    "health_care": ("منحة علاج بالخارج", "طلب مساعدة لتكاليف عملية جراحية", "منحة رعاية صحية لمريض مزمن",
                    "طلب تغطية تكاليف أجهزة طبية", "مساعدة في تكاليف علاج الأسنان", "منحة علاج طبيعي"),
    "pension": ("طلب احتساب معاش تقاعدي", "تحويل المعاش إلى الورثة", "ضم مدة خدمة سابقة",
                "طلب صرف مكافأة نهاية الخدمة", "تعديل بيانات المعاش"),
    "grievance": ("تظلم من قرار رفض طلب سابق", "شكوى من تأخر معاملة", "تظلم من قرار إداري",
                  "شكوى بشأن المعاملة في مركز الخدمة", "تظلم من قيمة التعويض المقررة"),
    "ministry_letter": ("مخاطبة وزارة التربية والتعليم بشأن نقل طالب", "مخاطبة وزارة الصحة العامة بشأن موعد علاج",
                        "مخاطبة وزارة البلدية بشأن رخصة بناء", "مخاطبة وزارة العمل بشأن تصريح عمل",
                        "مخاطبة وزارة الداخلية بشأن تجديد وثيقة"),
    "appeals_exception": ("استثناء من مدة الطعن لظرف صحي", "طلب استثناء أمام هيئة الطعن من شرط الإقامة",
                          "استثناء من شرط تقديم الوثيقة الأصلية"),
    "higher_studies": ("طلب إجازة دراسية لنيل الماجستير", "طلب دعم دراسة الدكتوراه",
                       "طلب معادلة شهادة الدراسات العليا"),
    "interview": ("طلب مقابلة رئيس المؤسسة", "طلب مقابلة مدير قسم التعويضات", "طلب مقابلة لجنة التظلمات"),
    "inquiry": ("استفسار عن حالة طلب", "استفسار عن شروط المنحة", "استفسار عن المستندات المطلوبة",
                "استفسار عن مواعيد المراجعة", "استفسار عن قيمة المعاش"),
}
DETAILS = (
    "", "", "يرجى التكرم بالنظر في الطلب وفق المستندات المرفقة.", "المستفيد يطلب الإفادة في أقرب وقت ممكن.",
    "مرفق صورة البطاقة الشخصية وشهادة الراتب.", "سبق تقديم طلب مماثل دون رد.",
    "الحالة عاجلة حسب التقرير الطبي المرفق.", "تم التواصل مع المستفيد هاتفياً لتأكيد البيانات.",
)
RETURN_COMMENTS = (
    "يرجى استكمال المستندات الناقصة.", "صورة البطاقة غير واضحة، يرجى إعادة إرفاقها.",
    "التقرير الطبي منتهي الصلاحية.", "يرجى تصحيح رقم الحساب البنكي.", "بيانات الطلب غير مكتملة.",
    "يلزم توقيع المستفيد على الإقرار.",
)
REJECT_COMMENTS = (
    "لا تنطبق شروط المنحة على المستفيد.", "الطلب مكرر لطلب سابق.", "انتهت المدة النظامية للتظلم.",
    "المستندات المقدمة غير كافية بعد المراجعة.", "الجهة المختصة ليست هذه الإدارة.",
)
ACCEPT_COMMENTS = ("", "", "", "", "", "تمت المراجعة ولا توجد ملاحظات.", "مستوفٍ للشروط.")
CITIZEN_ANSWERED = "استكمل المستفيد المطلوب."
NOTES = ("اتصل المستفيد للاستفسار عن الطلب.", "بانتظار رد الجهة المختصة.", "تمت مراجعة المرفقات.")

# each type's own fields (request_types.toml), as a clerk would find them filled in: text values cycled by request id
# (no random draws: the rest of the data stays as the same seed made it); @@amount@@ is the request's own amount,
# @@date@@ a day before it was received, @@serial@@ and @@year@@ its id and year (invoice and decision numbers)
FIELD_TEXTS = {
    "invoice_number": ("HMC-@@year@@-@@serial@@", "SID-INV-@@serial@@", "AHL-@@year@@/@@serial@@"),
    "hospital": ("مؤسسة حمد الطبية", "سدرة للطب", "مستشفى العمادي", "مستشفى الأهلي", "مستشفى الخور",
                 "مستشفى الوكرة", "مستشفى الدوحة الدولي"),
    "employer": ("وزارة التربية والتعليم والتعليم العالي", "وزارة الصحة العامة", "وزارة الداخلية", "بلدية الدوحة",
                 "وزارة العمل", "المؤسسة العامة للحي الثقافي", "وزارة المالية"),
    "decision_number": ("@@serial@@/@@year@@", "ق/@@year@@/@@serial@@", "م ت/@@serial@@"),
    "ministry": ("وزارة التربية والتعليم والتعليم العالي", "وزارة الصحة العامة", "وزارة البلدية", "وزارة العمل",
                 "وزارة الداخلية"),
    "letter_subject": ("طلب إفادة بشأن وضع المستفيد", "طلب تسريع إجراءات المعاملة", "طلب موعد علاج",
                       "طلب إفادة عن حالة التصريح", "طلب نقل مدرسي"),
    "grounds": ("ظرف صحي موثق بتقرير طبي حال دون التقديم في الموعد", "السفر للعلاج بالخارج خلال مدة الطعن",
                "عدم استلام القرار إلا بعد انقضاء المدة"),
    "degree": ("ماجستير", "دكتوراه"),
    "university": ("جامعة قطر", "جامعة حمد بن خليفة", "جامعة جورجتاون في قطر", "جامعة كارنيجي ميلون في قطر",
                   "جامعة تكساس إي أند إم في قطر"),
    "field_of_study": ("الإدارة العامة", "الصحة العامة", "هندسة البترول", "القانون", "علوم الحاسب", "المحاسبة"),
    "interview_with": ("رئيس المؤسسة", "مدير إدارة التعويضات", "مدير إدارة شؤون المواطنين", "لجنة التظلمات"),
    "purpose": ("متابعة طلب سابق", "عرض حالة إنسانية", "الاستفسار عن قرار صادر", "تقديم مستندات إضافية"),
}
FIELD_VARIANTS = 12  # filled-in forms per type, cycled by request id

TYPE_WEIGHTS = {"inquiry": 5, "grievance": 3, "ministry_letter": 3, "pension": 3, "health_care": 3,
                "compensation": 3, "appeals_exception": 1, "higher_studies": 1, "interview": 1}
GOVERNORATE_WEIGHTS = {"doha": 10, "rayyan": 7, "wakrah": 3, "daayen": 2, "umm_salal": 2, "khor": 2,
                       "shamal": 1, "shahaniya": 1}
MOBILE_PREFIXES = "55667"  # Qatari mobile numbers: +974 5/6/7 and seven digits
IBAN_BANKS = ("QNBA", "CBQA", "DOHB", "QIIB", "QISB", "ABQQ")

# path probabilities at an open stage
P_REJECT = 0.05
P_RETURN = 0.09
P_ABANDON = 0.12  # awaiting the citizen, who never comes back
P_CLAIMED = 0.4  # an open request someone holds
P_NOTE = 0.08
MAX_EVENTS = 14

# while seeding SQLite: no fsync (one big transaction, all or nothing anyway), a large page cache
SQLITE_SEED_PRAGMAS = {"synchronous": 0, "cache_size": -512000}

REQUEST_COLUMNS = ("id", "tracking_number", "citizen_id", "request_type_id", "channel", "governorate_id", "stage_id",
                   "department_id", "status", "assignee_id", "returned_from_id", "subject", "details", "data",
                   "amount", "received_at", "due_at", "stage_due_at", "paused_at", "closed_at", "updated_at",
                   "version", "entered_by_id")
HISTORY_COLUMNS = ("request_id", "actor_id", "action", "from_stage_id", "to_stage_id", "from_status", "to_status",
                   "comment", "details", "created_at", "hash")  # hash: intranet.history_chain.sign_rows
NO_DETAILS = "{}"
TAKE_NEXT = '{"take_next": true}'
CITIZEN_COLUMNS = ("id", "national_id", "full_name", "name_search", "phone", "governorate_id", "iban",
                   "preferred_language", "created_at", "updated_at")
GOVERNORATE_COLUMN = CITIZEN_COLUMNS.index("governorate_id")


# --- helpers ------------------------------------------------------------------------------------------------

def _iban(rng) -> str:
    """A Qatari IBAN with valid ISO 13616 check digits."""
    bban = rng.choice(IBAN_BANKS) + "".join(rng.choices("0123456789", k=21))
    numeric = "".join(str(int(ch, 36)) for ch in bban + "QA00")
    return f"QA{98 - int(numeric) % 97:02d}{bban}"


class _Clock:
    """Times as integer seconds after the first day's midnight (UTC), written as 'YYYY-MM-DD HH:MM:SS'."""

    def __init__(self, start: dt.datetime, days: int):
        self.start = start
        self.days = [(start + dt.timedelta(days=d)).strftime("%Y-%m-%d") for d in range(days)]
        self.years = [(start + dt.timedelta(days=d)).year for d in range(days)]
        self.tod = [f" {h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]

    def text(self, t: int) -> str:
        return self.days[t // DAY] + self.tod[t % DAY]


def _day_counts(n: int, days: int, first_weekday: int) -> list[int]:
    """n requests over the days: fewer on Fridays and Saturdays, more as time goes on; sums to exactly n."""
    weights = []
    for d in range(days):
        weekday = (first_weekday + d) % 7  # Monday is 0: Friday 4, Saturday 5
        factor = 0.2 if weekday == 4 else 0.45 if weekday == 5 else 1.0
        weights.append(factor * (0.75 + 0.5 * d / max(days - 1, 1)))
    total = sum(weights)
    counts, acc, given = [], 0.0, 0
    for w in weights:
        acc += w
        upto = int(round(n * acc / total))
        counts.append(upto - given)
        given = upto
    counts[-1] += n - given
    return counts


# --- the type's own fields -------------------------------------------------------------------------------------

def _field_value(spec: dict, variant: int):
    """A field's value in one of the filled-in forms: the amount and dates are the row's (placeholders)."""
    name, kind = spec["name"], spec["kind"]
    if kind == "decimal":
        return "@@amount@@"
    if kind == "date":
        return "@@date@@"
    if kind == "integer":
        return min(max(3 + (variant * 7) % 30, spec.get("min", 0)), spec.get("max", 100000))
    if kind == "choice":  # one of its options (issue 20: the type editor)
        return spec["choices"][variant % len(spec["choices"])]["value"]
    texts = FIELD_TEXTS.get(name) or (spec.get("label_ar") or name,)
    return texts[variant % len(texts)]


def _split(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A JSON text with @@name@@ placeholders as (literal parts, names): parts[0] name[0] parts[1] ..."""
    pieces = text.split("@@")
    return tuple(pieces[0::2]), tuple(pieces[1::2])


def _field_forms(request_type) -> tuple[list, list]:
    """The type's filled-in forms as precomputed JSON pieces (no JSON work per row): with every document of its
    checklist received (a completed request) and with the last one still missing (the others)."""
    specs, documents = request_type.field_list(), [d["code"] for d in request_type.document_list()]
    complete, partial = [], []
    for variant in range(FIELD_VARIANTS):
        values = {spec["name"]: _field_value(spec, variant) for spec in specs}
        complete.append(_split(json.dumps({**values, "documents_received": documents}, ensure_ascii=False)))
        partial.append(_split(json.dumps({**values, "documents_received": documents[:-1]}, ensure_ascii=False)))
    return complete, partial


def _filled(form, values: dict) -> str:
    parts, names = form
    out = parts[0]
    for name, part in zip(names, parts[1:]):
        out += values[name] + part
    return out


# --- the request generator (pure: a chunk of days in, rows out) -------------------------------------------------

def _generate_requests(ctx: dict, chunk_seed: str, days: list[tuple[int, int]], first_id: int,
                       sequences: dict[int, int]):
    """Request and history rows for consecutive days [(day, count), ...] in time order: ids from first_id,
    tracking numbers continuing `sequences` (year -> last value, updated in place).

    Each request walks the workflow (the rules of intranet.workflow) from submission until its next step would
    lie after `now`: at an open stage it is accepted (on to the next stage, or completed after the last),
    returned (to the previous stage, or from the first stage to the citizen, with the missing documents) or
    rejected; a returned request is resubmitted to the stage that returned it; the citizen answers (resubmit:
    the 45-day clock moves on by the days it was paused) or never comes back. Open ones may carry a note and
    an assignee.
    """
    rng = random.Random(chunk_seed)
    rnd, choice = rng.random, rng.choice
    clock = ctx["clock"]
    fmt, years, now = clock.text, clock.years, ctx["now"]
    types, type_cum = ctx["types"], ctx["type_cum"]
    clerks, reception = ctx["clerks"], ctx["reception"]
    c_first, c_count = ctx["citizens"]
    citizen_governorates = ctx["citizen_governorates"]
    requests, history = [], []
    add_h, add_r = history.append, requests.append
    rid = first_id
    for day, count in days:
        year = years[day]
        base = day * DAY
        available = min(DAY, now - base)  # today: only the hours gone by
        office = available >= 11 * 3600
        arrivals = []
        for _ in range(count):
            if rnd() < 0.62:  # walk-in, in office hours (07:00-14:00 in Qatar: 04:00-11:00 UTC)
                moment = base + 4 * 3600 + int(rnd() * 7 * 3600) if office else base + int(rnd() * available)
                arrivals.append((moment, "walk_in"))
            else:
                arrivals.append((base + int(rnd() * available), "electronic"))
        arrivals.sort()
        seq = sequences.get(year, 0)
        for received, channel in arrivals:
            seq += 1
            x = rnd()
            index = 0
            while x >= type_cum[index]:
                index += 1
            type_id, sla, is_money, subjects, documents, stages, forms = types[index]
            last = len(stages) - 1
            walk_in = channel == "walk_in"
            entered_by = choice(reception) if walk_in and reception else None
            received_text = fmt(received)
            add_h((rid, entered_by, "submit", None, stages[0][0], None, "open", "", NO_DETAILS, received_text))
            pos, status, returned_from, version = 0, "open", None, 1
            t, closed_at, paused_at = received, None, None
            due, stage_due = received + sla, received + stages[0][2]
            for _ in range(MAX_EVENTS):
                if status == "open":
                    stage_id, dept, budget, pool = stages[pos]
                    t2 = t + int(budget * (0.15 + 1.1 * rnd()))
                    if t2 > now:
                        break
                    actor = choice(clerks[pool])
                    x = rnd()
                    if x < P_REJECT:
                        add_h((rid, actor, "reject", stage_id, stage_id, "open", "rejected",
                               choice(REJECT_COMMENTS), NO_DETAILS, fmt(t2)))
                        status, closed_at = "rejected", t2
                    elif x < P_REJECT + P_RETURN:
                        details = NO_DETAILS
                        if documents and rnd() < 0.7:  # the checklist of what is missing
                            k = 2 if len(documents) > 1 and rnd() < 0.3 else 1
                            details = json.dumps({"missing": rng.sample(documents, k)})
                        if pos == 0:  # to the reception desk and the citizen: the clock stops
                            add_h((rid, actor, "return", stage_id, stage_id, "open", "awaiting_citizen",
                                   choice(RETURN_COMMENTS), details, fmt(t2)))
                            status, paused_at = "awaiting_citizen", t2
                        else:
                            pos -= 1
                            add_h((rid, actor, "return", stage_id, stages[pos][0], "open", "returned",
                                   choice(RETURN_COMMENTS), details, fmt(t2)))
                            status, returned_from = "returned", stage_id
                    elif pos == last:
                        add_h((rid, actor, "accept", stage_id, stage_id, "open", "completed",
                               choice(ACCEPT_COMMENTS), NO_DETAILS, fmt(t2)))
                        status, closed_at = "completed", t2
                    else:
                        pos += 1
                        add_h((rid, actor, "accept", stage_id, stages[pos][0], "open", "open",
                               choice(ACCEPT_COMMENTS), NO_DETAILS, fmt(t2)))
                        stage_due = t2 + stages[pos][2]
                elif status == "returned":
                    t2 = t + int(DAY * (1 + 20 * rnd()))
                    if t2 > now:
                        break
                    here, dept, _, pool = stages[pos]
                    pos += 1  # back to the stage that returned it: always the following one
                    add_h((rid, choice(clerks[pool]), "resubmit", here, returned_from, "returned", "open", "",
                           NO_DETAILS, fmt(t2)))
                    status, returned_from, stage_due = "open", None, t2 + stages[pos][2]
                elif status == "awaiting_citizen":
                    if rnd() < P_ABANDON:
                        break
                    t2 = t + int(DAY * (1 + 20 * rnd()))
                    if t2 > now:
                        break
                    first_stage = stages[0][0]
                    add_h((rid, choice(reception) if walk_in and reception else None, "resubmit", first_stage,
                           first_stage, "awaiting_citizen", "open", CITIZEN_ANSWERED, NO_DETAILS, fmt(t2)))
                    due += t2 - paused_at
                    stage_due += t2 - paused_at
                    status, paused_at = "open", None
                else:  # closed
                    break
                t = t2
                version += 1
            stage_id, dept, _, pool = stages[pos]
            assignee = None
            if status == "open" or status == "returned":
                if rnd() < P_NOTE:
                    add_h((rid, choice(clerks[pool]), "comment", stage_id, stage_id, status, status,
                           choice(NOTES), NO_DETAILS, fmt(t + int((now - t) * 0.5 * rnd()))))
                if rnd() < P_CLAIMED:
                    assignee = choice(clerks[pool])
                    t += int((now - t) * (0.5 + 0.5 * rnd()))
                    add_h((rid, assignee, "claim", stage_id, stage_id, status, status, "",
                           TAKE_NEXT if rnd() < 0.5 else NO_DETAILS, fmt(t)))
                    version += 1
            citizen = int(c_count * rnd() ** 1.4)
            subject, details = choice(subjects), choice(DETAILS)
            amount = 50 * (10 + int(990 * rnd())) if is_money else None
            form = forms[status == "completed"][rid % FIELD_VARIANTS]
            data = _filled(form, {"amount": "" if amount is None else str(amount), "serial": str(rid),
                                  "date": clock.days[max(0, day - 3 - rid % 90)], "year": str(year)}
                           ) if form[1] else form[0][0]
            add_r((rid, format_tracking_number(year, seq), c_first + citizen, type_id, channel,
                   citizen_governorates[citizen], stage_id, dept, status, assignee, returned_from,
                   subject, details, data, amount,
                   received_text, fmt(due), fmt(stage_due), None if paused_at is None else fmt(paused_at),
                   None if closed_at is None else fmt(closed_at), fmt(t), version, entered_by))
            rid += 1
        sequences[year] = seq
    return requests, history


def _national_id(rng, taken: set) -> str:
    """A new national ID: century digit (2: born in the 1900s, 3: 2000s), year of birth, nationality code 634,
    a serial, and a Luhn check digit (see intranet.validation); any other 10 digits when that space runs full."""
    below = rng._randbelow  # what randrange(a, b) draws, a + below(b - a), without its checks: millions of calls
    for attempt in range(20):
        born = 1940 + below(69)
        body = f"{2 + born // 2000}{born % 100:02d}634{below(10000):04d}"
        if attempt >= 10:
            body = f"{2 + below(2)}{below(10**9):09d}"
        if body not in taken:  # the check digit follows from the rest: a new body is a new ID
            taken.add(body)
            return body + luhn.calc_check_digit(body)
    raise RuntimeError("could not find a free national ID")


def _generate_citizens(rng, first_id: int, count: int, governorates, taken: set, clock):
    """Citizens with unique, Luhn-valid national IDs (`taken`: the IDs in use without their check digit, a set that
    grows) and Arabic names."""
    rnd, choice = rng.random, rng.choice
    rows = []
    gov_ids, gov_cum = governorates
    for cid in range(first_id, first_id + count):
        national_id = _national_id(rng, taken)
        female = rnd() < 0.45
        name = " ".join((choice(FEMALE_NAMES if female else MALE_NAMES), choice(MALE_NAMES), choice(MALE_NAMES),
                         choice(FAMILY_NAMES)))
        x, g = rnd(), 0
        while x >= gov_cum[g]:
            g += 1
        created = clock.text(int(rnd() * CITIZEN_DAYS * DAY))
        phone = f"+974{choice(MOBILE_PREFIXES)}{rng.randrange(10**7):07d}"
        iban = _iban(rng) if rnd() < 0.3 else None
        language = "ar" if rnd() < 0.9 else "en"
        rows.append((cid, national_id, name, search_text(name), phone, gov_ids[g], iban, language,
                     created, created))
    return rows


def _cumulative(weights):
    total = float(sum(weights))
    acc, out = 0.0, []
    for w in weights:
        acc += w
        out.append(acc / total)
    out[-1] = 1.0
    return out


# --- writing ---------------------------------------------------------------------------------------------------

def _pool(stage):
    """Who works a stage in synthetic data (a key of `_ensure_staff`'s clerks): its department's clerks, or, for a
    stage that requires a role, the staff of that role (the head's approval: the synthetic head, seed-head-01)."""
    return stage.department_id if stage.role is None else f"role:{stage.role}"


def _ensure_staff(departments) -> tuple[dict, list]:
    """Synthetic staff per department (seed-<department>-NN): clerks, or reception facilitators; and the head of
    the institution (seed-head-01), who decides the stages that require the head."""
    head, _ = Staff.get_or_create(username="seed-head-01", defaults={
        "full_name": "رئيس المؤسسة", "email": "seed-head-01@diwan.example", "role": "head", "department": None})
    clerks, reception = {"role:head": [head.id]}, []
    for dept in departments:
        role = "reception" if dept.code == "reception" else "clerk"
        ids = []
        for number in range(1, CLERKS_PER_DEPARTMENT + 1):
            username = f"seed-{dept.code}-{number:02d}"
            staff, _ = Staff.get_or_create(username=username, defaults={
                "full_name": f"{dept.name_ar} - موظف {number}", "email": f"{username}@diwan.example",
                "role": role, "department": dept})
            ids.append(staff.id)
        if role == "reception":
            reception = ids
        clerks[dept.id] = ids
    return clerks, reception


def _max(sql: str) -> int:
    return database.execute_sql(sql).fetchone()[0] or 0


def _last_sequences(years) -> dict[int, int]:
    """The last tracking sequence used per year: the tracking_sequence row, or the highest number in use."""
    found = {year: value for year, value in database.execute_sql("SELECT year, last_value FROM tracking_sequence")}
    p = database.param
    for year in years:
        found[year] = max(found.get(year, 0), last_tracking_value(year))
        prefix = f"{year % 100:02d}-"
        top = database.execute_sql(
            f"SELECT MAX(tracking_number) FROM request WHERE tracking_number >= {p} AND tracking_number < {p}",
            (prefix, f"{year % 100:02d}.")).fetchone()[0]
        if top:
            found[year] = max(found.get(year, 0), int(top[3:10]))
    return found


def _save_sequences(sequences: dict[int, int]):
    for year, value in sequences.items():
        raise_tracking_value(year, value)


def _chunks(counts, batch):
    """Consecutive days grouped into chunks of about `batch` requests: [[(day, count), ...], ...]."""
    chunk, size = [], 0
    for day in range(len(counts)):
        if counts[day]:
            chunk.append((day, counts[day]))
            size += counts[day]
        if size >= batch:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


# --- generating in a second process, writing here -----------------------------------------------------------------

COLUMNS = {"citizen": CITIZEN_COLUMNS, "request": REQUEST_COLUMNS, "history": HISTORY_COLUMNS}
COUNTED = {"citizen": "citizens", "request": "requests", "history": "history"}
HISTORY_DAY = HISTORY_COLUMNS.index("created_at")
PIPELINE_FROM = 100_000  # requests from which a second process generates the rows while this one writes them
DEFER_INDEXES_FROM = 500_000  # PostgreSQL: requests from which the indexes are built after the load (see _drop_indexes)
PIPELINE_AHEAD = 4  # items a generating process may run ahead of the writing one
PIPELINE_PARTS = 2  # processes generating the requests side by side, each every other chunk


def _citizens(ctx, salt, taken, batch, copy_text):
    """The new citizens in chunks of `batch` as ("citizen", rows, count), then (None, their governorates, 0): what the
    requests need of them. One random sequence for all (a national ID must not be drawn twice)."""
    encode = _copy_text if copy_text else list
    first_citizen, n_citizens = ctx["citizens"]
    rng = random.Random(f"citizens:{salt}")
    governorates = []  # a request records its citizen's governorate
    for start in range(0, n_citizens, batch):
        rows = _generate_citizens(rng, first_citizen + start, min(batch, n_citizens - start), ctx["governorates"],
                                  taken, ctx["clock"])
        governorates.extend(row[GOVERNORATE_COLUMN] for row in rows)
        yield "citizen", encode(rows), len(rows)
    yield None, governorates, 0


def _request_plan(chunks, first_request: int, sequences: dict, years: list) -> tuple[list, dict]:
    """Where each chunk of days starts: its first request id and the tracking sequences before it (a chunk takes one
    number of its year per request); and the sequences after the last. Each chunk can then be generated alone, in
    any process, and the rows are those of generating them one after the other."""
    starts, rid, current = [], first_request, dict(sequences)
    for chunk in chunks:
        starts.append((rid, dict(current)))
        for day, count in chunk:
            current[years[day]] = current.get(years[day], 0) + count
            rid += count
    return starts, current


def _requests(ctx, salt, chunks, starts, secret, copy_text, part=0, parts=1):
    """Chunks part, part + parts, ... of the requests as ("request", rows, count) followed by ("history", {day: signed
    rows}, count): chunk k from its own random sequence, ids and tracking numbers (see _request_plan)."""
    encode = _copy_text if copy_text else list
    for number in range(part, len(chunks), parts):
        first_id, sequences = starts[number]
        requests, history = _generate_requests(ctx, f"requests:{salt}:{number}", chunks[number], first_id,
                                               dict(sequences))
        yield "request", encode(requests), len(requests)
        by_day = {}  # (UTC) day -> its rows, each request's in order
        for row in history_chain.sign_rows(history, secret):
            by_day.setdefault(row[HISTORY_DAY][:10], []).append(row)
        yield "history", {day: encode(rows) for day, rows in by_day.items()}, len(history)


def _copy_text(rows):
    """Rows in COPY's text format, by psycopg's own formatter (C), or the rows themselves where it is not there."""
    try:
        from psycopg._copy_base import TextFormatter
        from psycopg.adapt import Transformer
    except ImportError:  # another psycopg: bulk_write's COPY formats them
        return list(rows)
    formatter = TextFormatter(Transformer())
    out = [formatter.write_row(row) for row in rows]
    out.append(formatter.end())
    return b"".join(out)


def _joined(payloads):
    """Several payloads of one table as one: COPY texts or lists of rows."""
    return b"".join(payloads) if isinstance(payloads[0], bytes) else [row for rows in payloads for row in rows]


def _write(table: str, payload) -> None:
    if isinstance(payload, bytes):
        names = ", ".join(f'"{c}"' for c in COLUMNS[table])
        with database.connection().cursor() as cursor, cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
            copy.write(payload)
    else:
        bulk_write(table, COLUMNS[table], payload)


def _produce_into(queue, produce, args):
    try:
        for item in produce(*args):
            queue.put(item)
        queue.put(("done", None, 0))
    except BaseException:  # noqa: BLE001 (told to the writing process, which fails the seed)
        queue.put(("failed", traceback.format_exc(), 0))


def _elsewhere(produce, args):
    """produce(*args), a generator, run in a forked process started now, up to PIPELINE_AHEAD items ahead of the
    reader: the rows are generated, signed and formatted there while the database takes the previous ones. The same
    items in the same order; the child touches no connection."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue(maxsize=PIPELINE_AHEAD)
    worker = context.Process(target=_produce_into, args=(queue, produce, args), name="seed-generator", daemon=True)
    worker.start()

    def items():
        try:
            while True:
                try:
                    item = queue.get(timeout=5)
                except Empty:
                    if not worker.is_alive():
                        raise RuntimeError(f"the seed's generating process ended ({worker.exitcode})") from None
                    continue
                if item[0] == "failed":
                    raise RuntimeError(f"generating the seed failed:\n{item[1]}")
                if item[0] == "done":
                    return
                yield item
        finally:
            if worker.is_alive():
                worker.terminate()
            worker.join()
            queue.close()

    return items()


def _interleaved(sources):
    """Items of the request sources in chunk order: chunk k comes from source k % len(sources), two items each."""
    while sources:
        for source in list(sources):
            pair = [next(source, None), next(source, None)]
            if pair[0] is None:
                sources.remove(source)
                continue
            yield from pair


def _drop_indexes() -> list[str]:
    """PostgreSQL, inside the seeding transaction: drop the secondary indexes of the seeded tables and return their
    definitions for _restore_indexes. Maintaining ~30 indexes row by row through ten million requests is most of a
    large load's time (once they outgrow memory each row reads and writes index pages at random); built once from
    sorted rows they cost a fraction of it. The primary keys stay (the new ids come in order, at the end). Nobody
    sees the tables without them: the drop waits for the readers and holds its lock until the commit."""
    rows = database.execute_sql(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class t ON t.oid = i.indrelid "
        "WHERE t.relname IN ('citizen', 'request', 'history') AND t.relnamespace = current_schema()::regnamespace "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) "
        "ORDER BY t.relname, i.indexrelid").fetchall()
    for name, _ in rows:
        database.execute_sql(f"DROP INDEX {name}")
    return [definition for _, definition in rows]


def _restore_indexes(definitions: list[str]) -> None:
    """The indexes dropped by _drop_indexes, built again as they were (a unique one checks its rows again)."""
    if definitions:
        database.execute_sql("SET LOCAL maintenance_work_mem = '512MB'")
        for definition in definitions:
            database.execute_sql(definition)


# --- the entry point -----------------------------------------------------------------------------------------------

def seed(n: int, *, batch: int = 25000, seed: int = 1, now: dt.datetime | None = None, progress=None,
         pipeline: bool | None = None, defer_indexes: bool | None = None) -> dict:
    """Append n synthetic requests (about n/3 new citizens, ~3 history rows each); returns counts and seconds.

    Needs the definitions loaded (departments, governorates, request types with stages). Call it with an open
    connection (inside `database.connection_context()`) and outside any transaction: it runs its own, all or
    nothing. `progress`, if given, is called with the number of requests written so far.
    """
    started = time.monotonic()
    now = (now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)).replace(microsecond=0)
    departments = list(Department.select().order_by(Department.id))
    governorates = list(Governorate.select().order_by(Governorate.id))
    stages_by_type = {}
    for stage in Stage.select().where(Stage.last_version.is_null()).order_by(Stage.request_type, Stage.position):
        stages_by_type.setdefault(stage.request_type_id, []).append(stage)
    types = [t for t in RequestType.select().where(RequestType.active).order_by(RequestType.id)
             if stages_by_type.get(t.id)]
    if not (departments and governorates and types):
        raise RuntimeError("Load the definitions first (diwan load-definitions): there are no request types.")

    clerks, reception = _ensure_staff(departments)
    # the clock starts a year before the first request: citizens were registered in that year
    first_day = dt.datetime(now.year, now.month, now.day) - dt.timedelta(days=HISTORY_DAYS)
    origin = first_day - dt.timedelta(days=CITIZEN_DAYS)
    clock = _Clock(origin, CITIZEN_DAYS + HISTORY_DAYS + max(t.sla_days for t in types) + 2)
    day_counts = [0] * CITIZEN_DAYS + _day_counts(n, HISTORY_DAYS + 1, first_day.weekday())
    years = sorted({clock.years[d] for d, c in enumerate(day_counts) if c})

    sqlite = is_sqlite()
    restore = []
    if sqlite:  # set outside the transaction (foreign_keys cannot change inside one); restored below
        for pragma, value in SQLITE_SEED_PRAGMAS.items():
            restore.append((pragma, database.execute_sql(f"PRAGMA {pragma}").fetchone()[0]))
            database.execute_sql(f"PRAGMA {pragma} = {value}")
    counts = {"requests": 0, "citizens": 0, "history": 0, "chunks": 0}
    if pipeline is None:  # a second process pays once there are a few chunks to overlap (a daemon may have none)
        pipeline = n >= PIPELINE_FROM and not multiprocessing.current_process().daemon
    try:
        with database.atomic(**({"lock_type": "IMMEDIATE"} if sqlite else {})):
            if not sqlite:
                _prepare_postgresql()
            first_citizen = _max("SELECT MAX(id) FROM citizen") + 1
            first_request = _max("SELECT MAX(id) FROM request") + 1
            salt = f"{seed}:{first_request}:{first_citizen}"

            taken = set()
            if first_citizen > 1:
                taken = {row[0][:-1] for row in database.execute_sql("SELECT national_id FROM citizen")}
            n_citizens = max(1, n // 3) if n else 0
            ctx = {
                "clock": clock,
                "now": int((now - origin).total_seconds()),
                "types": [(t.id, t.sla_days * DAY, t.is_money, SUBJECTS.get(t.code, (t.name_ar,)),
                           [doc["code"] for doc in json.loads(t.documents or "[]") if "code" in doc],
                           [(s.id, s.department_id, s.budget_days * DAY, _pool(s)) for s in stages_by_type[t.id]],
                           _field_forms(t)[::-1])  # forms[True]: every document received (completed)
                          for t in types],
                "type_cum": _cumulative([TYPE_WEIGHTS.get(t.code, 2) for t in types]),
                "clerks": clerks,
                "reception": reception,
                "citizens": (first_citizen, n_citizens),
                "governorates": ([g.id for g in governorates],
                                 _cumulative([GOVERNORATE_WEIGHTS.get(g.code, 1) for g in governorates])),
            }
            if defer_indexes is None:  # a large load into tables that hold less: build the indexes afterwards
                defer_indexes = n >= DEFER_INDEXES_FROM and first_request - 1 < n
            deferred = _drop_indexes() if defer_indexes and not sqlite else []
            run = _elsewhere if pipeline else (lambda produce, args: produce(*args))
            for table, payload, size in run(_citizens, (ctx, salt, taken, batch, not sqlite)):
                if table is None:  # the end: each citizen's governorate, for the requests
                    ctx["citizen_governorates"] = payload
                    continue
                _write(table, payload)
                counts["citizens"] += size
            del taken
            chunks = list(_chunks(day_counts, batch))
            starts, sequences = _request_plan(chunks, first_request, _last_sequences(years), clock.years)
            secret = chain.key()  # each request's history is keyed into its chain as it is written
            parts = PIPELINE_PARTS if pipeline else 1
            sources = [run(_requests, (ctx, salt, chunks, starts, secret, not sqlite, part, parts))
                       for part in range(parts)]
            # history is written by day, as the application appends it: a day's steps lie together (counting a day,
            # or today's figures on the dashboard, reads a few pages, not a page per row all over the table); a day
            # is written once no later chunk can add to it (a request's steps come after it was received)
            pending = {}
            try:
                for table, payload, size in _interleaved(sources):
                    if table == "request":
                        _write(table, payload)
                        progress and progress(counts["requests"] + size)
                        after = len(chunks) > counts["chunks"] + 1 and clock.days[chunks[counts["chunks"] + 1][0][0]]
                    else:
                        counts["chunks"] += 1
                        for day, rows in payload.items():
                            pending.setdefault(day, []).append(rows)
                        for day in sorted(day for day in pending if not after or day < after):
                            _write(table, _joined(pending.pop(day)))
                    counts[COUNTED[table]] += size
            finally:  # on a failure here: the generating processes stop at once
                for source in sources:
                    source.close()
            _save_sequences({year: sequences[year] for year in years})
            _current_versions(types, first_request)
            _restore_indexes(deferred)
            open_work.recount()  # the bulk rows bypass the workflow steps that keep the open work counted
            if not sqlite:
                for table in ("citizen", "request"):
                    database.execute_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                         f"(SELECT COALESCE(MAX(id), 1) FROM \"{table}\"))")
        _analyze(sqlite)
    finally:
        for pragma, value in restore:
            database.execute_sql(f"PRAGMA {pragma} = {value}")
    del counts["chunks"]
    counts["seconds"] = round(time.monotonic() - started, 2)
    return counts


def _current_versions(types, first_request: int) -> None:
    """The seeded requests of a type edited since its first version started with its current one (issue 20): the
    bulk rows leave `type_version` to the column's default, 1."""
    for rtype in types:
        if rtype.version != 1:
            Request.update(type_version=rtype.version).where(
                (Request.request_type == rtype.id) & (Request.id >= first_request)).execute()


def _prepare_postgresql():
    """Inside the seeding transaction: nobody else inserts while ids are handed out here, nobody changes the
    reference rows the new rows point at. And, when the role may set it, session_replication_role = replica
    for this transaction only: it skips the per-row foreign-key triggers, two thirds of the time of a COPY into
    `history`. Safe here because every reference is built from rows read or written in this same transaction
    and the locks keep them in place; no constraint or index is dropped."""
    database.execute_sql("LOCK TABLE citizen, request, history, tracking_sequence IN SHARE ROW EXCLUSIVE MODE")
    database.execute_sql("LOCK TABLE department, governorate, staff, request_type, stage IN SHARE MODE")
    allowed, version = database.execute_sql(
        "SELECT rolsuper, current_setting('server_version_num')::int FROM pg_roles "
        "WHERE rolname = current_user").fetchone()
    if not allowed and version >= 150000:  # PostgreSQL 15 lets a superuser GRANT SET ON PARAMETER
        allowed = database.execute_sql(
            "SELECT has_parameter_privilege('session_replication_role', 'SET')").fetchone()[0]
    if allowed:
        database.execute_sql("SET LOCAL session_replication_role = replica")


def _analyze(sqlite: bool):
    """Fresh planner statistics after a bulk load; on PostgreSQL a VACUUM as well: it marks the new pages all-visible,
    so that the covering indexes over open work are read without the table (index-only scans), and autovacuum does
    not come to do it, throttled, for minutes while the pages are in use (at ten million requests)."""
    if sqlite:  # a full ANALYZE: about 1.5 s for a million requests; sampled statistics misled the planner
        database.execute_sql("ANALYZE")
        return
    connection = database.connection()
    connection.commit()  # VACUUM runs outside any transaction
    connection.autocommit = True
    try:
        database.execute_sql('VACUUM (ANALYZE) "citizen", "request", "history"')
    finally:
        connection.autocommit = False


@click.command("seed-demo")
@click.option("--requests", "n", default=1000, show_default=True, type=click.IntRange(min=0),
              help="How many synthetic requests to add.")
@click.option("--seed", "seed_value", default=1, show_default=True, type=int, help="Random seed.")
@with_appcontext
def seed_demo_command(n, seed_value):
    """Add synthetic citizens, requests and their history (appends to what is there)."""
    from intranet import definitions

    with database.connection_context():
        if not RequestType.select().exists():
            loaded = definitions.load(current_app.config["REQUEST_TYPES_FILE"])
            click.echo("loaded definitions: " + ", ".join(f"{v} {k}" for k, v in loaded.items()))
        counts = seed(n, seed=seed_value)
    click.echo(f"added {counts['requests']} requests, {counts['citizens']} citizens and "
               f"{counts['history']} history rows in {counts['seconds']} s")


# --- payouts (tests and the benchmark of bank files) ---------------------------------------------------------------

def seed_payouts(n: int, *, status: str = "approved", seed: int = 1) -> list[int]:
    """Append n completed money requests, each with its payout in `status` (approved: ready for a batch), for
    half as many new citizens who all have an IBAN. Bulk-written in one transaction; returns the payout ids.
    Needs the definitions loaded; call it with an open connection and outside any transaction."""
    from intranet.models.payouts import Payout

    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    departments = list(Department.select().order_by(Department.id))
    governorates = [g.id for g in Governorate.select().order_by(Governorate.id)]
    money = [t for t in RequestType.select().where(RequestType.is_money & RequestType.active).order_by(RequestType.id)]
    last_stage = {t.id: Stage.select().where((Stage.request_type == t.id) & Stage.last_version.is_null())
                  .order_by(Stage.position.desc()).first()
                  for t in money}
    if not money or not all(last_stage.values()):
        raise RuntimeError("Load the definitions first (diwan load-definitions): there is no money request type.")
    clerks, _ = _ensure_staff(departments)
    rng = random.Random(f"payouts:{seed}:{n}")
    sqlite = is_sqlite()
    with database.atomic(**({"lock_type": "IMMEDIATE"} if sqlite else {})):
        first_citizen = _max("SELECT MAX(id) FROM citizen") + 1
        first_request = _max("SELECT MAX(id) FROM request") + 1
        first_payout = _max("SELECT MAX(id) FROM payout") + 1
        taken = ({row[0][:-1] for row in database.execute_sql("SELECT national_id FROM citizen")}
                 if first_citizen > 1 else set())
        clock = _Clock(now - dt.timedelta(days=CITIZEN_DAYS + 1), CITIZEN_DAYS + 3)  # citizens of the last year
        n_citizens = max(1, n // 2)
        citizens = _generate_citizens(rng, first_citizen, n_citizens, (governorates, _cumulative([1] * len(governorates))),
                                      taken, clock)
        citizens = [row[:6] + (_iban(rng),) + row[7:] for row in citizens]  # every one has an IBAN
        bulk_write("citizen", CITIZEN_COLUMNS, citizens)
        year = now.year
        sequence = _last_sequences([year])[year]
        stamp = clock.text(CITIZEN_DAYS * DAY)  # yesterday
        requests, payouts = [], []
        for i in range(n):
            citizen = citizens[i % n_citizens]
            request_type = money[i % len(money)]
            stage = last_stage[request_type.id]
            clerk = clerks[_pool(stage)][i % len(clerks[_pool(stage)])]
            amount = str(Decimal(rng.randrange(50_000, 5_000_000)) / 100)  # text: sqlite3 does not adapt Decimal
            sequence += 1
            rid = first_request + i
            requests.append((rid, format_tracking_number(year, sequence), citizen[0], request_type.id, "walk_in",
                             citizen[5], stage.id, stage.department_id, "completed", None, None,
                             request_type.name_ar, "", "{}", amount, stamp, stamp, None, None, stamp, stamp, 1, clerk))
            payouts.append((first_payout + i, rid, citizen[0], request_type.id, stage.department_id, citizen[5], amount,
                            current_currency(), citizen[6], citizen[2], status, 1, "[]", "", "", clerk, stamp,
                            stamp if status != "pending" else None, 1))
        bulk_write("request", REQUEST_COLUMNS, requests)
        _current_versions(money, first_request)
        bulk_write("payout", PAYOUT_COLUMNS, payouts)
        if status != "pending":  # approved (or further): by a synthetic supervisor who had no hand in them
            approver, _ = Staff.get_or_create(username="seed-supervisor", defaults={
                "full_name": "مشرف تجريبي", "email": "seed-supervisor@diwan.example", "role": "supervisor"})
            bulk_write("payout_approval", ("payout_id", "approver_id", "iban", "approved_at", "void_reason"),
                       [(row[0], approver.id, row[8], stamp, "") for row in payouts])
        _save_sequences({year: sequence})
        if not sqlite:
            for table in ("citizen", "request", "payout"):
                database.execute_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT COALESCE(MAX(id), 1) FROM \"{table}\"))")
    if not sqlite:  # fresh statistics: a planner that still thinks these tables hold a few rows loops over them
        for table in ("citizen", "request", "payout", "payout_approval"):
            database.execute_sql(f'ANALYZE "{table}"')
    return [row.id for row in Payout.select(Payout.id).where(Payout.id >= first_payout).order_by(Payout.id)]


PAYOUT_COLUMNS = ("id", "request_id", "citizen_id", "request_type_id", "department_id", "governorate_id", "amount",
                  "currency", "iban", "beneficiary", "status", "approvals_needed", "duplicate_of", "override_reason",
                  "reject_reason", "made_by_id", "created_at", "decided_at", "version")


def current_currency() -> str:
    from intranet.config import setting
    return setting("CURRENCY")
