"""Reference data edited by administrators (issue 20): departments, governorates and inquiry subjects with the same
checks everywhere (unique codes, names in both languages, nothing deleted that is still used), every change recorded;
bank profiles shown as configured; administrators only, on every route."""
import json

import pytest

from intranet import db
from intranet.admin import reference
from intranet.admin.reference import KINDS, Refused
from intranet.models import AdminChange, Department, Governorate, InquirySubject
from tests.conftest import csrf_token
from tests.factories import make_citizen, make_request, make_staff

PREFIX = "t20-"  # departments and governorates outlive a test (reference tables): the ones made here are removed


@pytest.fixture
def tidy(app):
    yield
    with app.app_context(), db.database.connection_context():
        made = Department.select(Department.id).where(Department.code.startswith(PREFIX))
        InquirySubject.delete().where(InquirySubject.department.in_(made)).execute()
        Department.delete().where(Department.code.startswith(PREFIX)).execute()
        Governorate.delete().where(Governorate.code.startswith(PREFIX)).execute()


@pytest.fixture
def admin(ctx, tidy):
    return make_staff("reference-admin", role="admin", department=None)


def _form(**values):
    return {"code": f"{PREFIX}legal", "name_ar": "الشؤون القانونية", "name_en": "Legal Affairs", **values}


def _recorded(subject):
    return list(AdminChange.select().where((AdminChange.subject == subject) & AdminChange.actor.is_null(False))
                .order_by(AdminChange.id))


def test_a_department_is_added_edited_and_deleted_with_each_change_recorded(admin):
    kind = KINDS["department"]
    made = reference.create(admin, kind, _form())
    assert (made.code, made.name_ar, made.name_en) == (f"{PREFIX}legal", "الشؤون القانونية", "Legal Affairs")
    saved = reference.update(admin, kind, made, _form(code="ignored", name_en="Legal Affairs Department"))
    assert (saved.code, saved.name_en) == (f"{PREFIX}legal", "Legal Affairs Department")  # the code never changes
    reference.delete(admin, kind, saved)  # nothing uses it
    assert not Department.select().where(Department.code == f"{PREFIX}legal").exists()
    changes = _recorded("department")
    assert [(c.key, c.actor_id) for c in changes] == [(f"{PREFIX}legal", admin.id)] * 3
    assert changes[0].before is None and json.loads(changes[0].after)["name_ar"] == "الشؤون القانونية"
    assert (json.loads(changes[1].before)["name_en"], json.loads(changes[1].after)["name_en"]) == (
        "Legal Affairs", "Legal Affairs Department")
    assert json.loads(changes[2].before)["code"] == f"{PREFIX}legal" and changes[2].after is None


def test_wrong_input_is_refused_and_nothing_is_saved(admin):
    for kind_code in ("department", "governorate", "inquiry_subject"):
        _refusals(admin, kind_code)


def _refusals(admin, kind_code):
    kind = KINDS[kind_code]
    existing = kind.model.select().order_by(kind.model.id).first().code
    department = Department.get(Department.code == "citizens").id
    cases = [(_form(code=existing, department=department), "code"), (_form(code="", department=department), "code"),
             (_form(code="Legal Affairs", department=department), "code"),
             (_form(name_ar="  ", department=department), "name_ar"),
             (_form(name_en="", department=department), "name_en"),
             (_form(name_en="x" * 201, department=department), "name_en")]
    if kind_code == "inquiry_subject":
        cases.append((_form(department="999999"), "department"))
    count = kind.model.select().count()
    for form, field in cases:
        with pytest.raises(Refused) as refused:
            reference.create(admin, kind, form)
        assert field in refused.value.errors, form
    row = kind.model.get(kind.model.code == existing)
    with pytest.raises(Refused):
        reference.update(admin, kind, row, _form(name_ar="", department=department))
    assert kind.model.select().count() == count and kind.model.get_by_id(row.id).name_ar == row.name_ar
    assert _recorded(kind_code) == []


def test_what_is_still_used_is_not_deleted(admin):
    desk = make_staff("reference-desk", "reception", "reception")
    req = make_request("inquiry", actor=desk, citizen=make_citizen(),
                       inquiry_subject=InquirySubject.get(InquirySubject.code == "pension"))
    refusals = {
        "department": Department.get(Department.code == "health"),  # stages, staff, requests
        "governorate": Governorate.get(Governorate.code == "doha"),  # the citizen's governorate
        "inquiry_subject": InquirySubject.get_by_id(req.inquiry_subject_id),
    }
    for kind_code, row in refusals.items():
        with pytest.raises(Refused) as refused:
            reference.delete(admin, KINDS[kind_code], row)
        assert KINDS[kind_code].model.get_or_none(KINDS[kind_code].model.id == row.id) is not None
        assert _recorded(kind_code) == []
        assert "لا يمكن حذف" in str(refused.value.errors[""])
    # the refusal says by what: a department by its stages, its staff, its requests; the subject by its request
    make_staff("reference-clerk", "clerk", Department.get_by_id(req.department_id).code)
    assert {"مراحل أنواع الطلبات", "الموظفين", "الطلبات"} <= {str(label) for label in reference.uses(
        KINDS["department"], Department.get_by_id(req.department_id))}
    assert [str(label) for label in reference.uses(KINDS["inquiry_subject"], refusals["inquiry_subject"])] == [
        "الطلبات"]


def test_an_inquiry_subject_is_withdrawn_instead_of_deleted(admin):
    kind = KINDS["inquiry_subject"]
    department = Department.get(Department.code == "citizens")
    subject = reference.create(admin, kind, _form(code=f"{PREFIX}subject", department=str(department.id),
                                                  active="1"))
    assert subject.id in [row.id for row in InquirySubject.choices()]
    reference.update(admin, kind, subject, _form(department=str(department.id)))  # "Offered" left unticked
    assert subject.id not in [row.id for row in InquirySubject.choices()]
    change = _recorded("inquiry_subject")[-1]
    assert (json.loads(change.before)["active"], json.loads(change.after)["active"]) == (True, False)


def test_the_pages_for_an_administrator(client, auth, data, tidy):
    auth.login("admin1")
    index = client.get("/admin/reference/")
    assert index.status_code == 200 and "generic" in index.text and "bulk-semicolon" in index.text  # bank layouts
    token = csrf_token(client, "/admin/reference/department/")
    added = client.post("/admin/reference/department/", data={"csrf_token": token, **_form()})
    assert added.status_code == 303
    again = client.post("/admin/reference/department/", data={"csrf_token": token, **_form()})
    assert again.status_code == 422 and "مستعمل" in again.text
    with data():
        legal = Department.get(Department.code == f"{PREFIX}legal").id
        health = Department.get(Department.code == "health").id
    assert "الشؤون القانونية" in client.get(f"/admin/reference/department/{legal}").text
    refused = client.post(f"/admin/reference/department/{health}/delete", data={"csrf_token": token})
    assert refused.status_code == 409 and "لا يمكن حذف" in refused.text
    assert client.post(f"/admin/reference/department/{legal}/delete", data={"csrf_token": token}).status_code == 303
    assert client.get("/admin/reference/nothing/").status_code == 404
    assert client.get("/admin/reference/department/999999").status_code == 404


def test_only_administrators_reach_reference_data(app, client, auth, data):
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/admin/reference")]
    assert len(rules) >= 5
    for username in ("reception1", "health1", "supervisor1", "head1"):
        auth.login(username)
        token = csrf_token(client, "/")
        for rule in rules:
            path = rule.rule.replace("<kind>", "governorate").replace("<int:row_id>", "1")
            for method in rule.methods & {"GET", "POST"}:
                response = client.open(path, method=method, data={"csrf_token": token, **_form()})
                assert response.status_code == 403, (username, path, method)
        auth.logout()
    with data():
        assert not Governorate.select().where(Governorate.code.startswith(PREFIX)).exists()
        assert not AdminChange.select().where(AdminChange.actor.is_null(False)).exists()


# --- reception services and desks (edited on their own page, linked from here) --------------------------------------

def _service_form(**values):
    from werkzeug.datastructures import MultiDict

    form = {"code": "t20-visa", "name_ar": "استشارة التأشيرات", "name_en": "Visa consultation",
            "ticket_service": "inquiry", "department": "", "opens": "08:00", "closes": "12:00", "slot_minutes": "15",
            "capacity": "2", "active": "y", **values}
    return MultiDict([*form.items(), ("weekdays", "0"), ("weekdays", "1")])


def test_reception_services_and_desks_are_recorded_and_a_service_nobody_calls_is_named(admin):
    from intranet.models.bookings import BookingService
    from intranet.reception import bookings

    health = Department.get(Department.code == "health")
    service = bookings.save_service(admin, _service_form())
    assert bookings.services_nobody_calls() == [service]  # no department, no desk of its own
    bookings.save_service(admin, _service_form(department=str(health.id), capacity="3"), service)
    bookings.save_service(admin, _service_form(department=str(health.id), capacity="3"), service)  # unchanged
    assert bookings.services_nobody_calls() == [service]  # no desk of its department either
    bookings.save_desk(admin, "5", department_id=str(health.id))
    assert bookings.services_nobody_calls() == []
    bookings.save_desk(admin, "5", department_id=str(health.id))  # unchanged
    bookings.save_desk(admin, "5")  # a general desk again
    assert bookings.services_nobody_calls() == [BookingService.get_by_id(service.id)]
    recorded = [(c.subject, c.key, c.before_value, c.after_value)
                for c in AdminChange.select().where(AdminChange.actor == admin.id).order_by(AdminChange.id)]
    assert [(subject, key) for subject, key, _before, _after in recorded] == [
        ("reception_service", "t20-visa"), ("reception_service", "t20-visa"), ("desk", "5"), ("desk", "5")]
    assert recorded[0][2] is None and recorded[0][3]["capacity"] == 2
    assert (recorded[1][2]["department"], recorded[1][3]["department"], recorded[1][3]["capacity"]) == (
        None, "health", 3)
    assert recorded[2][2:] == (None, {"department": "health", "service": None})
    assert recorded[3][2:] == ({"department": "health", "service": None}, None)


def test_a_service_name_of_control_characters_is_refused_and_nothing_is_saved(admin):
    from intranet.models.bookings import BookingService
    from intranet.reception import bookings

    with pytest.raises(bookings.BookingError):
        bookings.save_service(admin, _service_form(name_en="\u202e\x07\t"))
    assert not BookingService.select().exists() and not _recorded("reception_service")


def test_the_services_page_warns_of_a_service_no_desk_calls(client, auth, data):
    from intranet.models.bookings import BookingService

    with data():
        BookingService.create(code="t20-lonely", name_ar="خدمة بلا مكتب", name_en="Lonely service",
                              ticket_service="inquiry")
    auth.login("admin1")
    assert "/bookings/services" in client.get("/admin/reference/").text
    page = client.get("/bookings/services").text
    assert 'id="services-without-desk"' in page and "خدمة بلا مكتب" in page
