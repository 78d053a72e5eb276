"""The calendar (issue 20): weekend days and public holidays per year, edited by administrators; a request type
counting working days gets its due date and stage budgets from it (intranet/calendar.py), on both databases."""
import datetime as dt
import json
import uuid
from unittest import mock

import pytest

from intranet import calendar, config, db, workflow
from intranet.admin import calendar as admin_calendar
from intranet.admin.reference import Refused
from intranet.models import AdminChange, RequestType, RequestTypeVersion
from intranet.models.calendar import CalendarYear, Holiday
from tests.conftest import csrf_token
from tests.factories import make_request, make_staff

# Thursday 11 March 2027, 10:00 in Doha (UTC+3, no summer time); Friday and Saturday the default weekend
THURSDAY = dt.datetime(2027, 3, 11, 7, 0)
HOLIDAY = {"name_ar": "عطلة رسمية", "name_en": "Public holiday", "starts_on": "2027-03-14"}  # the Sunday after
TYPE = "pension_verification"  # a target of 10 days, one stage with a budget of 10


@pytest.fixture
def admin(ctx):
    return make_staff("calendar-admin", role="admin", department=None)


@pytest.fixture
def counting_restored(app):
    """Request types outlive a test (reference tables): put every type back to calendar days afterwards."""
    yield
    with app.app_context(), db.database.connection_context():
        RequestType.update(working_days=False).execute()
    calendar.forget()


def _working(admin, code=TYPE):
    admin_calendar.set_counting(admin, RequestType.get(RequestType.code == code), True)


def test_a_request_received_on_a_thursday_before_a_holiday_is_due_when_the_calendar_says(admin, counting_restored):
    admin_calendar.add_holiday(admin, HOLIDAY)
    _working(admin)
    req = make_request(TYPE, received_at=THURSDAY)
    # Friday 12 and Saturday 13 are the weekend, Sunday 14 the holiday; the ten working days are Monday 15 to
    # Thursday 18 and Sunday 21 to Thursday 25 then Sunday 28: due on Sunday 28 March at 10:00 in Doha
    assert req.due_at == dt.datetime(2027, 3, 28, 7, 0)
    assert req.stage_due_at == dt.datetime(2027, 3, 28, 7, 0)  # its one stage's budget counts the same way
    # a type counting calendar days is untouched by the calendar: 45 days after, weekend and holiday included
    other = make_request("compensation", received_at=THURSDAY)
    assert other.due_at == THURSDAY + dt.timedelta(days=45)
    assert other.stage_due_at == THURSDAY + dt.timedelta(days=20)


def test_the_next_stage_budget_counts_working_days_from_the_acceptance(admin, counting_restored):
    _working(admin, "health_care")
    clerk = make_staff("calendar-clerk", role="clerk", department="health")
    req = make_request("health_care", received_at=THURSDAY)
    assert req.due_at == calendar.add_days(THURSDAY, 45, True)
    accepted_on = dt.datetime(2027, 3, 18, 7, 0)  # a Thursday: the compensation check's 15 days start here
    with mock.patch.object(workflow, "utcnow", return_value=accepted_on):
        moved = workflow.accept(clerk, req, req.version, "تمت المراجعة").request
    # Sunday 21 .. Thursday 25, 28 March .. 1 April, 4 .. 8 April: fifteen working days end on Thursday 8 April
    assert moved.stage_due_at == dt.datetime(2027, 4, 8, 7, 0)


def test_a_request_in_flight_keeps_the_counting_it_started_with(admin, counting_restored):
    """The counting is part of a type's definition: changing it makes a new version, and a request received under
    the earlier one goes on counting calendar days, stage after stage, until it is migrated."""
    clerk = make_staff("calendar-clerk", role="clerk", department="health")
    req = make_request("health_care", received_at=THURSDAY)  # calendar days
    started = RequestType.get(RequestType.code == "health_care").version
    _working(admin, "health_care")
    rtype = RequestType.get(RequestType.code == "health_care")
    assert (rtype.version, rtype.working_days, req.type_version) == (started + 1, True, started)
    assert RequestTypeVersion.get((RequestTypeVersion.request_type == rtype.id)
                                  & (RequestTypeVersion.number == rtype.version)).spec["working_days"] is True
    accepted_on = dt.datetime(2027, 3, 18, 7, 0)
    with mock.patch.object(workflow, "utcnow", return_value=accepted_on):
        moved = workflow.accept(clerk, req, req.version, "تمت المراجعة").request
    assert moved.stage_due_at == accepted_on + dt.timedelta(days=15)  # still calendar days
    assert make_request("health_care", received_at=THURSDAY).due_at == calendar.add_days(THURSDAY, 45, True)


def test_add_days_counts_weekends_of_the_year_and_the_default(app, admin):
    assert calendar.add_days(THURSDAY, 3, True) == dt.datetime(2027, 3, 16, 7, 0)  # Sun 14, Mon 15, Tue 16
    assert calendar.add_days(THURSDAY, 3, False) == dt.datetime(2027, 3, 14, 7, 0)
    assert calendar.add_days(THURSDAY, 0, True) == THURSDAY
    app.config["WEEKEND_DAYS"] = "sat,sun"  # the default weekend for a year nobody set
    assert calendar.add_days(THURSDAY, 3, True) == dt.datetime(2027, 3, 16, 7, 0)  # Fri 12, Mon 15, Tue 16
    assert calendar.add_days(THURSDAY, 4, True) == dt.datetime(2027, 3, 17, 7, 0)
    admin_calendar.set_weekend(admin, 2027, [5])  # this year: Friday only
    assert calendar.add_days(THURSDAY, 3, True) == dt.datetime(2027, 3, 15, 7, 0)  # Sat 13, Sun 14, Mon 15
    # received on a weekend day (Friday): counting starts with the next working day
    assert calendar.add_days(dt.datetime(2027, 3, 12, 7, 0), 1, True) == dt.datetime(2027, 3, 13, 7, 0)
    # into the next year, whose weekend is the default again: from Thursday 30 December, Friday 31 is this year's
    # weekend, Saturday 1 and Sunday 2 January 2028 the default's; Monday 3 and Tuesday 4 are counted
    assert calendar.add_days(dt.datetime(2027, 12, 30, 7, 0), 2, True) == dt.datetime(2028, 1, 4, 7, 0)
    assert json.loads(AdminChange.get(AdminChange.subject == "weekend").after)["weekend"] == ["fri"]


def test_a_weekend_without_a_working_day_or_an_unknown_day_is_refused(app, admin):
    for days in (range(1, 8), ["8"], ["x"]):
        with pytest.raises(Refused):
            admin_calendar.set_weekend(admin, 2027, days)
    assert CalendarYear.select().count() == 0 and not AdminChange.select().where(AdminChange.subject == "weekend").exists()
    with pytest.raises(ValueError, match="WEEKEND_DAYS"):
        config.load({"WEEKEND_DAYS": "fri,sat,funday", "SECRET_KEY": "x"})


def test_editing_a_holiday_is_recorded_and_counts_at_once(admin):
    before = calendar.add_days(THURSDAY, 3, True)  # cached: Sunday 14 is a working day
    holiday = admin_calendar.add_holiday(admin, HOLIDAY)
    assert calendar.add_days(THURSDAY, 3, True) == before + dt.timedelta(days=1)
    assert admin_calendar.weekend_of(2027) == (frozenset({5, 6}), True)  # still the default weekend
    admin_calendar.change_holiday(admin, holiday, dict(HOLIDAY, ends_on="2027-03-15", name_en="Two days"))
    assert calendar.add_days(THURSDAY, 3, True) == before + dt.timedelta(days=2)
    admin_calendar.remove_holiday(admin, Holiday.get_by_id(holiday.id))
    assert calendar.add_days(THURSDAY, 3, True) == before
    recorded = list(AdminChange.select().where(AdminChange.subject == "holiday").order_by(AdminChange.id))
    assert [(c.actor_id, c.key) for c in recorded] == [(admin.id, "2027-03-14")] * 3
    assert recorded[0].before is None and json.loads(recorded[0].after)["name_ar"] == "عطلة رسمية"
    assert json.loads(recorded[1].before)["ends_on"] == "2027-03-14"
    assert json.loads(recorded[1].after) == {"starts_on": "2027-03-14", "ends_on": "2027-03-15",
                                             "name_ar": "عطلة رسمية", "name_en": "Two days"}
    assert recorded[2].after is None


def test_another_process_edit_is_seen_by_its_stamp(admin):
    """The cache is per process: a holiday written by another process (here, straight into the tables) counts as
    soon as the year's stamp changed, without this process being told."""
    before = calendar.add_days(THURSDAY, 3, True)
    Holiday.create(year=2027, starts_on=dt.date(2027, 3, 15), ends_on=dt.date(2027, 3, 15), name_ar="ع",
                   name_en="h")
    CalendarYear.create(year=2027, weekend="5,6", stamp=uuid.uuid4().hex)
    assert calendar.add_days(THURSDAY, 3, True) == before + dt.timedelta(days=1)


REFUSED_HOLIDAYS = [
    ({"name_ar": "  "}, "name_ar"), ({"name_en": ""}, "name_en"), ({"starts_on": "14/03/2027"}, "starts_on"),
    ({"ends_on": "2027-03-13"}, "ends_on"), ({"ends_on": "2028-01-02", "starts_on": "2027-12-31"}, "ends_on"),
    ({"ends_on": "2027-05-01"}, "ends_on"), ({"starts_on": "1999-03-14"}, "starts_on")]


def test_a_wrong_holiday_is_refused_and_nothing_is_saved(admin):
    for changes, field in REFUSED_HOLIDAYS:
        with pytest.raises(Refused) as refused:
            admin_calendar.add_holiday(admin, dict(HOLIDAY, **changes))
        assert field in refused.value.errors, changes
    assert Holiday.select().count() == 0 and not AdminChange.select().where(AdminChange.subject == "holiday").exists()


def test_overlapping_holidays_are_refused(admin):
    admin_calendar.add_holiday(admin, dict(HOLIDAY, ends_on="2027-03-16"))
    with pytest.raises(Refused, match="Public holiday|عطلة رسمية"):
        admin_calendar.add_holiday(admin, dict(HOLIDAY, starts_on="2027-03-16", name_en="Other", name_ar="أخرى"))
    assert Holiday.select().count() == 1


def test_the_calendar_page_adds_a_holiday_and_sets_the_counting(client, auth, data, counting_restored):
    auth.login("admin1")
    page = client.get("/admin/calendar/2027")
    assert page.status_code == 200 and "عطلة رسمية<" not in page.text
    token = csrf_token(client, "/admin/calendar/2027")
    refused = client.post("/admin/calendar/2027/holidays", data={"csrf_token": token, **HOLIDAY, "name_en": ""})
    assert refused.status_code == 422 and "اكتب الاسم بالإنجليزية" in refused.text
    added = client.post("/admin/calendar/2027/holidays", data={"csrf_token": token, **HOLIDAY})
    assert added.status_code == 303
    assert "عطلة رسمية<" in client.get("/admin/calendar/2027").text
    with data():
        type_id = RequestType.get(RequestType.code == TYPE).id
    assert client.post(f"/admin/calendar/counting/{type_id}", data={"csrf_token": token, "working_days": "1",
                                                                   "year": "2027"}).status_code == 303
    with data():
        assert RequestType.get_by_id(type_id).working_days is True
        change = AdminChange.select().where(AdminChange.subject == "request_type").order_by(AdminChange.id.desc()).get()
        before, after = json.loads(change.before), json.loads(change.after)
        assert (before["working_days"], after["working_days"]) == (False, True)  # the type's whole definition
        assert {key for key in before if before[key] != after[key]} == {"working_days"}
    assert client.post(f"/admin/calendar/counting/{type_id}", data={"csrf_token": token, "working_days": "2"}
                       ).status_code == 400
    # the dashboard says which types count working days
    auth.logout()
    auth.login("supervisor1")
    dashboard = client.get("/dashboard/")
    said = dashboard.text.split('id="day-counting"')[1][:400]
    assert "أيام العمل" in said and "التحقق الشهري من استحقاق المعاش" in said
    summary = client.get(f"/reports/daily/{dt.date.today() - dt.timedelta(days=1)}")  # the daily summary says it too
    said = summary.text.split('id="day-counting"')[1][:400]
    assert summary.status_code == 200 and "أيام العمل" in said and "التحقق الشهري من استحقاق المعاش" in said


def test_only_administrators_reach_the_calendar(app, client, auth, data):
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/admin/calendar")]
    assert len(rules) == 7
    for username in ("reception1", "health1", "supervisor1", "head1"):
        auth.login(username)
        token = csrf_token(client, "/")
        for rule in rules:
            path = rule.rule.replace("<int:year>", "2027").replace("<int:holiday_id>", "1").replace(
                "<int:type_id>", "1")
            for method in rule.methods & {"GET", "POST"}:
                response = client.open(path, method=method, data={"csrf_token": token, **HOLIDAY, "weekend": "5",
                                                                  "working_days": "1"})
                assert response.status_code == 403, (username, path, method)
        assert "/admin/calendar/" not in client.get("/", follow_redirects=True).text
        auth.logout()
    with data():
        assert Holiday.select().count() == 0 and not AdminChange.select().where(
            AdminChange.subject.in_(["holiday", "weekend", "request_type"]) & AdminChange.actor.is_null(False)).exists()
