"""Inquiries answered (issue 16): subjects as data route an inquiry to its department, a misrouted request is
transferred with a reason (the clock unchanged), the answer reaches the citizen by SMS in their language and the
portal that submitted it by webhook, and inquiries are counted by subject."""
import datetime as dt
import json

import pytest

from intranet import definitions, workflow
from intranet.intake import clients
from intranet.models import (Department, HistoryEntry, InboxEntry, InquirySubject, Notification, Request,
                             RequestType, WebhookDelivery)
from intranet.notify import delivery
from intranet.stats import inquiries as inquiry_stats
from intranet.stats.figures import local_today
from tests import factories
from tests.factories import make_citizen, make_staff


def subject(code):
    return InquirySubject.get(InquirySubject.code == code)


def inquiry_type():
    return RequestType.get(RequestType.code == "inquiry")


def dept(code):
    return Department.get(Department.code == code)


def reload(req):
    return Request.get_by_id(req.id)


@pytest.fixture
def staff(ctx):
    return {"desk": make_staff("desk", "reception", "reception"), "pension": make_staff("p1", "clerk", "retirement"),
            "health": make_staff("h1", "clerk", "health"), "citizens": make_staff("z1", "clerk", "citizens"),
            "supervisor": make_staff("s1", "supervisor", None), "admin": make_staff("a1", "admin", None)}


def ask(staff, code=None, citizen=None, channel="walk_in"):
    return workflow.submit(staff["desk"] if channel == "walk_in" else None, citizen or make_citizen(), inquiry_type(),
                           channel, "متى يصرف المعاش؟", inquiry_subject=subject(code) if code else None).request


# --- subjects as data, routing -------------------------------------------------------------------------------------

def test_subjects_are_loaded_with_their_departments_and_updated_by_code(ctx, app, tmp_path):
    assert subject("pension").department.code == "retirement"
    assert subject("health_grant").department.code == "health"
    assert subject("compensation").department.code == "compensation"
    assert subject("grievance_procedure").department.code == "citizens"
    text = open(app.config["REQUEST_TYPES_FILE"], encoding="utf-8").read()
    changed = tmp_path / "types.toml"
    changed.write_text(text.replace('code = "pension"\nname_ar = "استفسار عن المعاش التقاعدي"\nname_en = "Pension '
                                    'questions"\ndepartment = "retirement"',
                                    'code = "pension"\nname_ar = "استفسار عن المعاش التقاعدي"\nname_en = "Pensions"\n'
                                    'department = "citizens"\nactive = false'), encoding="utf-8")
    before = InquirySubject.select().count()
    assert definitions.load(changed)["inquiry_subjects"] == before
    assert InquirySubject.select().count() == before  # updated by code, not added
    pension = subject("pension")
    assert (pension.name_en, pension.department.code, pension.active) == ("Pensions", "citizens", False)
    with pytest.raises(workflow.WorkflowError):  # a subject no longer offered routes nothing
        workflow.submit(make_staff("d2", "reception", "reception"), make_citizen(), inquiry_type(), "walk_in", "x",
                        inquiry_subject=pension)
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('department = "retirement"\n\n[[inquiry_subjects]]\ncode = "end_of_service"',
                                'department = "nowhere"\n\n[[inquiry_subjects]]\ncode = "end_of_service"'),
                   encoding="utf-8")
    with pytest.raises(definitions.DefinitionError):
        definitions.load(bad)
    assert subject("pension").name_en == "Pensions"  # all or nothing


def test_an_inquiry_goes_to_its_subjects_department(staff):
    pension = ask(staff, "pension")
    assert pension.department.code == "retirement" and pension.inquiry_subject.code == "pension"
    assert [r.id for r in Request.select().where(Request.department == dept("retirement"))] == [pension.id]
    assert ask(staff, "health_grant").department.code == "health"
    plain = ask(staff)  # no subject: the stage's department, as before
    assert plain.department.code == "citizens" and plain.inquiry_subject_id is None
    with pytest.raises(workflow.WorkflowError):  # a subject belongs to inquiries only
        workflow.submit(staff["desk"], make_citizen(), RequestType.get(RequestType.code == "health_care"), "walk_in",
                        "x", inquiry_subject=subject("pension"))
    assert Request.select().count() == 3


def test_the_desk_routes_an_inquiry_by_its_subject(client, auth, data):
    with data():
        citizen = make_citizen()
    auth.login("reception1")
    page = client.get(f"/reception/?national_id={citizen.national_id}")
    assert 'name="subject"' in page.text and "استفسار عن المعاش التقاعدي" in page.text
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    url = f"/reception/citizens/{citizen.id}/inquiries"
    routed = client.post(url, data={"csrf_token": token, "subject": "pension", "question": "متى يصرف المعاش؟",
                                    "route": "1"})
    assert routed.status_code == 303
    bad = client.post(url, data={"csrf_token": token, "subject": "no-such", "question": "سؤال", "route": "1"})
    assert bad.status_code == 422 and "Not a valid choice" not in bad.text
    with data():
        req = Request.get()
        assert (req.department.code, req.inquiry_subject.code, Request.select().count()) == ("retirement", "pension", 1)


def test_the_api_routes_an_inquiry_by_its_subject_and_refuses_a_bad_one(app, client):
    with app.app_context():
        portal = clients.create_client(None, "National portal", ["requests:write", "requests:read"])

    def body(reference, **extra):
        return {"portal_reference": reference, "request_type": "inquiry", "language": "en",
                "citizen": {"national_id": factories.national_id(), "full_name": "Fatima Ali", "phone": "55123456",
                            "governorate": "doha"}, "subject": "Pension date", **extra}

    headers = {"Authorization": f"Bearer {portal.token}"}
    made = client.post("/api/v1/requests", json=body("Q-1", inquiry_subject="health_grant"), headers=headers)
    assert made.status_code == 201, made.json
    for reference, extra, language, message in (
            ("Q-2", {"inquiry_subject": "no-such"}, "ar", "لا يوجد موضوع استفسار بهذا الرمز."),
            ("Q-3", {"inquiry_subject": "no-such"}, "en", "There is no inquiry subject with this code."),
            ("Q-4", {"inquiry_subject": "x" * 41}, "en", "At most 40 characters.")):
        refused = client.post("/api/v1/requests", json=body(reference, **extra),
                              headers={**headers, "Accept-Language": language})
        assert refused.status_code == 422
        assert {"field": "inquiry_subject", "message": message} in refused.json["errors"], refused.json
    wrong_type = client.post("/api/v1/requests", headers=headers, json={
        **body("Q-5", inquiry_subject="pension"), "request_type": "health_care",
        "fields": {"amount": "10", "invoice_number": "I-1"}})
    assert wrong_type.status_code == 422 and any(e["field"] == "inquiry_subject" for e in wrong_type.json["errors"])
    with app.app_context():
        only = Request.get()
        assert Request.select().count() == 1
        assert (only.department.code, only.inquiry_subject.code) == ("health", "health_grant")


# --- transfer ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("who", "allowed"), [
    ("pension", True),  # a clerk of the department holding it
    ("health", False),  # a clerk of another department
    ("supervisor", True), ("desk", False), ("admin", False)])
def test_who_may_transfer(staff, who, allowed):
    req = ask(staff, "pension")
    if not allowed:
        with pytest.raises(workflow.NotAllowed):
            workflow.transfer(staff[who], req, req.version, dept("health"), "ليس من اختصاصنا")
        assert reload(req).department.code == "retirement" and reload(req).version == req.version
        return
    workflow.transfer(staff[who], req, req.version, dept("health"), "ليس من اختصاصنا")
    assert reload(req).department.code == "health"


def test_a_transfer_keeps_the_clock_clears_the_assignee_and_says_why(staff):
    req = ask(staff, "pension")
    req = workflow.claim(staff["pension"], req, req.version).request
    assert req.assignee_id == staff["pension"].id
    queued = Notification.select().count()
    done = workflow.transfer(staff["pension"], req, req.version, dept("health"), "  سؤال عن منحة علاجية \x07 ")
    after = reload(req)
    assert (after.department.code, after.assignee_id, after.status) == ("health", None, "open")
    assert (after.due_at, after.stage_due_at, after.stage_id) == (req.due_at, req.stage_due_at, req.stage_id)
    entry = done.entry
    assert (entry.action, entry.comment) == ("transfer", "سؤال عن منحة علاجية")
    assert entry.info == {"from_department": dept("retirement").id, "to_department": dept("health").id}
    assert Notification.select().count() == queued  # the citizen is not told of an internal transfer
    assert "transfer" not in workflow.allowed_actions(after, staff["pension"])
    with pytest.raises(workflow.NotAllowed):  # no longer theirs
        workflow.transfer(staff["pension"], after, after.version, dept("citizens"), "مرة أخرى")


@pytest.mark.parametrize(("department", "reason", "stale"), [
    ("health", "   ", False), ("health", "\x00\x1b", False), ("health", "س" * 1001, False),
    (None, "سبب", False), ("retirement", "سبب", False), ("health", "سبب", True)])
def test_a_refused_transfer_changes_nothing(staff, department, reason, stale):
    req = ask(staff, "pension")
    history = HistoryEntry.select().count()
    with pytest.raises(workflow.StaleRequest if stale else workflow.WorkflowError):
        workflow.transfer(staff["pension"], req, req.version + (1 if stale else 0),
                          dept(department) if department else None, reason)
    assert reload(req).department.code == "retirement" and HistoryEntry.select().count() == history


def test_the_transfer_form(client, auth, data):
    with data():
        req = ask({"desk": make_staff("desk", "reception", "reception")}, "pension")
    auth.login("pension1")
    page = client.get(f"/requests/{req.tracking_number}")
    assert 'id="transfer"' in page.text and "Transfer" not in page.text
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    url = f"/requests/{req.tracking_number}/transfer"
    with data():
        health = dept("health").id
    empty = client.post(url, data={"csrf_token": token, "version": req.version, "department": health, "reason": ""},
                        headers={"HX-Request": "true"})
    assert empty.status_code == 422 and "اكتب سبب إحالته" in empty.text
    no_version = client.post(url, data={"csrf_token": token, "department": health, "reason": "سبب"})
    assert no_version.status_code == 400
    done = client.post(url, data={"csrf_token": token, "version": req.version, "department": health,
                                  "reason": "سؤال عن منحة علاجية"})
    assert done.status_code == 303
    with data():
        assert reload(req).department.code == "health"
    auth.logout()
    auth.login("health1")
    panel = client.get(f"/requests/{req.tracking_number}").text
    assert "أحاله إلى إدارة أخرى" in panel and "التقاعد" in panel and "سؤال عن منحة علاجية" in panel


# --- the answer ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("language", "expected"), [
    ("ar", "رد على استفساركم رقم \u2066{number}\u2069: يصرف المعاش في الخامس والعشرين من كل شهر"),
    ("en", "Answer to your inquiry {number}: Pensions are paid on the 25th of each month")])
def test_the_answer_reaches_the_citizen_by_sms_in_their_language(staff, gateway, language, expected):
    asker = make_citizen(preferred_language=language, phone="+97455000111")
    other = make_citizen(phone="+97455000222")
    ask(staff, "pension", citizen=other)
    req = ask(staff, "pension", citizen=asker)
    assert "answer" in workflow.allowed_actions(req, staff["pension"])
    text = ("يصرف المعاش في الخامس والعشرين من كل شهر" if language == "ar"
            else "Pensions are paid on the 25th of each month")
    done = workflow.act(staff["pension"], req, "answer", req.version, f"\t{text}\x1b\r\n")
    after = reload(req)
    assert (after.status, done.entry.action, done.entry.comment) == ("completed", "answer", text)
    assert after.closed_at is not None and not workflow.allowed_actions(after, staff["pension"])
    delivery.deliver_due()
    sent = [item["json"] for item in gateway.received]
    answers = [item for item in sent if item["text"].startswith(("رد على", "Answer to"))]
    assert [item["to"] for item in answers] == ["+97455000111"]  # only the citizen who asked
    number = req.tracking_number
    assert answers[0]["text"] == expected.format(number=number)


@pytest.mark.parametrize("answer", ["", "   \x00 ", "x" * 601])
def test_a_refused_answer_changes_nothing(staff, answer):
    req = ask(staff, "pension")
    with pytest.raises(workflow.WorkflowError) as refused:
        workflow.answer(staff["pension"], req, req.version, answer)
    assert str(refused.value.message)
    after = reload(req)
    assert (after.status, after.version) == ("open", req.version)
    assert not Notification.select().where(Notification.event == "inquiry_answered").exists()


def test_a_clerk_of_another_department_cannot_answer(staff):
    req = ask(staff, "pension")
    with pytest.raises(workflow.NotAllowed):
        workflow.answer(staff["health"], req, req.version, "جواب")
    assert reload(req).status == "open"


def test_the_answer_goes_to_the_submitting_portal_only(staff, app):
    ours = clients.create_client(staff["admin"], "Ours", ["requests:write"], webhook_url="http://127.0.0.1:9/a").client
    theirs = clients.create_client(staff["admin"], "Theirs", ["requests:write"],
                                   webhook_url="http://127.0.0.1:9/b").client
    req = ask(staff, "pension", channel="electronic")
    InboxEntry.create(client=ours, request=req, status="accepted", payload=b"{}", portal_reference="P-1",
                      content_type="application/json")
    other = ask(staff, "pension", channel="electronic")
    InboxEntry.create(client=theirs, request=other, status="accepted", payload=b"{}", portal_reference="P-2",
                      content_type="application/json")
    workflow.answer(staff["pension"], req, req.version, "يصرف المعاش في الخامس والعشرين")
    workflow.accept(staff["pension"], other, other.version, "أجبنا هاتفياً")
    deliveries = list(WebhookDelivery.select().order_by(WebhookDelivery.id))
    payloads = {d.client_id: json.loads(d.payload) for d in deliveries}
    assert payloads[ours.id]["answer"] == "يصرف المعاش في الخامس والعشرين"
    assert payloads[ours.id]["event"] == "completed" and payloads[ours.id]["tracking_number"] == req.tracking_number
    assert "answer" not in payloads[theirs.id]  # another request, another client: no answer of ours
    assert all(d.request_id != req.id for d in deliveries if d.client_id == theirs.id)


def test_the_panel_offers_the_answer_and_posting_it_completes(client, auth, data):
    with data():
        req = ask({"desk": make_staff("desk", "reception", "reception")}, "pension")
    auth.login("pension1")
    page = client.get(f"/requests/{req.tracking_number}").text
    assert 'value="answer"' in page and "أرسل الرد إلى المواطن" in page
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    url = f"/requests/{req.tracking_number}/act"
    empty = client.post(url, data={"csrf_token": token, "action": "answer", "version": req.version, "comment": " "})
    assert empty.status_code == 422, empty.text
    assert "اكتب الإجابة" in empty.text, empty.text.split('class="alert')[1][:300]
    done = client.post(url, data={"csrf_token": token, "action": "answer", "version": req.version,
                                  "comment": "يصرف في الخامس والعشرين"})
    assert done.status_code == 303
    with data():
        assert reload(req).status == "completed"


# --- statistics ----------------------------------------------------------------------------------------------------

def test_inquiries_counted_by_subject(staff, client, app):
    for code in ("pension", "pension", "health_grant", None):
        ask(staff, code)
    answered = ask(staff, "pension")
    workflow.answer(staff["pension"], answered, answered.version, "جواب")
    today = local_today()
    found = inquiry_stats.counts_by_subject(today, today)
    assert found[subject("pension").id] == {"received": 3, "answered": 1}
    assert found[subject("health_grant").id] == {"received": 1, "answered": 0}
    assert found[None] == {"received": 1, "answered": 0}
    assert subject("compensation").id not in found
    only_health = inquiry_stats.counts_by_subject(today, today, dept("health").id)
    assert list(only_health) == [subject("health_grant").id]
    yesterday = today - dt.timedelta(days=1)
    assert inquiry_stats.counts_by_subject(yesterday, yesterday) == {}


def test_the_statistics_page_and_its_export_show_the_counts(client, auth, data):
    with data():
        desk = make_staff("desk", "reception", "reception")
        ask({"desk": desk}, "pension")
        ask({"desk": desk}, "pension")
        today = local_today().isoformat()
    auth.login("supervisor1")
    page = client.get(f"/stats/?from={today}&to={today}").text
    assert 'id="subjects-table"' in page and "الاستفسارات حسب الموضوع" in page
    row = page.split("استفسار عن المعاش التقاعدي</th>")[1].split("</tr>")[0]
    assert "<td>2</td>" in row
    csv = client.get(f"/stats/export/subjects.csv?from={today}&to={today}")
    assert csv.status_code == 200 and "استفسار عن المعاش التقاعدي,2,0" in csv.get_data(as_text=True)


def test_an_answered_inquiry_counts_as_completed_in_the_figures(staff):
    """An answer closes the inquiry: the statistics count it completed, at the desk as by the department (they
    counted completions by accepts only, so no answered inquiry was ever counted)."""
    from intranet.stats import figures

    req = ask(staff, "pension")
    workflow.answer(staff["pension"], req, req.version, "جواب")
    workflow.answer_at_desk(staff["desk"], make_citizen(), inquiry_type(), "سؤال", "جواب على الفور")
    today = local_today()
    found = figures.counts(today, today, by=("request_type",))
    assert found[(inquiry_type().id,)]["completed"] == 2


# --- the subject wherever an inquiry is entered ----------------------------------------------------------------------

def test_the_walk_in_form_asks_an_inquirys_subject_and_routes_by_it(client, auth, data):
    with data():
        citizen = make_citizen()
        inquiry_id, pension_id = inquiry_type().id, RequestType.get(RequestType.code == "pension").id
    auth.login("reception1")
    url = f"/reception/citizens/{citizen.id}/requests/new"
    page = client.get(f"{url}?request_type={inquiry_id}").text
    assert 'name="inquiry_subject"' in page and "استفسار عن المعاش التقاعدي" in page
    assert 'name="inquiry_subject"' not in client.get(f"{url}?request_type={pension_id}").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]

    def post(subject, submission):  # the citizen's second inquiry is a suspected duplicate: a reason is given
        return client.post(url, data={"csrf_token": token, "request_type": inquiry_id, "inquiry_subject": subject,
                                      "details": "متى يصرف المعاش؟", "submission_token": submission,
                                      "override_reason": "سؤال آخر"})
    bad = post("no-such", "t-bad")
    assert bad.status_code == 422 and 'name="inquiry_subject"' in bad.text
    with data():
        assert Request.select().count() == 0
        InquirySubject.update(active=False).where(InquirySubject.code == "compensation").execute()
    withdrawn = post("compensation", "t-withdrawn")  # no longer offered: refused, nothing recorded
    assert withdrawn.status_code == 422
    with data():
        assert Request.select().count() == 0
    assert post("pension", "t-1").status_code == 303
    assert post("", "t-2").status_code == 303  # none chosen: Citizens Affairs
    with data():
        routed, plain = Request.select().order_by(Request.id)
        assert (routed.department.code, routed.inquiry_subject.code) == ("retirement", "pension")
        assert (plain.department.code, plain.inquiry_subject_id) == ("citizens", None)


def test_a_file_import_takes_an_inquiry_subject_checked_as_the_api_checks_it(client, auth, data):
    import csv
    import io

    from intranet.intake import import_files, imports
    from tests.conftest import csrf_token

    with data():
        rows = import_files.sample_rows(3, prefix="SUBJ")
        header = imports.columns()
    assert "inquiry_subject" in header
    inquiries = [row for row in rows if row["request_type"] == "inquiry"]
    other = next(row for row in rows if row["request_type"] == "pension")
    inquiries[0]["inquiry_subject"] = "pension"
    other["inquiry_subject"] = "pension"  # only an inquiry has a subject
    extra = dict(inquiries[0], portal_reference="SUBJ-BAD", national_id=factories.national_id(),
                 inquiry_subject="no-such")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in [*rows, extra]:
        writer.writerow([row.get(name, "") for name in header])
    auth.login("supervisor1")
    client.post("/language", data={"lang": "en", "csrf_token": csrf_token(client, "/"), "next": "/"})
    page = client.get("/imports/").text
    assert "<code dir=\"ltr\">inquiry_subject</code>" in page and 'id="inquiry-subjects-table"' in page
    uploaded = client.post("/imports/", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, "/imports/"), "file": (io.BytesIO(out.getvalue().encode()), "subjects.csv")})
    assert uploaded.status_code == 303
    batch_id = int(uploaded.headers["Location"].rsplit("/", 1)[1])
    preview = client.get(f"/imports/{batch_id}").text
    assert "Only an inquiry has a subject." in preview and "There is no inquiry subject with this code." in preview
    client.post(f"/imports/{batch_id}/run", data={"csrf_token": csrf_token(client, f"/imports/{batch_id}")})
    with data():
        made = {r.submission_token: r for r in Request.select()}
        assert f"import:{other['portal_reference']}" not in made and "import:SUBJ-BAD" not in made
        routed = made[f"import:{inquiries[0]['portal_reference']}"]
        assert (routed.department.code, routed.inquiry_subject.code) == ("retirement", "pension")


def test_a_clerk_imports_the_inquiries_that_land_in_their_department(client, auth, data):
    """An imported inquiry with a subject lands in the subject's department: a Retirement clerk may import pension
    inquiries, not those without a subject (Citizens Affairs' queue)."""
    import io

    from intranet.intake import import_files, imports
    from tests.conftest import csrf_token

    with data():
        rows = [row for row in import_files.sample_rows(6, prefix="LANE") if row["request_type"] == "inquiry"]
        header = imports.columns()
    routed, plain = rows
    routed["inquiry_subject"] = "pension"
    content = import_files._csv(header, [[row.get(name, "") for name in header] for row in rows])
    auth.login("pension1")
    uploaded = client.post("/imports/", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, "/imports/"), "file": (io.BytesIO(content), "lane.csv")})
    batch_id = int(uploaded.headers["Location"].rsplit("/", 1)[1])
    client.post(f"/imports/{batch_id}/run", data={"csrf_token": csrf_token(client, f"/imports/{batch_id}")})
    with data():
        found = imports.full(batch_id)
        assert (found.valid_rows, found.imported) == (1, 1)
        assert [e["field"] for e in found.report_list] == ["request_type"]
        assert [(r.submission_token, r.department.code) for r in Request.select()] == [
            (f"import:{routed['portal_reference']}", "retirement")]


def test_an_answered_inquiry_is_a_decision_in_the_statements_as_in_the_figures(staff):
    """The statements' list of what was decided and the figures count the same steps as completed (one rule:
    `HistoryEntry.completed_it`): an inquiry answered by its department is both."""
    from intranet.models import utcnow
    from intranet.reports import past_state
    from intranet.stats import figures

    start = utcnow() - dt.timedelta(minutes=1)
    req = ask(staff, "pension")
    workflow.answer(staff["pension"], req, req.version, "يصرف المعاش في الخامس والعشرين")
    decided = [item for item in past_state.decisions(start, utcnow() + dt.timedelta(minutes=1))
               if item.tracking_number == req.tracking_number]
    assert [item.outcome for item in decided] == ["completed"]
    retirement = Department.get(Department.code == "retirement").id
    assert decided[0].department_id == retirement
    today = local_today()
    counted = figures.counts(today, today, by=("department",), department=retirement)
    assert counted[(retirement,)]["completed"] == 1
