"""Automatic renewals (issue 17, seed 001): a completed request of a renewable type makes its periodic benefit; the
scheduled job renews what is overdue first, then what falls due within 30 days, and nothing beyond; each renewal is a
request with its history and SMS, decided by the engine in the same run (a renewal failing the rule stays with a
person, the reason kept); a rerun, or a run started again after one was killed, renews and decides nothing twice; and
the statements tell it: the alert statement what automation will renew and would refuse, the execution statement
what it did and each refusal with its reason, read back from the PDF."""
import datetime as dt
import decimal
import json
import threading

import pytest

from intranet import db, workflow
from intranet.automation import benefits, engine, registry_files, renewals, rules
from intranet.models import HistoryEntry, Notification, Request, RequestType
from intranet.models.automation import AutoDecision
from intranet.models.renewals import Benefit, Renewal
from intranet.reports import pdf, statements
from intranet.stats.figures import local_today
from tests.factories import make_citizen, make_request, make_staff
from tests.test_reports import arabic_in, pdf_text

CONDITIONS = [{"fact": "registered", "op": "is_true"}, {"fact": "alive", "op": "is_true"}]
TYPE = "pension_verification"


def rtype(code=TYPE):
    return RequestType.get(RequestType.code == code)


@pytest.fixture
def rule(ctx):
    admin = make_staff("admin-renew", "admin", None)
    return rules.save_rule(admin, rtype(), "civil", CONDITIONS, "complete")


def facts(*rows):
    """The civil registry: (citizen, alive) rows."""
    lines = ["national_id,registered,alive"] + [f"{c.national_id},yes,{'yes' if alive else 'no'}" for c, alive in rows]
    registry_files.load("civil", ("\n".join(lines) + "\n").encode(), "csv")


def benefit(due: dt.date, citizen=None, code=TYPE, amount=None) -> Benefit:
    """A benefit of `citizen` due on `due` (its origin: a request of the type)."""
    citizen = citizen or make_citizen()
    origin = make_request(code, citizen=citizen)  # decided at once when a rule completes it: its benefit made
    values = {"every_months": rtype(code).renewal_months, "next_due": due, "origin": origin, "subject": "تحقق شهري",
              "amount": amount}
    made = Benefit.get_or_none((Benefit.citizen == citizen.id) & (Benefit.request_type == rtype(code).id))
    if made is None:
        return Benefit.create(citizen=citizen, request_type=rtype(code), **values)
    Benefit.update(values).where(Benefit.id == made.id).execute()
    return Benefit.get_by_id(made.id)


def test_the_definitions_give_the_renewal_periods(ctx):
    assert rtype().renewal_months == 1 and rtype("health_care").renewal_months == 12
    assert rtype("compensation").renewal_months is None


def test_completing_a_renewable_request_makes_its_benefit_and_another_type_does_not(ctx):
    clerk = make_staff("ret-clerk", "clerk", "retirement")
    citizen = make_citizen()
    req = make_request(TYPE, citizen=citizen)
    workflow.accept(clerk, req, req.version)
    made = Benefit.get((Benefit.citizen == citizen.id) & (Benefit.request_type == rtype().id))
    assert Request.get_by_id(req.id).status == "completed"
    assert (made.period, made.every_months, made.origin_id) == (0, 1, req.id)
    assert made.next_due == benefits.add_months(local_today(), 1)
    inquiry = make_request("inquiry", citizen=citizen)
    workflow.answer(make_staff("cit-clerk", "clerk", "citizens"), inquiry, inquiry.version, "الجواب")
    assert Benefit.select().count() == 1


def test_add_months_keeps_the_day_where_the_month_has_it():
    assert benefits.add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert benefits.add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert benefits.add_months(dt.date(2026, 12, 15), 12) == dt.date(2027, 12, 15)


def test_overdue_first_then_due_within_30_days_and_none_beyond(ctx):
    today = local_today()
    made = {days: benefit(today + dt.timedelta(days=days)) for days in (5, -10, 31, 29, -40, 30, 90, 0)}
    expected = [made[d].id for d in (-40, -10, 0, 5, 29, 30)]
    assert [b.id for b in renewals.due_batch(today)] == expected
    pages, after = [], None  # keyset batches give the same order
    while batch := renewals.due_batch(today, after, limit=2):
        pages.extend(b.id for b in batch)
        after = (batch[-1].next_due, batch[-1].id)
    assert pages == expected
    renewals.run(today)
    renewed = [r.benefit_id for r in Renewal.select().order_by(Renewal.id)]
    assert renewed == expected
    assert Benefit.get_by_id(made[31].id).period == 0 and Benefit.get_by_id(made[90].id).period == 0


def test_a_renewal_is_a_request_with_its_history_and_sms_decided_automatically(rule):
    citizen = make_citizen()
    facts((citizen, True))
    due = local_today() + dt.timedelta(days=3)
    held = benefit(due, citizen)
    counts = renewals.run()
    assert counts["renewed"] == 1 and counts["eligible"] == 1
    renewal = Renewal.get(Renewal.benefit == held.id)
    req = Request.get_by_id(renewal.request_id)
    assert (renewal.period, renewal.due_on) == (1, due)
    assert req.citizen_id == citizen.id and req.request_type_id == rtype().id and req.channel == "electronic"
    assert req.status == "completed"  # the rule completes it
    submitted = HistoryEntry.get((HistoryEntry.request == req.id) & (HistoryEntry.action == "submit"))
    assert submitted.info["renewal"] is True and submitted.info["benefit"] == held.id
    decided = HistoryEntry.get((HistoryEntry.request == req.id) & (HistoryEntry.action == "accept"))
    assert decided.info["automatic"] and decided.actor.username == "system:automation"
    assert Notification.select().where((Notification.request == req.id) & (Notification.channel == "sms")).exists()
    assert AutoDecision.get(AutoDecision.request == req.id).outcome == "eligible"
    after = Benefit.get_by_id(held.id)
    assert after.period == 1 and after.next_due == benefits.add_months(due, 1)
    assert not Benefit.select().where(Benefit.origin == req.id).exists()  # its completion made no second benefit


def test_a_renewal_failing_the_rule_goes_to_a_person_with_the_reason(rule):
    citizen = make_citizen()
    facts((citizen, False))
    held = benefit(local_today() - dt.timedelta(days=2), citizen)
    counts = renewals.run()
    assert counts["renewed"] == 1 and counts["ineligible"] == 1
    req = Request.get_by_id(Renewal.get(Renewal.benefit == held.id).request_id)
    assert req.status == "open" and req.stage.position == 1 and req.assignee_id is None
    row = AutoDecision.get(AutoDecision.request == req.id)
    assert row.outcome == "ineligible" and row.reason == "facts"
    assert [c["fact"] for c in row.check_list if not c["passed"]] == ["alive"]
    assert not HistoryEntry.select().where((HistoryEntry.request == req.id) & (HistoryEntry.action == "accept")).exists()


def test_a_money_renewal_leaves_its_payout_to_a_supervisor(ctx):
    admin = make_staff("admin-money", "admin", None)
    rules.save_rule(admin, rtype("health_care"), "civil", CONDITIONS, "complete", "5000")
    citizen = make_citizen()
    facts((citizen, True))
    held = benefit(local_today(), citizen, "health_care", amount=decimal.Decimal("800"))
    renewals.run()
    req = Request.get_by_id(Renewal.get(Renewal.benefit == held.id).request_id)
    assert req.status == "completed" and req.amount == decimal.Decimal("800")
    from intranet.models import Payout
    payout = Payout.get(Payout.request == req.id)
    assert payout.status not in ("approved", "exported", "paid")


def test_a_rerun_renews_nothing_twice(rule):
    citizens = [make_citizen() for _ in range(4)]
    facts(*((c, True) for c in citizens))
    for number, citizen in enumerate(citizens):
        benefit(local_today() + dt.timedelta(days=number * 7 - 7), citizen)
    assert renewals.run()["renewed"] == 4
    requests = Request.select().count()
    again = renewals.run()
    assert again["renewed"] == 0 and Request.select().count() == requests
    assert Renewal.select().count() == 4 and renewal_decisions("eligible") == 4


def test_the_run_decides_its_renewals_itself_and_starts_no_decision_job_for_them(rule, monkeypatch):
    """The renewal job decides each renewal in the same run: a job per renewal (100,000 on a full run) would only
    find it decided. The pending row is still written first, for the sweeper should the run die."""
    from intranet import triggers

    started = []
    real = triggers.enqueue
    monkeypatch.setattr(triggers, "enqueue", lambda name, *args, **kw: (started.append(name), real(name, *args, **kw)))
    citizen = make_citizen()
    facts((citizen, True))
    benefit(local_today(), citizen)  # its origin, a request submitted as any other, starts its own job
    started.clear()
    assert renewals.run()["eligible"] == 1
    assert "automation.decide" not in started and renewal_decisions("eligible") == 1
    started.clear()  # a request submitted otherwise still starts its job
    workflow.submit(make_staff("desk2", "reception", "reception"), citizen, rtype(), "walk_in", "تحقق")
    assert started.count("automation.decide") == 1


def renewal_decisions(outcome) -> int:
    return (AutoDecision.select().join(Renewal, on=(Renewal.request == AutoDecision.request))
            .where(AutoDecision.outcome == outcome).count())


class Killed(BaseException):
    """The process dies midway (not an Exception: nothing catches it)."""


def test_a_run_killed_midway_and_started_again_decides_nothing_twice(rule, monkeypatch):
    """Killed inside the third renewal's transaction: that renewal never happened (its claim rolled back with it),
    the two before stand, decided; the next run renews the other four, nothing twice."""
    citizens = [make_citizen() for _ in range(6)]
    facts(*((c, True) for c in citizens))
    for number, citizen in enumerate(citizens):
        benefit(local_today() - dt.timedelta(days=number), citizen)
    monkeypatch.setattr("intranet.triggers.enqueue", lambda *args, **kwargs: None)  # the decide jobs are lost too
    real, calls = engine.decide_submitted, []

    def dying(*args, **kwargs):
        calls.append(args)
        if len(calls) == 3:
            raise Killed
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "decide_submitted", dying)
    with pytest.raises(Killed):
        renewals.run()
    assert Renewal.select().count() == 2 and Benefit.select().where(Benefit.period == 1).count() == 2
    assert renewal_decisions("eligible") == 2 and renewal_decisions("pending") == 0
    monkeypatch.setattr(engine, "decide_submitted", real)
    counts = renewals.run()
    assert counts["finished"] == 0 and counts["renewed"] == 4
    assert Renewal.select().count() == 6 and all(b.period == 1 for b in Benefit.select())
    assert renewal_decisions("eligible") == 6 and renewal_decisions("pending") == 0
    accepts = (HistoryEntry.select().join(Renewal, on=(Renewal.request == HistoryEntry.request))
               .where(HistoryEntry.action == "accept"))
    assert accepts.count() == 6 and len({e.request_id for e in accepts}) == 6
    assert renewals.run()["renewed"] == 0


def test_a_decision_that_fails_leaves_the_renewal_standing_and_the_next_run_decides_it(rule, monkeypatch):
    """The decision has a savepoint of its own: its failure rolls back the decision only; the renewal stands with
    its decision pending, which the next run makes first."""
    citizens = [make_citizen() for _ in range(3)]
    facts(*((c, True) for c in citizens))
    for number, citizen in enumerate(citizens):
        benefit(local_today() - dt.timedelta(days=number), citizen)
    monkeypatch.setattr("intranet.triggers.enqueue", lambda *args, **kwargs: None)
    real, calls = workflow.decide_automatically, []

    def failing(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("the database went away for a moment")
        return real(*args, **kwargs)

    monkeypatch.setattr(workflow, "decide_automatically", failing)
    counts = renewals.run()
    assert counts["renewed"] == 3 and counts["eligible"] == 2 and counts["pending"] == 1
    assert Renewal.select().count() == 3 and renewal_decisions("pending") == 1
    monkeypatch.setattr(workflow, "decide_automatically", real)
    counts = renewals.run()
    assert counts["finished"] == 1 and counts["renewed"] == 0
    assert renewal_decisions("eligible") == 3 and renewal_decisions("pending") == 0


def test_the_statements_list_what_automation_will_renew_and_refuse_and_what_it_did(rule, app, tmp_path):
    fine, dead, late = make_citizen(full_name="سالم الكعبي"), make_citizen(full_name="ناصر العطية"), make_citizen()
    facts((fine, True), (dead, False), (late, True))
    today = local_today()
    benefit(today + dt.timedelta(days=4), fine)
    benefit(today - dt.timedelta(days=1), dead)
    benefit(today + dt.timedelta(days=45), late)  # beyond the window: on neither list
    alert = statements.alert(today)
    assert [(item.citizen.id, item.renews) for item in alert.automation] == [(dead.id, False), (fine.id, True)]
    assert alert.automation[0].reason == renewals.Refusal("facts", (("alive", False),))
    assert Request.select().where(Request.request_type == rtype().id).count() == 3  # the origins: nothing acted on
    text = render(tmp_path, "alert_statement", today)
    assert "Automation will renew (1)" in text and "Automation would refuse (1)" in text
    assert fine.national_id in text and dead.national_id in text and late.national_id not in text
    assert "a condition on the registry's" in text and "(alive: no)" in text  # the cell wraps
    arabic = render(tmp_path, "alert_statement", today, alert, lang="ar")  # one build, printed in each language
    assert arabic_in("التجديدات والقرارات الآلية", arabic) and arabic_in("ما سترفضه الأتمتة", arabic)
    assert arabic_in("(على قيد الحياة:", arabic) and arabic_in("ناصر", arabic)  # the refused one, with the fact

    renewals.run(today)
    tomorrow = today + dt.timedelta(days=1)
    execution = statements.Statement("execution_statement", tomorrow, today, [],
                                     renewals.done_between(*(statements.stats.day_bounds(today)[0],
                                                             statements.stats.day_bounds(tomorrow)[0])))
    assert sorted((item.citizen.id, item.decided) for item in execution.automation if item.renewal) == sorted(
        [(fine.id, True), (dead.id, False)])
    # the three first requests were decided automatically today too (a rule in force): listed, not as renewals
    assert sorted((item.citizen.id, item.decided) for item in execution.automation if not item.renewal) == sorted(
        [(fine.id, True), (dead.id, False), (late.id, True)])
    text = render(tmp_path, "execution_statement", tomorrow, execution)
    assert "Decided by automation (3)" in text and "Refused by automation (2)" in text
    refused = Request.get_by_id(Renewal.select().join(Benefit).where(Benefit.citizen == dead.id).get().request_id)
    assert refused.tracking_number in text and "(alive: no)" in text


def render(tmp_path, kind, day, doc=None, lang="en") -> str:
    data, _pages = pdf.render_pdf(kind, day, lang, doc)
    path = tmp_path / f"{kind}-{lang}.pdf"
    path.write_bytes(data)
    return pdf_text(path)


@pytest.mark.slow
def test_the_job_killed_in_its_own_process_and_started_again_renews_and_decides_nothing_twice(app, backend,
                                                                                            tmp_path):
    """The bench's check at 1,000 benefits: the job's process SIGKILLed at a third, started again (the registry on
    loopback, over HTTP); the database's account finds every benefit renewed once and every request decided once."""
    import os

    from tests.bench import renewals as bench

    result = bench.bench("test", backend, tmp_path, dict(os.environ), 1000)
    assert result["problems"] == []
    assert 0 < result["killed_at"] < 1000 and result["restart"]["renewed"] == 1000 - result["killed_at"]
    assert result["outcomes"] == {"eligible": 900, "ineligible": 100} and result["twice"] == 0


def test_the_request_page_says_the_request_is_a_scheduled_renewal_and_why_it_went_to_a_person(rule, client, auth,
                                                                                            data):
    with data():
        citizen = make_citizen()
        facts((citizen, False))
        held = benefit(local_today() - dt.timedelta(days=1), citizen)
        renewals.run()
        req = Request.get_by_id(Renewal.get(Renewal.benefit == held.id).request_id)
        due = (local_today() - dt.timedelta(days=1)).isoformat()
    auth.login("supervisor1")
    page = client.get(f"/requests/{req.tracking_number}").text  # the supervisor reads Arabic
    assert "أُنشئ بالتجديد الدوري المجدول لاستحقاق دوري (الدورة 1، المستحقة في" in page and due in page
    assert "أحد الشروط على بيانات السجل غير مستوفى" in page  # the engine's explanation: left to a person


@pytest.mark.parametrize("renewal", ["{ every_months = 0 }", "{ every_months = \"monthly\" }", "12"])
def test_a_wrong_renewal_period_in_the_definitions_is_refused_and_nothing_is_loaded(ctx, app, tmp_path, renewal):
    from pathlib import Path

    from intranet import definitions

    text = Path(app.config["REQUEST_TYPES_FILE"]).read_text(encoding="utf-8")
    assert "renewal = { every_months = 1 }" in text
    broken = tmp_path / "types.toml"
    broken.write_text(text.replace("renewal = { every_months = 1 }", f"renewal = {renewal}")
                      .replace('name_en = "Monthly pension verification"', 'name_en = "Changed"'), encoding="utf-8")
    with pytest.raises(definitions.DefinitionError, match="renewal.every_months"):
        definitions.load(broken)
    assert rtype().name_en == "Monthly pension verification" and rtype().renewal_months == 1


def test_parts_side_by_side_renew_each_benefit_once(rule, app):
    """RENEWAL_PARTS runs at once, in threads of their own: each renews its share, together every benefit, once."""
    citizens = [make_citizen() for _ in range(10)]
    facts(*((c, True) for c in citizens))
    for number, citizen in enumerate(citizens):
        benefit(local_today() - dt.timedelta(days=number), citizen)
    results, errors = {}, []

    def work(part):
        try:
            with app.test_request_context(), db.database.connection_context():
                results[part] = renewals.run(part=part, parts=2)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(part,)) for part in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert results[0]["renewed"] == results[1]["renewed"] == 5
    assert Renewal.select().count() == 10 and all(b.period == 1 for b in Benefit.select())
    assert renewal_decisions("eligible") == 10
    with pytest.raises(ValueError):
        renewals.run(part=2, parts=2)


def test_the_hourly_job_splits_into_the_configured_parts(rule, app):
    from jobs.renewals import renew_due

    citizens = [make_citizen() for _ in range(4)]
    facts(*((c, True) for c in citizens))
    for citizen in citizens:
        benefit(local_today(), citizen)
    app.config["RENEWAL_PARTS"] = 2
    assert renew_due.call_local() == {"parts": 2}  # the parts run inline in the tests (Huey's immediate mode)
    assert Renewal.select().count() == 4 and renewal_decisions("eligible") == 4
    app.config["RENEWAL_PARTS"] = 1
    assert renew_due.call_local()["renewed"] == 0


def test_renewals_against_an_http_registry_are_asked_a_batch_ahead_and_a_failed_lookup_never_approves(rule, app):
    """Over HTTP the next batch's lookups run while a batch is renewed (batches of 2 here): every benefit renewed
    once and decided on its own citizen's answer; the citizen whose lookup failed (a 503) goes to a person."""
    from tests.test_registries_http import Registry

    citizens = [make_citizen() for _ in range(5)]
    dead, failing = citizens[1].national_id, citizens[3].national_id

    def answer(handler):
        national_id = handler.path.rsplit("/", 1)[-1]
        status = 503 if national_id == failing else 200
        body = json.dumps({"found": True, "facts": {"registered": True, "alive": national_id != dead}}).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    server = Registry().start()
    try:
        server.answer = answer
        app.config.update(REGISTRIES=f"civil={server.url}", REGISTRY_TIMEOUT_SECONDS=2)
        for number, citizen in enumerate(citizens):
            benefit(local_today() - dt.timedelta(days=number), citizen)  # its origin decided: asked once
        server.requests = []
        counts = renewals.run(batch=2)
        asked = sorted(path.rsplit("/", 1)[-1] for path, _ in server.requests)
    finally:
        server.stop()
    assert counts["renewed"] == 5 and counts["eligible"] == 3 and counts["ineligible"] == 1 and counts["skipped"] == 1
    assert asked == sorted(c.national_id for c in citizens)  # each asked once
    by_citizen = {Request.get_by_id(r.request_id).citizen_id: AutoDecision.get(AutoDecision.request == r.request_id)
                  for r in Renewal.select()}
    assert by_citizen[citizens[1].id].outcome == "ineligible"
    assert (by_citizen[citizens[3].id].outcome, by_citizen[citizens[3].id].reason) == ("skipped",
                                                                                       "registry_unavailable")
