"""Interview requests (issue 16): the clerk who decides the request sets the interview's date, time and place
(workflow.schedule_interview), the citizen gets an SMS in their language, and a reminder the day before (the office's
day: INTRANET_TIMEZONE), once, for the interview's time in force."""
import datetime as dt

import pytest

from intranet import interviews, workflow
from intranet.models import HistoryEntry, Notification, Request, RequestType
from intranet.notify import delivery, reminders, wording
from intranet.stats.figures import day_bounds, local_today, zone
from tests.conftest import csrf_token
from tests.factories import make_citizen, make_staff

PLACE = "مبنى الديوان، الطابق الثاني، القاعة 3"


def interview_request(citizen=None):
    desk = make_staff("desk", "reception", "reception") if not _desk() else _desk()
    return workflow.submit(desk, citizen or make_citizen(), RequestType.get(RequestType.code == "interview"),
                           "walk_in", "طلب مقابلة رئيس المؤسسة",
                           data={"interview_with": "رئيس المؤسسة", "purpose": "متابعة طلب سابق"}).request


def _desk():
    from intranet.models import Staff
    return Staff.get_or_none(Staff.username == "desk")


def reload(req):
    return Request.get_by_id(req.id)


def local_at(day: dt.date, hour: int, minute: int = 0) -> str:
    """The form's value (datetime-local: the office's time)."""
    return dt.datetime.combine(day, dt.time(hour, minute)).strftime("%Y-%m-%dT%H:%M")


def utc_of(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    moment = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone())
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)


def schedule(clerk, req, when, place=PLACE):
    fresh = reload(req)
    return workflow.schedule_interview(clerk, fresh, fresh.version, when, place)


def reminder_rows(req):
    return list(Notification.select().where((Notification.request == req.id)
                                            & (Notification.event == "interview_reminder")
                                            & (Notification.channel == "sms")).order_by(Notification.id))


@pytest.fixture
def staff(ctx):
    return {"citizens": make_staff("z1", "clerk", "citizens"), "health": make_staff("h1", "clerk", "health"),
            "desk": make_staff("desk", "reception", "reception"), "supervisor": make_staff("s1", "supervisor", None)}


TOMORROW = dt.timedelta(days=1)


# --- who, and what is stored --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("who", "allowed"), [("citizens", True), ("supervisor", True), ("health", False),
                                              ("desk", False)])
def test_who_may_schedule(staff, who, allowed):
    req = interview_request()
    day = local_today() + TOMORROW * 3
    if not allowed:
        with pytest.raises(workflow.NotAllowed):
            schedule(staff[who], req, local_at(day, 10))
        after = reload(req)
        assert (after.interview_at, after.version) == (None, req.version)
        assert not HistoryEntry.select().where(HistoryEntry.action == "schedule_interview").exists()
        return
    done = schedule(staff[who], req, local_at(day, 10, 30))
    after = reload(req)
    assert (after.interview_at, after.interview_place, after.version) == (utc_of(day, 10, 30), PLACE, req.version + 1)
    entry = done.entry
    assert (entry.action, entry.from_status, entry.to_status) == ("schedule_interview", "open", "open")
    assert entry.info == {"at": utc_of(day, 10, 30).replace(tzinfo=dt.timezone.utc).isoformat(), "place": PLACE}


def test_only_an_interview_request_has_an_interview(staff):
    from tests.factories import make_request
    other = make_request("inquiry")
    with pytest.raises(workflow.NotAllowed):
        schedule(staff["citizens"], other, local_at(local_today() + TOMORROW, 10))
    assert reload(other).interview_at is None


@pytest.mark.parametrize(("when", "place", "message"), [
    ("", PLACE, "حدّد تاريخ المقابلة ووقتها."),
    ("غداً", PLACE, "اكتب تاريخ المقابلة ووقتها: اليوم والشهر والسنة والساعة والدقيقة."),
    ("past", PLACE, "يجب أن يكون موعد المقابلة في وقت لم يأتِ بعد."),
    ("far", PLACE, "يجب أن يكون موعد المقابلة خلال السنة القادمة: تحقّق من السنة."),
    ("soon", " \x07 \t ", "اكتب مكان المقابلة."),
    ("soon", "ق" * 201, "200 حرفاً على الأكثر."),
])
def test_bad_input_is_refused_in_the_persons_language_and_changes_nothing(app, staff, when, place, message):
    req = interview_request()
    today = local_today()
    when = {"past": local_at(today - TOMORROW, 10), "far": local_at(today.replace(year=today.year + 2), 10),
            "soon": local_at(today + TOMORROW * 2, 10)}.get(when, when)
    with app.test_request_context(headers={"Accept-Language": "ar"}):
        with pytest.raises(workflow.WorkflowError) as refused:
            schedule(staff["citizens"], req, when, place)
        assert str(refused.value.message) == message
    after = reload(req)
    assert (after.interview_at, after.interview_place, after.version) == (None, None, req.version)
    assert not Notification.select().where(Notification.event == "interview_scheduled").exists()


def test_control_characters_are_stripped_from_the_place(staff):
    req = interview_request()
    schedule(staff["citizens"], req, local_at(local_today() + TOMORROW * 2, 9), "القاعة\x07 3\u202e\n")
    assert reload(req).interview_place == "القاعة 3"


def test_a_stale_page_is_refused(staff):
    req = interview_request()
    stale = reload(req)
    schedule(staff["citizens"], req, local_at(local_today() + TOMORROW * 2, 9))
    with pytest.raises(workflow.StaleRequest):
        workflow.schedule_interview(staff["citizens"], stale, stale.version, local_at(local_today() + TOMORROW * 3, 9),
                                    "مكان آخر")
    assert reload(req).interview_place == PLACE


# --- the citizen's SMS at the gateway ------------------------------------------------------------------------------

@pytest.mark.parametrize("language", ["ar", "en"])
def test_the_citizen_gets_the_date_and_place_by_sms_in_their_language(staff, gateway, language):
    citizen = make_citizen(phone="+97455000222", preferred_language=language)
    req = interview_request(citizen)
    day = local_today() + TOMORROW * 5
    place = PLACE if language == "ar" else "Diwan building, room 3"
    schedule(staff["citizens"], req, local_at(day, 9, 30), place)
    moved = local_today() + TOMORROW * 6
    schedule(staff["citizens"], req, local_at(moved, 11), place)  # moved: a new SMS with the new date
    delivery.deliver_due()
    texts = [item["json"]["text"] for item in gateway.received if item["json"]["to"] == "+97455000222"]
    told = [text for text in texts if place in text]
    assert len(told) == 2, texts
    first, second = told
    assert interviews.when_text(utc_of(day, 9, 30), language) in first
    assert interviews.when_text(utc_of(moved, 11), language) in second
    if language == "ar":
        assert first.startswith("موعد مقابلتكم عن الطلب") and "9:30 ص" in first
    else:
        assert first.startswith("Your interview for request") and "9:30 AM" in first
        assert not any("\u0600" <= ch <= "\u06ff" for ch in first)
        assert wording.sms_info(first)["encoding"] == "GSM-7"  # no narrow no-break space from the time format


# --- the reminder the day before -------------------------------------------------------------------------------

def test_the_reminder_is_written_once_for_tomorrows_local_date(staff):
    tomorrow = local_today() + TOMORROW
    early = interview_request()  # 00:30 tomorrow in the office is still today in UTC (Asia/Qatar: UTC+3)
    schedule(staff["citizens"], early, local_at(tomorrow, 0, 30))
    assert reload(early).interview_at.date() != tomorrow
    late = interview_request()  # 23:30 tomorrow: tomorrow too
    schedule(staff["citizens"], late, local_at(tomorrow, 23, 30))
    after = interview_request()  # the day after tomorrow: not yet
    schedule(staff["citizens"], after, local_at(tomorrow + TOMORROW, 0, 30))
    tonight = interview_request()  # 23:59 today (set directly: it may be past already): not tomorrow's
    Request.update(interview_at=day_bounds(tomorrow)[0] - dt.timedelta(minutes=1), interview_place=PLACE).where(
        Request.id == tonight.id).execute()

    assert reminders.queue_reminders() == 2  # an SMS each; the citizens gave no e-mail
    assert reminders.queue_reminders() == 0  # run again (the hourly job): nothing more
    assert [len(reminder_rows(req)) for req in (early, late, after, tonight)] == [1, 1, 0, 0]
    reminder = reminder_rows(early)[0]
    body = reminder.body
    # beside the entry that set the interview, on the request's timeline
    assert HistoryEntry.get_by_id(reminder.history_id).action == "schedule_interview"
    assert interviews.when_text(utc_of(tomorrow, 0, 30), "ar") in body and PLACE in body and "تذكير" in body


def test_the_hourly_job_writes_the_reminders(staff, app):
    from jobs.reminders import remind_interviews
    req = interview_request()
    schedule(staff["citizens"], req, local_at(local_today() + TOMORROW, 12))
    remind_interviews.call_local()
    remind_interviews.call_local()
    assert len(reminder_rows(req)) == 1


def test_a_moved_interview_is_reminded_of_its_new_time_only(staff):
    tomorrow = local_today() + TOMORROW
    req = interview_request()
    schedule(staff["citizens"], req, local_at(tomorrow, 10))
    assert reminders.queue_reminders() == 1
    schedule(staff["citizens"], req, local_at(tomorrow, 15, 45))  # moved within tomorrow
    assert reminders.queue_reminders() == 1
    rows = reminder_rows(req)
    assert len(rows) == 1  # the old time's reminder, never tried, was withdrawn
    assert interviews.when_text(utc_of(tomorrow, 15, 45), "ar") in rows[0].body
    schedule(staff["citizens"], req, local_at(tomorrow + TOMORROW * 3, 10))  # moved further away
    assert reminders.queue_reminders() == 0 and reminder_rows(req) == []


def test_a_reminder_already_sent_stays_and_the_new_time_gets_its_own(staff):
    tomorrow = local_today() + TOMORROW
    req = interview_request()
    schedule(staff["citizens"], req, local_at(tomorrow, 10))
    reminders.queue_reminders()
    Notification.update(status="sent", attempts=1).where(Notification.event == "interview_reminder").execute()
    schedule(staff["citizens"], req, local_at(tomorrow, 16))
    assert reminders.queue_reminders() == 1
    assert [row.status for row in reminder_rows(req)] == ["sent", "queued"]


def test_a_closed_request_is_not_reminded(staff):
    req = interview_request()
    schedule(staff["citizens"], req, local_at(local_today() + TOMORROW, 10))
    fresh = reload(req)
    workflow.reject(staff["citizens"], fresh, fresh.version, "ألغى المواطن طلبه")
    assert reminders.queue_reminders() == 0


# --- the panel ----------------------------------------------------------------------------------------------------

def test_the_panel_sets_the_interview_and_the_history_shows_it(client, auth, data):
    with data():
        req = interview_request()
        tracking, version = req.tracking_number, req.version
        day = local_today() + TOMORROW * 4
    auth.login("citizens1")
    page = client.get(f"/requests/{tracking}")
    assert page.status_code == 200 and 'name="place"' in page.text and 'type="datetime-local"' in page.text
    token = csrf_token(client, f"/requests/{tracking}")
    url = f"/requests/{tracking}/interview"
    refused = client.post(url, data={"csrf_token": token, "version": version, "at": local_at(day, 10), "place": ""},
                          headers={"HX-Request": "true"})
    assert refused.status_code == 422 and "اكتب مكان المقابلة." in refused.text  # the clerk's language
    done = client.post(url, data={"csrf_token": token, "version": version, "at": local_at(day, 10), "place": PLACE},
                       headers={"HX-Request": "true"})
    assert done.status_code == 200 and 'id="request-panel"' in done.text
    with data():
        assert reload(req).interview_at == utc_of(day, 10)
        when = interviews.when_text(utc_of(day, 10), "ar")
    assert when in done.text and PLACE in done.text
    assert "حدّد موعد مقابلة" in done.text  # the history entry's label, in Arabic
    stale = client.post(url, data={"csrf_token": token, "version": version, "at": local_at(day, 11), "place": PLACE})
    assert stale.status_code == 409


@pytest.mark.parametrize("username", ["health1", "reception1"])
def test_other_departments_and_the_desk_get_403_and_nothing_changes(client, auth, data, username):
    with data():
        req = interview_request()
        tracking, version = req.tracking_number, req.version
        day = local_today() + TOMORROW * 4
    auth.login(username)
    token = csrf_token(client, "/")
    answer = client.post(f"/requests/{tracking}/interview",
                         data={"csrf_token": token, "version": version, "at": local_at(day, 10), "place": PLACE})
    assert answer.status_code == 403
    if username == "reception1":  # the desk reads the request, without the form
        assert 'name="place"' not in client.get(f"/requests/{tracking}").text
    with data():
        after = reload(req)
        assert (after.interview_at, after.version) == (None, version)
        assert not Notification.select().where(Notification.event == "interview_scheduled").exists()


# --- the portal is told --------------------------------------------------------------------------------------------

def test_the_submitting_portal_is_told_the_interview_by_webhook(staff, client):
    """An electronic interview request's interview (date and place) goes to the portal that submitted it, and to no
    other client; the OpenAPI document describes that payload (and an inquiry's answer)."""
    import json

    from intranet.intake import clients
    from intranet.models import InboxEntry, WebhookDelivery

    admin = make_staff("a1", "admin", None)
    ours = clients.create_client(admin, "Ours", ["requests:write"], webhook_url="http://127.0.0.1:9/a").client
    theirs = clients.create_client(admin, "Theirs", ["requests:write"], webhook_url="http://127.0.0.1:9/b").client
    interview = RequestType.get(RequestType.code == "interview")
    req = workflow.submit(None, make_citizen(), interview, "electronic", "طلب مقابلة",
                          data={"interview_with": "رئيس المؤسسة", "purpose": "متابعة"}).request
    other = workflow.submit(None, make_citizen(), interview, "electronic", "طلب مقابلة",
                            data={"interview_with": "مدير الإدارة", "purpose": "متابعة"}).request
    for client_row, made, reference in ((ours, req, "P-1"), (theirs, other, "P-2")):
        InboxEntry.create(client=client_row, request=made, status="accepted", payload=b"{}",
                          portal_reference=reference, content_type="application/json")
    when = local_at(local_today() + dt.timedelta(days=3), 10, 30)
    schedule(staff["citizens"], req, when)
    deliveries = list(WebhookDelivery.select().order_by(WebhookDelivery.id))
    assert [(d.client_id, d.request_id) for d in deliveries] == [(ours.id, req.id)]
    body = json.loads(deliveries[0].payload)
    assert body["event"] == "interview_scheduled" and body["portal_reference"] == "P-1"
    assert body["interview"] == {"at": interviews.iso(utc_of(local_today() + dt.timedelta(days=3), 10, 30)),
                                 "place": PLACE}
    assert body["status"] == "open" and "answer" not in body

    doc = client.get("/api/v1/openapi.json").json
    hook = doc["webhooks"]["requestStatusChanged"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    event = doc["components"]["schemas"][hook["$ref"].rsplit("/", 1)[1]]
    assert {"answer", "interview", "tracking_number", "portal_reference", "event"} <= set(event["properties"])
    assert "interview_scheduled" in json.dumps(event["properties"]["event"])
