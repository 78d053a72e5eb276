"""Appointments at reception (issue 19): slots and capacity kept by the database under concurrency, the SMS code,
the rules against fake bookings (a second booking refused, an unconfirmed one expiring, the no-show block), check-in
ahead of the walk-ins at the right desk, the urgent overrides counted, the day-before reminder, the portal API, the
desk's and the administrators' pages."""
import datetime as dt
import re
import threading

import pytest

from intranet.db import database
from intranet.intake import clients
from intranet.models import Department, Notification, VisitorTicket, utcnow
from intranet.models.bookings import Booking, BookingService, ReceptionDesk, ReceptionOverride
from intranet.reception import bookings, tickets
from intranet.stats.figures import local_today
from tests.conftest import csrf_token
from tests.factories import make_citizen, make_staff

MINUTE = dt.timedelta(minutes=1)


def _service(**overrides) -> BookingService:
    values = dict(code="health_care", name_ar="استشارة منحة الرعاية الصحية", name_en="Health-care consultation",
                  department=Department.get(Department.code == "health"), ticket_service="request_submission",
                  opens="00:00", closes="23:45", weekdays="0,1,2,3,4,5,6", slot_minutes=15, capacity=2)
    values.update(overrides)
    return BookingService.create(**values)


def _tomorrow_slot(hour=9) -> str:
    return f"{local_today() + dt.timedelta(days=1):%Y-%m-%d}T{hour:02d}:00"


@pytest.fixture
def service(ctx):
    return _service()


@pytest.fixture
def desk_staff(ctx):
    return make_staff("desk", "reception", "reception")


def _codes():
    """The codes sent by SMS, newest last (read from the outbox rows, as the loopback gateway would)."""
    return [re.search(r"\b(\d{6})\b", n.body).group(1)
            for n in Notification.select().where(Notification.event == "booking_code").order_by(Notification.id)]


def test_booking_sends_a_code_that_confirms_it_once(service):
    citizen = make_citizen(preferred_language="en")
    booking, code = bookings.book(service, citizen.national_id, _tomorrow_slot())
    assert (booking.status, booking.seat in (1, 2), booking.channel) == ("pending", True, "portal")
    assert code not in booking.code_hash and len(booking.code_hash) == 64  # kept as an HMAC, never in the clear
    sms = Notification.get(Notification.event == "booking_code")
    assert (sms.recipient, sms.language, sms.citizen_id) == (citizen.phone, "en", citizen.id)
    assert _codes() == [code] and "Health-care consultation" in sms.body
    with pytest.raises(bookings.BookingError) as wrong:
        bookings.confirm(booking, "000000" if code != "000000" else "111111")
    assert wrong.value.kind == "wrong-code" and "4" in str(wrong.value.message)
    confirmed = bookings.confirm(booking, code)
    assert (confirmed.status, confirmed.code_hash) == ("confirmed", "")
    assert bookings.confirm(booking, code).status == "confirmed"  # said twice: the same answer
    arabic = make_citizen(preferred_language="ar")
    _, code = bookings.book(service, arabic.national_id, _tomorrow_slot())
    body = Notification.get((Notification.event == "booking_code") & (Notification.citizen == arabic.id)).body
    assert code in body and "رمز" in body and "استشارة" in body


def test_a_second_booking_of_the_same_service_is_refused(service):
    citizen = make_citizen()
    bookings.book(service, citizen.national_id, _tomorrow_slot(9))
    with pytest.raises(bookings.BookingError) as second:
        bookings.book(service, citizen.national_id, _tomorrow_slot(10))
    assert second.value.kind == "already-booked"
    assert Booking.select().count() == 1
    other = _service(code="pension", ticket_service="follow_up")
    assert bookings.book(other, citizen.national_id, _tomorrow_slot(10))[0].status == "pending"  # another service
    day = local_today() + dt.timedelta(days=1)
    by_time = {slot.value: slot.free for slot in bookings.slots(service, day)}
    assert by_time[_tomorrow_slot(9)] == 1 and by_time[_tomorrow_slot(10)] == 2  # the seats left
    closed = _service(code="closed", weekdays=str((day.weekday() + 1) % 7))
    assert bookings.slots(closed, day) == []
    first, after = bookings.day_page(size=1, day=day)  # the desk's list, by time, a page at a time
    second, last = bookings.day_page(after, size=1, day=day)
    assert [b.slot_at.hour for b in first + second] == sorted(b.slot_at.hour for b in first + second)
    assert len(first + second) == 2 and last is None and bookings.day_page("x" * 99, day=day)[0][0].id == first[0].id


def test_an_unconfirmed_booking_expires_and_frees_its_seat(service):
    first, second, third = make_citizen(), make_citizen(), make_citizen()
    booking, code = bookings.book(service, first.national_id, _tomorrow_slot())
    bookings.book(service, second.national_id, _tomorrow_slot())
    with pytest.raises(bookings.BookingError) as full:
        bookings.book(service, third.national_id, _tomorrow_slot())
    assert full.value.kind == "slot-full"
    later = utcnow() + 11 * MINUTE
    assert bookings.expire_due(utcnow()) == {"expired": 0, "no_show": 0}
    assert bookings.expire_due(later)["expired"] == 2
    gone = Booking.get_by_id(booking.id)
    assert (gone.status, gone.seat) == ("expired", None)
    with pytest.raises(bookings.BookingError) as expired:
        bookings.confirm(booking, code)
    assert expired.value.kind == "gone"
    assert bookings.book(service, third.national_id, _tomorrow_slot())[0].seat in (1, 2)  # the seats came back
    assert bookings.book(service, first.national_id, _tomorrow_slot())[0].status == "pending"  # may book again


def test_too_many_wrong_codes_cancel_the_booking(service, app):
    booking, code = bookings.book(service, make_citizen().national_id, _tomorrow_slot())
    wrong = "123456" if code != "123456" else "654321"
    for _ in range(app.config["BOOKING_CODE_ATTEMPTS"] - 1):
        with pytest.raises(bookings.BookingError):
            bookings.confirm(booking, wrong)
    with pytest.raises(bookings.BookingError) as last:
        bookings.confirm(booking, wrong)
    assert last.value.kind == "gone"
    assert Booking.get_by_id(booking.id).status == "expired"
    with pytest.raises(bookings.BookingError):
        bookings.confirm(booking, code)  # the right code comes too late


def test_repeated_no_shows_block_online_booking_not_the_desk(service, desk_staff):
    citizen = make_citizen()
    for hour in (9, 10):
        booking, code = bookings.book(service, citizen.national_id, _tomorrow_slot(hour))
        bookings.confirm(booking, code)
        after = booking.slot_at + 21 * MINUTE
        assert bookings.expire_due(after)["no_show"] == 1
    assert bookings.blocked_until(citizen, after) is not None
    with pytest.raises(bookings.BookingError) as blocked:
        bookings.book(service, citizen.national_id, _tomorrow_slot(11), now=after - dt.timedelta(hours=3))
    assert blocked.value.kind == "blocked"
    assert bookings.blocked_until(citizen, after + dt.timedelta(days=31)) is None  # the no-shows aged out
    by_phone, _ = bookings.book(service, citizen.national_id, _tomorrow_slot(11), channel="desk", staff=desk_staff)
    assert by_phone.booked_by_id == desk_staff.id


def test_bad_input_changes_nothing(service, desk_staff):
    citizen = make_citizen()
    for national_id, slot, field in (("123", _tomorrow_slot(), "national_id"), (citizen.national_id, "soon", "slot"),
                                     (citizen.national_id, f"{local_today():%Y-%m-%d}T00:00", "slot"),
                                     (citizen.national_id, _tomorrow_slot()[:-2] + "07", "slot"),
                                     (citizen.national_id, "0001-01-01T00:00", "slot"),
                                     (citizen.national_id, "9999-12-31T23:45", "slot")):
        with pytest.raises(bookings.BookingError) as refused:
            bookings.book(service, national_id, slot)
        assert refused.value.field == field
    no_phone = make_citizen(phone="")
    with pytest.raises(bookings.BookingError) as unknown:
        bookings.book(service, no_phone.national_id, _tomorrow_slot())
    assert unknown.value.kind == "no-phone"
    with pytest.raises(bookings.BookingError) as reason:
        bookings.book(service, citizen.national_id, _tomorrow_slot(), staff=desk_staff, over_capacity_reason="  ")
    assert reason.value.field == "reason"
    assert Booking.select().count() == Notification.select().count() == 0


def test_over_capacity_needs_a_reason_and_is_counted(service, desk_staff):
    for _ in range(2):
        bookings.book(service, make_citizen().national_id, _tomorrow_slot())
    citizen = make_citizen()
    with pytest.raises(bookings.BookingError):
        bookings.book(service, citizen.national_id, _tomorrow_slot(), staff=desk_staff, channel="desk")
    extra, _ = bookings.book(service, citizen.national_id, _tomorrow_slot(), staff=desk_staff, channel="desk",
                             over_capacity_reason="مريض بحالة حرجة")
    assert (extra.over_capacity, extra.seat) == (True, None)
    override = ReceptionOverride.get()
    assert (override.kind, override.booking_id, override.staff_id, override.reason) == \
        ("over_capacity", extra.id, desk_staff.id, "مريض بحالة حرجة")
    assert bookings.overrides_of_day() == {"ahead": 0, "over_capacity": 1}
    clerk = make_staff("clerk1")
    with pytest.raises(bookings.NotAllowed):
        bookings.book(service, make_citizen().national_id, _tomorrow_slot(), staff=clerk, over_capacity_reason="x")


def test_no_double_booking_of_a_slot_under_concurrency(app, service):
    """Twenty clients book the same slot of capacity 2 at once (each thread its own connection): two seats held,
    every other answer 'full', never a third holder."""
    people = [make_citizen().national_id for _ in range(20)]
    slot = _tomorrow_slot()
    won, full, errors = [], [], []
    start = threading.Barrier(len(people))

    def run(national_id):
        try:
            with app.test_request_context(), database.connection_context():
                start.wait()
                try:
                    won.append(bookings.book(BookingService.get_by_id(service.id), national_id, slot)[0].seat)
                except bookings.BookingError as refused:
                    full.append(refused.kind)
        except Exception as error:  # reported on the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(won) == [1, 2] and full == ["slot-full"] * 18
    assert Booking.select().where(Booking.seat.is_null(False)).count() == 2


def _booked_for_now(service, staff=None, minutes=2):
    """A confirmed booking whose slot is `minutes` from now (written directly: today's remaining hours vary)."""
    citizen = make_citizen()
    booking, code = bookings.book(service, citizen.national_id, utcnow().replace(second=0, microsecond=0)
                                  + dt.timedelta(minutes=minutes))
    return bookings.confirm(booking, code), citizen


def test_check_in_then_called_at_their_time_ahead_of_walk_ins_at_the_department_desk(service, desk_staff):
    ReceptionDesk.create(label="5", department=Department.get(Department.code == "health"))
    walk_in = tickets.issue_ticket("request_submission")
    booking, citizen = _booked_for_now(service, minutes=-1)  # their time has come
    ticket = bookings.check_in_national_id(citizen.national_id)
    assert (ticket.booked_for, ticket.department_id, ticket.citizen_id) == \
        (booking.slot_at, service.department_id, citizen.id)
    assert bookings.check_in(booking).id == ticket.id  # scanned twice: the same ticket
    assert Booking.get_by_id(booking.id).status == "checked_in"
    assert bookings.book(service, citizen.national_id, _tomorrow_slot())[0].status == "pending"  # may book again
    # a general desk never calls a department's booked ticket; the department's desk calls it before the walk-in
    assert tickets.call_next(desk_staff, "1", ["request_submission"]).id == walk_in.id
    assert tickets.call_next(desk_staff, "5", ["request_submission"]).id == ticket.id
    # refused: not confirmed, nothing confirmed today, a national ID that is not one
    later, _ = bookings.book(service, make_citizen().national_id, _tomorrow_slot())
    with pytest.raises(bookings.BookingError):
        bookings.check_in(later)
    with pytest.raises(bookings.BookingError):
        bookings.check_in_national_id(make_citizen().national_id)
    with pytest.raises(bookings.BookingError):
        bookings.check_in_national_id("12")
    assert VisitorTicket.select().count() == 2


def test_booked_visitor_before_their_time_waits_behind_earlier_walk_ins(service, desk_staff):
    ReceptionDesk.create(label="5", service=service)  # a desk of the service, not of its department
    _, citizen = _booked_for_now(service, minutes=10)
    early = bookings.check_in_national_id(citizen.national_id)
    walk_in = tickets.issue_ticket("request_submission")
    assert (early.booking_service_id, early.department_id) == (service.id, service.department_id)
    assert tickets.call_next(desk_staff, "1", ["request_submission"]).id == walk_in.id  # a general desk: walk-ins
    tickets.finish(desk_staff, tickets.start_serving(desk_staff, VisitorTicket.get_by_id(walk_in.id)))
    walk_in = tickets.issue_ticket("request_submission")
    assert tickets.call_next(desk_staff, "5", ["request_submission"]).id == early.id  # issued first, still first
    tickets.finish(desk_staff, tickets.start_serving(desk_staff, VisitorTicket.get_by_id(early.id)))
    assert tickets.call_next(desk_staff, "5", ["request_submission"]).id == walk_in.id


def test_serve_ahead_needs_a_reason_and_is_recorded(desk_staff):
    first, urgent = tickets.issue_ticket("inquiry"), tickets.issue_ticket("inquiry")
    with pytest.raises(bookings.BookingError) as no_reason:
        bookings.serve_ahead(desk_staff, "2", "B-002", "")
    assert no_reason.value.field == "reason"
    with pytest.raises(bookings.BookingError) as unknown:
        bookings.serve_ahead(desk_staff, "2", "B-009", "كبير في السن")
    assert unknown.value.field == "label"
    with pytest.raises(bookings.BookingError) as huge:
        bookings.serve_ahead(desk_staff, "2", "B-" + "9" * 30, "كبير في السن")
    assert huge.value.field == "label"
    called = bookings.serve_ahead(desk_staff, "2", " b-002 ", "كبير في السن")
    assert (called.id, called.status, called.desk) == (urgent.id, "called", "2")
    assert VisitorTicket.get_by_id(first.id).status == "waiting"
    override = ReceptionOverride.get()
    assert (override.kind, override.ticket_id, override.reason) == ("ahead", urgent.id, "كبير في السن")
    assert bookings.overrides_of_day()["ahead"] == 1
    with pytest.raises(bookings.NotAllowed):
        bookings.serve_ahead(make_staff("clerk1"), "3", "B-001", "x")


# --- the portal API ----------------------------------------------------------------------------------------------

def _portal(app, scopes=("bookings:write",)):
    with app.app_context(), database.connection_context():
        return clients.create_client(None, "National portal", list(scopes))


def test_a_service_code_the_api_cannot_hold_is_not_found(app, client, data):
    """A NUL byte or a control character in the service's code is no service (PostgreSQL refused the query: 500)."""
    with data():
        _service()
        citizen = make_citizen()
    auth = {"Authorization": f"Bearer {_portal(app).token}"}
    for code in ("health\x00care", "health_care\x07", "ص" * 41):
        made = client.post("/api/v1/bookings", headers=auth,
                           json={"national_id": citizen.national_id, "service": code, "slot": _tomorrow_slot()})
        assert made.status_code == 404 and made.json["type"].endswith("not-found"), code
    with data():
        assert not Booking.select().exists()


def test_api_books_confirms_and_cancels(app, client, data):
    with data():
        _service()
        citizen = make_citizen()
    portal = _portal(app)
    auth = {"Authorization": f"Bearer {portal.token}"}
    listed = client.get("/api/v1/bookings/services", headers=auth)
    assert listed.status_code == 200 and listed.json["services"][0]["code"] == "health_care"
    day = f"{local_today() + dt.timedelta(days=1):%Y-%m-%d}"
    free = client.get(f"/api/v1/bookings/services/health_care/slots?date={day}", headers=auth)
    assert free.status_code == 200 and {"slot": f"{day}T09:00", "free": 2} in free.json["slots"]
    made = client.post("/api/v1/bookings", headers=auth,
                       json={"national_id": citizen.national_id, "service": "health_care", "slot": f"{day}T09:00"})
    assert made.status_code == 201, made.json
    assert made.json["status"] == "pending" and "code" not in made.json
    again = client.post("/api/v1/bookings", headers=auth,
                        json={"national_id": citizen.national_id, "service": "health_care", "slot": f"{day}T10:00"})
    assert again.status_code == 409 and again.json["type"].endswith("/already-booked")
    number = made.json["booking"]
    with data():
        code = _codes()[-1]
    wrong = client.post(f"/api/v1/bookings/{number}/confirmation", headers=auth,
                        json={"code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 422 and wrong.json["type"].endswith("/wrong-code")
    done = client.post(f"/api/v1/bookings/{number}/confirmation", headers=auth, json={"code": code})
    assert done.status_code == 200 and done.json["status"] == "confirmed"
    assert client.get(f"/api/v1/bookings/{number}", headers=auth).json["status"] == "confirmed"
    other = _portal(app)
    assert client.get(f"/api/v1/bookings/{number}", headers={"Authorization": f"Bearer {other.token}"}) \
        .status_code == 404  # another client's booking is not found
    gone = client.delete(f"/api/v1/bookings/{number}", headers=auth)
    assert gone.status_code == 200 and gone.json["status"] == "cancelled"


def test_api_refuses_bad_input_and_clients_without_the_scope(app, client, data):
    with data():
        _service()
    auth = {"Authorization": f"Bearer {_portal(app).token}"}
    for body in (None, [], {"national_id": "1", "service": "health_care", "slot": "x"},
                 {"national_id": "x" * 5000, "service": {}, "slot": 3}, {"service": "nope"}):
        answer = client.post("/api/v1/bookings", headers=auth, json=body)
        assert answer.status_code in (400, 404, 422), (body, answer.status_code)
        assert answer.mimetype == "application/problem+json" and answer.json["detail"]
        assert answer.status_code != 422 or answer.json["errors"][0]["message"]
    assert client.post("/api/v1/bookings/99/confirmation", headers=auth, json={"code": "1"}).status_code == 404
    assert client.get("/api/v1/bookings/services/health_care/slots?date=never", headers=auth).status_code == 422
    assert client.get("/api/v1/bookings/services/health_care/slots?date=0001-01-01", headers=auth).json["slots"] == []
    assert client.post("/api/v1/bookings", json={}).status_code == 401
    requests_only = {"Authorization": f"Bearer {_portal(app, ('requests:write',)).token}"}
    assert client.post("/api/v1/bookings", headers=requests_only, json={}).status_code == 403
    with data():
        assert Booking.select().count() == 0


# --- the pages ----------------------------------------------------------------------------------------------------

def test_desk_books_by_phone_and_confirms_with_the_code(client, auth, data):
    with data():
        _service()
        citizen = make_citizen()
    auth.login("reception1")
    token = csrf_token(client, "/bookings/")
    made = client.post("/bookings/", data={"csrf_token": token, "national_id": citizen.national_id,
                                           "service": "health_care", "slot": _tomorrow_slot()})
    assert made.status_code == 303, made.text
    page = client.get(made.headers["Location"])
    assert page.status_code == 200 and citizen.full_name in page.text
    with data():
        code, booking = _codes()[-1], Booking.get()
    refused = client.post(f"/bookings/{booking.id}/confirm", data={"csrf_token": token, "code": "99"})
    assert refused.status_code == 422
    done = client.post(f"/bookings/{booking.id}/confirm", data={"csrf_token": token, "code": code})
    assert done.status_code == 303
    with data():
        assert Booking.get_by_id(booking.id).status == "confirmed"
    bad = client.post("/bookings/", data={"csrf_token": token, "national_id": "1", "service": "x", "slot": ""})
    assert bad.status_code == 422


def test_urgent_call_from_the_desk_page_and_the_figure(client, auth, data):
    with data():
        tickets.issue_ticket("inquiry")
        tickets.issue_ticket("inquiry")
    auth.login("reception1")
    token = csrf_token(client, "/tickets/desk")
    refused = client.post("/bookings/ahead", data={"csrf_token": token, "desk": "3", "label": "B-002", "reason": ""})
    assert refused.status_code == 422
    called = client.post("/bookings/ahead", data={"csrf_token": token, "desk": "3", "label": "B-002",
                                                  "reason": "حالة طارئة"})
    assert called.status_code == 303
    desk = client.get("/tickets/desk")
    assert 'data-figure="overrides"' in desk.text
    assert re.search(r'data-figure="overrides"[^>]*>\s*1\s*<', desk.text)


def test_kiosk_check_in_and_display_in_both_languages(client, auth, data):
    with data():
        service = _service()
        ReceptionDesk.create(label="5", department=service.department)
        _, citizen = _booked_for_now(service, minutes=-1)
    auth.login("reception1")
    token = csrf_token(client, "/tickets/kiosk")
    checked = client.post("/bookings/check-in", data={"csrf_token": token, "national_id": citizen.national_id})
    assert checked.status_code == 303
    assert client.post("/bookings/check-in", data={"csrf_token": token, "national_id": "5"}).status_code == 422
    client.post("/tickets/desk/call", data={"csrf_token": token, "desk": "5", "services": ["request_submission"]})
    board = re.sub("[\u2066-\u2069]", "", client.get("/tickets/display").text)  # the isolates around numbers
    assert "Number A-001: please go to desk 5 (Health Affairs)" in board
    assert "الرقم A-001: تفضلوا إلى المكتب 5 (الشؤون الصحية)" in board


def test_administrator_edits_services_and_desks(client, auth, data):
    with data():  # the demo's services and desks, once
        assert (bookings.seed_demo(), bookings.seed_demo()) == (3, 0)
        assert {d.label: d.department.code for d in ReceptionDesk.select()} == {"5": "health", "6": "retirement"}
        ReceptionDesk.delete().execute()
    auth.login("admin1")
    token = csrf_token(client, "/bookings/services")
    form = {"csrf_token": token, "code": "letters", "name_ar": "مراسلات", "name_en": "Letters",
            "ticket_service": "follow_up", "opens": "08:00", "closes": "12:00", "weekdays": ["0", "6"],
            "slot_minutes": "20", "capacity": "3", "active": "y"}
    assert client.post("/bookings/services", data=form).status_code == 303
    assert client.post("/bookings/services", data={**form, "capacity": "0"}).status_code == 422
    with data():
        made = BookingService.get(BookingService.code == "letters")
        health = Department.get(Department.code == "health")
        assert (made.capacity, made.weekdays, made.slot_minutes) == (3, "0,6", 20)
    assert client.post("/bookings/desks", data={"csrf_token": token, "desk": "4",
                                                 "department": str(health.id)}).status_code == 303
    with data():
        assert ReceptionDesk.get(ReceptionDesk.label == "4").department_id == health.id
    auth.logout()
    auth.login("reception1")
    assert client.get("/bookings/services").status_code == 403


def test_reminder_the_day_before_once_and_the_code_not_held_for_the_quiet_hours(app, service):
    """A code asked for now is useless in the morning: it goes out at night; the reminder waits for the morning."""
    from intranet.notify import delivery

    app.config["QUIET_HOURS"] = "00:00-23:59"
    booking, code = bookings.book(service, make_citizen(preferred_language="en").national_id, _tomorrow_slot())
    bookings.confirm(booking, code)
    bookings.book(service, make_citizen().national_id, _tomorrow_slot(10))  # unconfirmed: no reminder
    day_before = booking.slot_at - dt.timedelta(hours=20)
    assert bookings.queue_reminders(day_before) == 1
    assert bookings.queue_reminders(day_before) == 0
    reminder = Notification.get(Notification.event == "booking_reminder")
    assert "tomorrow" in reminder.body and reminder.citizen_id == booking.citizen_id
    Notification.delete().where(Notification.citizen != booking.citizen_id).execute()
    delivery.deliver_due()
    sent = {n.event: n.status for n in Notification.select()}
    assert sent == {"booking_code": "sent", "booking_reminder": "queued"}
