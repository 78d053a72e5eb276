"""Straight-through processing (issue 17): rules as data with versions, the local registry loaded from CSV and XLSX,
the engine's decision with its evidence, each control (exceptions, pause, ceilings, an unavailable registry, the
sample), idempotence, the request page's explanation in Arabic and English, and the review that confirms or
reverses. Submitting a request of a type with a rule decides it at once here (tasks run inline in the tests)."""
import decimal
import io
import json
import random
import socket

import pytest
from openpyxl import Workbook

from intranet import db
from intranet.automation import controls, engine, registry_files, review, rules
from intranet.automation.registries import LocalRegistry
from intranet.intake.imports import FileRefused
from intranet.models import HistoryEntry, Request, RequestType
from intranet.models.automation import AutoDecision, AutoRule, RegistryRecord
from tests.conftest import csrf_token
from tests.factories import make_citizen, make_request, make_staff

CONDITIONS = [{"fact": "registered", "op": "is_true"}, {"fact": "alive", "op": "is_true"}]


def request_type(code="compensation"):
    return RequestType.get(RequestType.code == code)


@pytest.fixture
def admin(ctx):
    return make_staff("admin-auto", "admin", None)


@pytest.fixture
def supervisor(ctx):
    return make_staff("super-auto", "supervisor", None)


def registered(citizen, **facts):
    content = ("national_id,registered,alive,age\n"
               f"{citizen.national_id},{facts.get('registered', 'yes')},{facts.get('alive', 'yes')},"
               f"{facts.get('age', 67)}\n").encode()
    registry_files.load("civil", content, "csv")
    return citizen


def rule(admin, decision="complete", amount_limit="5000", registry="civil", conditions=CONDITIONS, code="compensation"):
    return rules.save_rule(admin, request_type(code), registry, conditions, decision, amount_limit)


def submitted(citizen=None, amount="1200", code="compensation"):
    citizen = citizen or registered(make_citizen())
    return make_request(code, citizen=citizen, amount=decimal.Decimal(amount))


def decision_of(req) -> AutoDecision:
    return AutoDecision.get(AutoDecision.request == req.id)


# --- rules as data -----------------------------------------------------------------------------------------------

def test_a_rule_change_makes_a_new_version_and_each_decision_names_its_version(admin):
    first = rule(admin)
    early = submitted()
    second = rule(admin, amount_limit="9000")
    late = submitted()
    assert (first.version, second.version) == (1, 2)
    assert not AutoRule.get_by_id(first.id).active and AutoRule.get_by_id(second.id).active
    assert rules.current_rule(request_type()).id == second.id
    assert decision_of(early).rule_id == first.id and decision_of(late).rule_id == second.id
    entry = HistoryEntry.get((HistoryEntry.request == late.id) & (HistoryEntry.action == "accept"))
    assert entry.actor.username == "system:automation" and entry.info["automatic"] and entry.info["rule_version"] == 2


@pytest.mark.parametrize("conditions", [
    [], [{"fact": "alive", "op": "like", "value": 1}], [{"fact": "Alive!", "op": "is_true"}],
    [{"fact": "age", "op": "gte", "value": "old"}], [{"fact": "status", "op": "in", "value": []}], "alive",
])
def test_a_wrong_rule_is_refused_and_nothing_is_saved(admin, conditions):
    with pytest.raises(rules.RuleRefused):
        rule(admin, conditions=conditions)
    assert AutoRule.select().count() == 0


def test_only_administrators_write_rules(ctx, supervisor):
    with pytest.raises(rules.RuleRefused):
        rule(supervisor)


def test_evaluate_is_pure_and_says_each_fact():
    from intranet.automation.registries import RegistryAnswer

    class Rule:
        condition_list = [{"fact": "alive", "op": "is_true", "value": None},
                          {"fact": "age", "op": "gte", "value": 60},
                          {"fact": "pension_status", "op": "in", "value": ["active", "suspended"]}]
        amount_limit = decimal.Decimal("5000")

    answer = RegistryAnswer("civil", True, {"alive": True, "age": 59, "pension_status": "Active"}, "{}", None)
    result = engine.evaluate(Rule, answer, decimal.Decimal("5000"))
    assert not result.eligible and result.reason == "facts"
    assert [check["passed"] for check in result.checks] == [True, False, True, True]
    assert engine.evaluate(Rule, answer, decimal.Decimal("5000.001")).checks[-1]["passed"] is False
    missing = RegistryAnswer("civil", False, {}, "{}", None)
    assert engine.evaluate(Rule, missing, 1).reason == "not_found"


# --- the local registry --------------------------------------------------------------------------------------------

def test_the_local_registry_loads_csv_and_xlsx_and_a_second_load_replaces_a_persons_facts(ctx):
    assert registry_files.load("civil", "national_id,registered,alive,age,status\n"
                               "28000000001,yes,نعم,70,active\n28000000002,0,false,45.5,\n".encode(), "csv") == 2
    first = LocalRegistry("civil").lookup("28000000001")
    assert first.found and first.facts == {"registered": True, "alive": True, "age": 70, "status": "active"}
    assert json.loads(first.raw)["facts"] == first.facts
    assert LocalRegistry("civil").lookup("28000000002").facts == {"registered": False, "alive": False, "age": 45.5}
    book = Workbook()
    book.active.append(["national_id", "alive"])
    book.active.append(["28000000001", "no"])
    stream = io.BytesIO()
    book.save(stream)
    assert registry_files.load("civil", stream.getvalue(), "xlsx") == 1
    assert LocalRegistry("civil").lookup("28000000001").facts == {"alive": False}
    assert RegistryRecord.select().count() == 2
    assert not LocalRegistry("civil").lookup("28000000009").found
    assert not LocalRegistry("retirement").lookup("28000000001").found


@pytest.mark.parametrize(("content", "kind"), [
    (b"name,alive\nx,yes\n", "csv"), (b"national_id,alive\nabc,yes\n", "csv"),
    (b"national_id,alive\n28000000001,yes\n28000000001,no\n", "csv"), (b"\xff\xfe", "csv"), (b"not a zip", "xlsx"),
    (b"", "csv"),
])
def test_a_bad_registry_file_is_refused_and_changes_nothing(ctx, content, kind):
    with pytest.raises(FileRefused):
        registry_files.load("civil", content, kind)
    assert RegistryRecord.select().count() == 0


def test_the_cli_loads_a_registry_file(app, tmp_path, monkeypatch):
    path = tmp_path / "civil.csv"
    path.write_text("national_id,alive\n28000000001,yes\n")
    result = app.test_cli_runner().invoke(args=["registry", "load", "civil", str(path)])
    assert result.exit_code == 0 and "1 people loaded" in result.output, result.output
    bad = tmp_path / "civil.txt"
    bad.write_text("x")
    assert app.test_cli_runner().invoke(args=["registry", "load", "civil", str(bad)]).exit_code == 1


# --- the decision and its evidence ---------------------------------------------------------------------------------

def test_an_eligible_request_is_completed_with_the_evidence_kept(admin):
    current = rule(admin)
    req = submitted()
    row = decision_of(req)
    assert (row.outcome, row.rule_id, row.amount) == ("eligible", current.id, decimal.Decimal("1200"))
    assert Request.get_by_id(req.id).status == "completed"
    assert row.registry == "civil" and json.loads(row.registry_raw)["facts"]["alive"] is True and row.fetched_at
    assert {check["fact"]: check["passed"] for check in row.check_list} == {
        "registered": True, "alive": True, "amount": True}
    assert req.payouts.count() == 1  # the money still awaits a supervisor's approval
    assert req.payouts.get().status == "pending"


def test_accept_stage_moves_it_on_to_the_second_stage(admin):
    rule(admin, decision="accept_stage")
    req = submitted()
    fresh = Request.get_by_id(req.id)
    assert fresh.status == "open" and fresh.stage.position == 2


def test_an_ineligible_request_goes_to_a_person_with_the_failed_facts(admin):
    rule(admin)
    req = submitted(registered(make_citizen(), alive="no"))
    row = decision_of(req)
    assert (row.outcome, row.reason) == ("ineligible", "facts")
    assert [check["fact"] for check in row.check_list if not check["passed"]] == ["alive"]
    assert Request.get_by_id(req.id).status == "open" and Request.get_by_id(req.id).stage.position == 1


def test_a_citizen_the_registry_does_not_know_goes_to_a_person(admin):
    rule(admin)
    req = submitted(make_citizen())
    assert (decision_of(req).outcome, decision_of(req).reason) == ("ineligible", "not_found")
    assert Request.get_by_id(req.id).status == "open"


def test_a_type_without_a_rule_gets_no_decision_row(admin):
    req = submitted()
    assert AutoDecision.get_or_none(AutoDecision.request == req.id) is None
    row = engine.decide(req.id)  # asked anyway: skipped, with the reason
    assert (row.outcome, row.reason) == ("skipped", "no_rule")


def test_deciding_twice_makes_one_decision(admin):
    rule(admin)
    req = submitted()
    again = engine.decide(req.id)
    assert again.outcome == "eligible" and AutoDecision.select().count() == 1
    assert HistoryEntry.select().where((HistoryEntry.request == req.id) & (HistoryEntry.action == "accept")).count() == 1


def test_the_sweeper_decides_what_a_lost_job_left_pending(admin):
    req = submitted()  # no rule yet: no decision row, no job
    rule(admin)
    with db.transaction():  # the row a submission writes, its job lost (a consumer killed)
        db.insert_row(AutoDecision, {"request": req.id, "request_type": req.request_type_id, "amount": req.amount})
    assert engine.pending_ids() == [req.id]
    assert engine.sweep() == 1 and engine.pending_ids() == []


# --- the controls --------------------------------------------------------------------------------------------------

def test_an_excepted_citizen_and_an_excepted_type_go_to_a_person(admin, supervisor):
    rule(admin)
    citizen = registered(make_citizen())
    exception = controls.add_exception(supervisor, "appeal pending", citizen=citizen)
    assert (decision_of(submitted(citizen)).reason, decision_of(submitted(citizen)).outcome)[0] == "excepted"
    controls.remove_exception(supervisor, exception.id)
    assert decision_of(submitted(citizen)).outcome == "eligible"
    controls.add_exception(supervisor, "audit of the type", request_type=request_type())
    assert decision_of(submitted()).reason == "excepted"
    with pytest.raises(controls.ControlRefused):
        controls.add_exception(supervisor, "  ", citizen=citizen)
    with pytest.raises(controls.ControlRefused):
        controls.add_exception(admin, "x", citizen=citizen)


def test_a_paused_type_stops_at_once_and_resumes(admin, supervisor):
    rule(admin)
    controls.pause(supervisor, request_type())
    paused = submitted()
    assert (decision_of(paused).outcome, decision_of(paused).reason) == ("skipped", "paused")
    assert Request.get_by_id(paused.id).status == "open"
    controls.resume(supervisor, request_type())
    assert decision_of(submitted()).outcome == "eligible"


def test_the_ceiling_stops_automation_at_the_exact_amount_and_tells_supervisors_once(admin, supervisor):
    from intranet.models import Notification, Staff

    Staff.update(email="super@diwan.example").where(Staff.id == supervisor.id).execute()
    rule(admin, amount_limit=None)
    controls.set_ceiling(supervisor, request_type(), per_day="3000.50", per_month=None)
    assert decision_of(submitted(amount="2000")).outcome == "eligible"
    crossing = submitted(amount="1000.51")  # 3000.51 > 3000.50: to a person
    assert (decision_of(crossing).outcome, decision_of(crossing).reason) == ("skipped", "ceiling_day")
    assert Request.get_by_id(crossing.id).status == "open"
    reaching = submitted(amount="1000.50")  # exactly 3000.50: within
    assert decision_of(reaching).outcome == "eligible"
    assert decision_of(submitted(amount="0.01")).reason == "ceiling_day"
    alerts = Notification.select().where(Notification.event == "automation_ceiling")
    assert alerts.count() == 1 and alerts.get().staff_id == supervisor.id
    controls.set_ceiling(supervisor, request_type(), per_day=None, per_month="3000.50")
    assert decision_of(submitted(amount="0.01")).reason == "ceiling_month"
    with pytest.raises(controls.ControlRefused):
        controls.set_ceiling(supervisor, request_type(), per_day="lots")


def test_an_unavailable_registry_never_approves(app, admin):
    with socket.socket() as probe:  # a loopback port nobody listens on: the connection is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app.config.update(REGISTRIES=f"civil=http://127.0.0.1:{port}/people", REGISTRY_TIMEOUT_SECONDS=0.5)
    rule(admin)
    req = submitted()
    row = decision_of(req)
    assert (row.outcome, row.reason) == ("skipped", "registry_unavailable")
    assert Request.get_by_id(req.id).status == "open" and req.payouts.count() == 0


def test_the_sample_rate_holds_over_ten_thousand_draws(app, ctx):
    rng = random.Random(20261203)
    drawn = sum(engine.sampled(rng) for _ in range(10_000))
    # 5 % of 10,000: 500, standard deviation about 21.8; four deviations either side
    assert 413 <= drawn <= 587, drawn
    app.config["AUTOMATION_SAMPLE_PERCENT"] = 0
    assert not any(engine.sampled(rng) for _ in range(1000))
    app.config["AUTOMATION_SAMPLE_PERCENT"] = 100
    assert all(engine.sampled(rng) for _ in range(1000))


# --- review ----------------------------------------------------------------------------------------------------------

def sampled_request(app, admin):
    app.config["AUTOMATION_SAMPLE_PERCENT"] = 100
    rule(admin)
    req = submitted()
    assert decision_of(req).sampled
    return req


def test_a_reviewer_confirms_a_sampled_decision(app, admin, supervisor):
    req = sampled_request(app, admin)
    confirmed = review.review(supervisor, decision_of(req).id, "confirmed")
    assert (confirmed.review_outcome, confirmed.reviewed_by_id) == ("confirmed", supervisor.id)
    with pytest.raises(review.ReviewRefused):
        review.review(supervisor, confirmed.id, "reversed", "changed my mind")


def test_a_reversal_reopens_the_request_and_rejects_its_payout_with_history(app, admin, supervisor):
    req = sampled_request(app, admin)
    with pytest.raises(review.ReviewRefused):
        review.review(supervisor, decision_of(req).id, "reversed", "")
    with pytest.raises(review.ReviewRefused):
        review.review(admin, decision_of(req).id, "confirmed")
    reversed_ = review.review(supervisor, decision_of(req).id, "reversed", "the death certificate arrived")
    assert (reversed_.review_outcome, reversed_.review_reason) == ("reversed", "the death certificate arrived")
    fresh = Request.get_by_id(req.id)
    assert fresh.status == "open" and fresh.stage.position == 1 and fresh.closed_at is None
    assert req.payouts.get().status == "rejected"
    entry = HistoryEntry.select().where(HistoryEntry.request == req.id).order_by(HistoryEntry.id.desc()).get()
    assert (entry.action, entry.actor_id, entry.comment) == ("reverse_automatic", supervisor.id,
                                                            "the death certificate arrived")


# --- the request page ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("language", "words"), [
    ("en", ["Decided automatically under rule v1 of", "registered in the civil registry: yes",
            "alive in the civil registry: yes", "within", "5,000.00", "answer of the civil registry of",
            "Chosen at random for a person to review."]),
    ("ar", ["قرار آلي", "بموجب الإصدار 1 من القاعدة", "السجل المدني", "نعم", "ضمن حد", "اختير عشوائياً"]),
])
def test_the_page_explains_the_decision_and_a_supervisor_reverses_it(app, client, auth, data, language, words):
    with data():
        app.config["AUTOMATION_SAMPLE_PERCENT"] = 100
        rule(make_staff("admin-page", "admin", None))
        req = submitted()
        tracking = req.tracking_number
    auth.login("supervisor1")
    client.post("/language", data={"lang": language, "csrf_token": csrf_token(client, "/"), "next": "/"})
    page = client.get(f"/requests/{tracking}").text
    for word in words:
        assert word in page, word
    token = csrf_token(client, f"/requests/{tracking}")
    with data():
        decision_id = AutoDecision.get(AutoDecision.request == req.id).id
    answer = client.post(f"/automation/decisions/{decision_id}/review",
                         data={"csrf_token": token, "outcome": "reversed", "reason": "ليس مؤهلاً"})
    assert answer.status_code == 302
    with data():
        assert Request.get_by_id(req.id).status == "open"
        assert AutoDecision.get_by_id(decision_id).review_outcome == "reversed"
    assert "ليس مؤهلاً" in client.get(f"/requests/{tracking}").text


def test_a_clerk_may_not_review(app, client, auth, data):
    with data():
        app.config["AUTOMATION_SAMPLE_PERCENT"] = 100
        rule(make_staff("admin-page", "admin", None))
        req = submitted()
        decision_id = AutoDecision.get(AutoDecision.request == req.id).id
    auth.login("comp1")
    token = csrf_token(client, "/queues/")
    answer = client.post(f"/automation/decisions/{decision_id}/review", data={"csrf_token": token, "outcome": "confirmed"})
    assert answer.status_code == 403
    with data():
        assert AutoDecision.get_by_id(decision_id).review_outcome is None


def test_the_schema_holds_one_decision_per_request(ctx, admin):
    rule(admin)
    req = submitted()
    with pytest.raises(Exception), db.transaction():  # noqa: B017,PT011  the unique index, whatever the driver's class
        AutoDecision.create(request=req.id, request_type=req.request_type_id)


def test_the_demo_seeds_a_registry_and_a_rule_that_decides(ctx, tmp_path):
    from intranet.automation import demo_data

    citizens = [make_citizen() for _ in range(6)]
    loaded = demo_data.seed(tmp_path)
    assert loaded == sum(1 for c in citizens if c.id % 5) and (tmp_path / "sample-registry.csv").exists()
    assert demo_data.seed(tmp_path) == 0  # once
    known = next(c for c in citizens if c.id % 5 and c.id % 40 != 1 and c.id % 25 != 3)
    req = submitted(known, amount="300")
    assert decision_of(req).outcome == "eligible" and Request.get_by_id(req.id).stage.position == 2


def test_the_demo_gives_the_pension_verification_a_rule_and_benefits_the_renewal_job_decides(ctx, tmp_path):
    from intranet.automation import demo_data, renewals
    from intranet.models.renewals import Benefit, Renewal

    citizens = [make_citizen() for _ in range(8)]
    alive = [c for c in citizens if c.id % 5 and c.id % 40 != 1 and c.id % 25 != 3]  # registered and alive
    demo_data.seed(tmp_path)
    pension = RequestType.get(RequestType.code == "pension_verification")
    assert rules.current_rule(pension).decision == "complete"
    verifications = Request.select().where(Request.request_type == pension.id)
    assert verifications.count() == 8  # one each, decided by the rule: the others wait for a person
    assert {b.citizen_id for b in Benefit.select()} == {c.id for c in alive}
    assert demo_data.seed_benefits() == 0  # once
    counts = renewals.run()  # every benefit falls due within the window (15 days ago onwards)
    assert counts["renewed"] == len(alive) == counts["eligible"]
    assert all(Request.get_by_id(r.request_id).status == "completed" for r in Renewal.select())


# --- the supervisors' controls page ----------------------------------------------------------------------------------

def test_a_supervisor_pauses_sets_a_ceiling_and_keeps_the_exceptions_list_from_the_page(app, client, auth, data):
    with data():
        rule(make_staff("admin-page", "admin", None))
        type_id = request_type().id
        citizen = registered(make_citizen())
        national = citizen.national_id
    auth.login("supervisor1")
    page = client.get("/automation/controls")
    assert page.status_code == 200 and "الإصدار 1 من القاعدة" in page.text
    token = csrf_token(client, "/automation/controls")
    client.post(f"/automation/controls/{type_id}/pause", data={"csrf_token": token, "action": "pause"})
    with data():
        assert controls.is_paused(type_id)
        assert decision_of(submitted()).reason == "paused"
    client.post(f"/automation/controls/{type_id}/pause", data={"csrf_token": token, "action": "resume"})
    refused = client.post(f"/automation/controls/{type_id}/ceiling", data={"csrf_token": token, "per_day": "abc"},
                          follow_redirects=True)
    assert refused.status_code == 200
    client.post(f"/automation/controls/{type_id}/ceiling", data={"csrf_token": token, "per_day": "100",
                                                                 "per_month": ""})
    client.post("/automation/exceptions", data={"csrf_token": token, "national_id": national, "reason": "تحت التدقيق"})
    unknown = client.post("/automation/exceptions", data={"csrf_token": token, "national_id": "29999999999",
                                                         "reason": "x"}, follow_redirects=True)
    assert unknown.status_code == 200
    with data():
        assert not controls.is_paused(type_id)
        assert controls.ceiling_for(type_id).per_day == decimal.Decimal("100") and controls.ceiling_for(type_id).per_month is None
        exception = controls.exception_for(citizen.id, type_id)
        assert exception.reason == "تحت التدقيق"
        assert decision_of(submitted(citizen)).reason == "excepted"
    assert "تحت التدقيق" in client.get("/automation/controls").text
    client.post(f"/automation/exceptions/{exception.id}/remove", data={"csrf_token": token})
    with data():
        assert controls.exception_for(citizen.id, type_id) is None


@pytest.mark.parametrize("username", ["comp1", "admin1", "reception1"])
def test_only_supervisors_reach_the_controls(client, auth, username):
    auth.login(username)
    assert client.get("/automation/controls").status_code == 403


def test_an_administrator_loads_a_registry_file_from_the_page(client, auth, data):
    auth.login("admin1")
    token = csrf_token(client, "/automation/registries")
    content = b"national_id,registered,alive\n28000000001,yes,yes\n28000000002,no,yes\n"
    loaded = client.post("/automation/registries", data={"csrf_token": token, "code": "civil",
                                                         "file": (io.BytesIO(content), "civil.csv")},
                         content_type="multipart/form-data", follow_redirects=True)
    assert loaded.status_code == 200 and "civil" in loaded.text
    refused = client.post("/automation/registries", data={"csrf_token": token, "code": "civil",
                                                          "file": (io.BytesIO(b"name\nx\n"), "civil.csv")},
                          content_type="multipart/form-data", follow_redirects=True)
    assert refused.status_code == 200 and "national_id" in refused.text
    nothing = client.post("/automation/registries", data={"csrf_token": token, "code": "civil"},
                          content_type="multipart/form-data", follow_redirects=True)
    assert nothing.status_code == 200
    with data():
        assert RegistryRecord.select().count() == 2
        assert registry_files.summary()[0]["people"] == 2


@pytest.mark.parametrize("username", ["supervisor1", "comp1"])
def test_only_administrators_load_registries(client, auth, username):
    auth.login(username)
    assert client.get("/automation/registries").status_code == 403
