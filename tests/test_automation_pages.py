"""Issue 17, items 1 and 7: the administrators' rule editor (versions, refusals that save nothing, the dry run over the
last 30 days that never asks an external registry) and the supervisors' page of automatic decisions (filters,
paging by key, the figures). Both databases."""
import decimal
import socket

import pytest

from intranet import workflow
from intranet.automation import controls, dry_run, figures, registry_files, rules
from intranet.models import Request, RequestType
from intranet.models.automation import AutoDecision, AutoRule
from tests.conftest import csrf_token
from tests.factories import make_citizen, make_request, make_staff

CONDITIONS = [{"fact": "registered", "op": "is_true"}, {"fact": "alive", "op": "is_true"}]


def compensation():
    return RequestType.get(RequestType.code == "compensation")


def in_registry(*rows):
    """Load the civil registry with (citizen, alive) rows."""
    lines = "".join(f"{citizen.national_id},yes,{'yes' if alive else 'no'}\n" for citizen, alive in rows)
    registry_files.load("civil", ("national_id,registered,alive\n" + lines).encode(), "csv")


def prepared():
    """Five compensation requests: three decided under rule v1 with their registry answers stored (A eligible and
    decided, B not alive and later rejected by a person, C unknown to the registry), then, automation paused, two
    without a stored answer (D known and alive, later accepted by a person; E unknown)."""
    admin = make_staff("admin-pages", "admin", None)
    supervisor = make_staff("super-pages", "supervisor", None)
    a, b, c, d, e = (make_citizen() for _ in range(5))
    in_registry((a, True), (b, False), (d, True))
    rules.save_rule(admin, compensation(), "civil", CONDITIONS, "complete", "5000", "first")
    made = {"A": make_request("compensation", citizen=a, amount=decimal.Decimal("1200")),
            "B": make_request("compensation", citizen=b, amount=decimal.Decimal("800")),
            "C": make_request("compensation", citizen=c, amount=decimal.Decimal("100"))}
    controls.pause(supervisor, compensation())
    made["D"] = make_request("compensation", citizen=d, amount=decimal.Decimal("300"))
    made["E"] = make_request("compensation", citizen=e, amount=decimal.Decimal("50"))
    req = Request.get_by_id(made["B"].id)
    workflow.reject(supervisor, req, req.version, "لا يستحق")
    req = Request.get_by_id(made["D"].id)
    workflow.accept(supervisor, req, req.version)
    controls.set_ceiling(supervisor, compensation(), per_day="1000", per_month=None)
    return made


def outcome(req):
    return AutoDecision.get(AutoDecision.request == req.id).outcome


# --- the dry run (a pure service) ------------------------------------------------------------------------------------

def test_the_dry_run_counts_what_a_draft_would_decide_against_what_happened(ctx):
    made = prepared()
    assert [outcome(made[k]) for k in "ABCDE"] == ["eligible", "ineligible", "ineligible", "skipped", "skipped"]
    draft = rules.draft("civil", CONDITIONS, "complete", "5000")
    before = AutoRule.select().count()
    trial = dry_run.run(draft, compensation())
    assert trial.examined == 5 and not trial.limited
    assert trial.counts == {"eligible": 2, "ineligible": 3, "skipped": 0}
    assert trial.failing == [("found", 2), ("alive", 1)]
    assert trial.compared["eligible"]["automatic"] == 1 and trial.compared["eligible"]["accepted"] == 1
    assert trial.compared["ineligible"]["rejected"] == 1 and trial.compared["ineligible"]["waiting"] == 2
    assert trial.committed == decimal.Decimal("1500")  # A 1,200 and D 300
    assert trial.per_day == decimal.Decimal("1000") and len(trial.days_over) == 1 and trial.months_over == []
    assert AutoRule.select().count() == before  # nothing saved

    stricter = rules.draft("civil", CONDITIONS, "complete", "500")
    trial = dry_run.run(stricter, compensation())
    assert trial.counts["eligible"] == 1 and ("amount", 2) in trial.failing and trial.committed == 300
    assert dry_run.run(draft, compensation(), limit=3).limited


def test_the_dry_run_never_asks_an_external_registry(app, ctx):
    made = prepared()
    with socket.socket() as registry:  # listening: a lookup would connect, and the connection would wait here
        registry.bind(("127.0.0.1", 0))
        registry.listen(8)
        app.config.update(REGISTRIES=f"civil=http://127.0.0.1:{registry.getsockname()[1]}/people",
                          REGISTRY_TIMEOUT_SECONDS=0.5)
        trial = dry_run.run(rules.draft("civil", CONDITIONS, "complete", "5000"), compensation())
        registry.setblocking(False)
        with pytest.raises(BlockingIOError):
            registry.accept()  # nobody connected
    # A, B and C keep the answers stored with their decisions; D and E had none: not checked
    assert trial.counts == {"eligible": 1, "ineligible": 2, "skipped": 2}
    assert trial.skipped == {"not_checked": 2}
    assert Request.get_by_id(made["E"].id).status == "open"


def test_an_excepted_citizen_is_skipped_by_the_dry_run(ctx):
    made = prepared()
    controls.add_exception(make_staff("super-2", "supervisor", None), "تحت التدقيق", citizen=made["A"].citizen)
    trial = dry_run.run(rules.draft("civil", CONDITIONS, "complete", None), compensation())
    assert trial.skipped == {"excepted": 1} and trial.counts["eligible"] == 1


# --- the rule editor -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("username", "status"), [("admin1", 200), ("supervisor1", 403), ("comp1", 403)])
def test_only_administrators_open_the_rule_editor(app, client, auth, data, username, status):
    with data():
        type_id = compensation().id
    auth.login(username)
    assert client.get("/automation/rules").status_code == status
    assert client.get(f"/automation/rules/{type_id}").status_code == status


def form(**overrides):
    values = {"registry": "civil", "decision": "complete", "amount_limit": "5000", "note": "أول إصدار",
              "fact-0": "registered", "op-0": "is_true", "fact-1": "age", "op-1": "gte", "value-1": "60",
              "fact-2": "pension_status", "op-2": "in", "value-2": "active, suspended", "action": "save"}
    values.update(overrides)
    return values


def test_saving_makes_a_new_version_shown_in_words_and_in_the_history(app, client, auth, data):
    with data():
        type_id = compensation().id
    auth.login("admin1")
    token = csrf_token(client, f"/automation/rules/{type_id}")
    saved = client.post(f"/automation/rules/{type_id}", data={"csrf_token": token, **form()})
    assert saved.status_code == 302
    with data():
        rule = rules.current_rule(type_id)
        assert rule.version == 1 and rule.note == "أول إصدار" and rule.amount_limit == decimal.Decimal("5000")
        assert rule.condition_list == [{"fact": "registered", "op": "is_true", "value": None},
                                       {"fact": "age", "op": "gte", "value": 60},
                                       {"fact": "pension_status", "op": "in", "value": ["active", "suspended"]}]
    client.post(f"/automation/rules/{type_id}", data={"csrf_token": token, **form(note="second", **{"value-1": "65"})})
    page = client.get(f"/automation/rules/{type_id}").text
    assert "أول إصدار" in page and "second" in page and "الإصدار 2 من القاعدة" in page
    assert "العمر: بحد أدنى 65" in page  # the conditions in words
    assert 'value="65"' in page  # the form holds the version in force
    with data():
        assert [r.version for r in rules.versions(type_id)] == [2, 1]


@pytest.mark.parametrize("bad", [
    {"fact-0": "Bad!"}, {"value-1": "old"}, {"op-1": "like"}, {"registry": "elsewhere"}, {"decision": "approve"},
    {"amount_limit": "lots"}, {"fact-0": "", "fact-1": "", "fact-2": "", "value-1": "", "value-2": ""},
    {"op-2": "in", "value-2": " , "},
])
def test_a_wrong_rule_is_refused_in_words_and_nothing_is_saved(app, client, auth, data, bad):
    with data():
        type_id = compensation().id
    auth.login("admin1")
    token = csrf_token(client, f"/automation/rules/{type_id}")
    for action in ("save", "try"):
        answer = client.post(f"/automation/rules/{type_id}", data={"csrf_token": token, **form(action=action, **bad)})
        assert answer.status_code == 422 and "flash-error" in answer.text
    with data():
        assert AutoRule.select().count() == 0


def test_trying_a_version_shows_the_dry_run_and_saves_nothing(app, client, auth, data):
    with data():
        prepared()
        type_id = compensation().id
    auth.login("admin1")
    client.post("/language", data={"lang": "en", "csrf_token": csrf_token(client, "/"), "next": "/"})
    token = csrf_token(client, f"/automation/rules/{type_id}")
    answer = client.post(f"/automation/rules/{type_id}", data={
        "csrf_token": token, **form(action="try", amount_limit="", **{"fact-1": "alive", "op-1": "is_true",
                                                                      "fact-2": "", "value-2": "", "value-1": ""})})
    assert answer.status_code == 200
    assert 'id="dry-run"' in answer.text and "5 requests of this type" in answer.text
    assert "1,500.00" in answer.text and "known to the registry: 2" in answer.text
    with data():
        assert rules.current_rule(type_id).version == 1


def test_the_rule_editor_survives_hostile_input(app, client, auth, data):
    with data():
        type_id = compensation().id
    auth.login("admin1")
    token = csrf_token(client, f"/automation/rules/{type_id}")
    assert client.get("/automation/rules/999999").status_code == 404
    assert client.post("/automation/rules/999999", data={"csrf_token": token}).status_code == 404
    for values in ({}, {"action": "try"}, {"fact-0": "x" * 5000, "op-0": "eq", "value-0": "y" * 5000},
                   {"fact-0": "alive", "op-0": "in", "value-0": ",,,", "amount_limit": "1e999"},
                   {"fact-0": "alive", "op-0": "eq", "value-0": "NaN", "amount_limit": "-1", "registry": "civil"}):
        assert client.post(f"/automation/rules/{type_id}", data={"csrf_token": token, **values}).status_code < 500
    with data():
        assert AutoRule.select().count() == 0


# --- the supervisors' decisions page ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("username", "status"), [("supervisor1", 200), ("admin1", 200), ("comp1", 403),
                                                  ("reception1", 403)])
def test_who_sees_the_decisions_page(app, client, auth, username, status):
    auth.login(username)
    assert client.get("/automation/decisions").status_code == status


def test_the_decisions_filters_paging_and_figures(app, ctx):
    app.config["AUTOMATION_SAMPLE_PERCENT"] = 100
    made = prepared()
    everything = figures.filters_from({})
    rows, after = figures.decisions(everything)
    assert [row.request_id for row in rows] == [made[k].id for k in "EDCBA"] and after is None
    first, after = figures.decisions(everything, size=2)
    assert [row.request_id for row in first] == [made["E"].id, made["D"].id] and after == first[-1].id
    second, after = figures.decisions(everything, after, size=2)
    assert [row.request_id for row in second] == [made["C"].id, made["B"].id]
    assert [r.request_id for r in figures.decisions(figures.filters_from({"outcome": "eligible"}))[0]] == [made["A"].id]
    assert [r.request_id for r in figures.decisions(figures.filters_from({"review": "awaiting"}))[0]] == [made["A"].id]
    assert figures.decisions(figures.filters_from({"review": "reversed"}))[0] == []
    assert figures.awaiting_review() == 1
    other = RequestType.get(RequestType.code != "compensation")
    assert figures.decisions(figures.filters_from({"type": str(other.id)}))[0] == []
    long_ago = figures.filters_from({"from": "2001-01-01", "to": "2001-01-31"})
    assert figures.decisions(long_ago)[0] == [] and figures.figures(long_ago).received == 0

    numbers = figures.figures(everything)
    assert (numbers.received, numbers.automatic, numbers.share) == (5, 1, 20.0)
    assert numbers.median_seconds is not None and numbers.median_seconds >= 0
    assert numbers.people_decided == 1 and numbers.median_days is not None and numbers.median_days >= 0
    money = next(row for row in numbers.money if row.request_type.id == compensation().id)
    assert money.committed_day == decimal.Decimal("1200") and money.ceiling.per_day == decimal.Decimal("1000")


def test_the_decisions_page_shows_the_list_the_figures_and_the_chart(app, client, auth, data):
    with data():
        app.config["AUTOMATION_SAMPLE_PERCENT"] = 100
        made = prepared()
        tracking = made["A"].tracking_number
    auth.login("supervisor1")
    client.post("/language", data={"lang": "en", "csrf_token": csrf_token(client, "/"), "next": "/"})
    page = client.get("/automation/decisions").text
    assert tracking in page and f"/requests/{tracking}#automation" in page
    assert 'id="figure-automatic">1 (20.0%)' in page and "<svg" in page and "chart-table" in page
    assert "1,200.00" in page and "1,000.00" in page
    awaiting = client.get("/automation/decisions?review=awaiting").text
    assert tracking in awaiting and made["B"].tracking_number not in awaiting


def test_the_decisions_page_survives_hostile_parameters(app, client, auth, data):
    with data():
        prepared()
    auth.login("supervisor1")
    for query in ("type=abc&outcome=<script>&review=%00", "from=9999-99-99&to=-1", "after=99999999999999999999999",
                  "after=-5&type=-1", "from=2030-01-01&to=1900-01-01", "type=1&type=2&outcome=eligible&outcome=x",
                  "from=0001-01-01", "to=9999-12-31"):
        assert client.get(f"/automation/decisions?{query}").status_code < 500, query


def test_the_navigation_links_the_pages(app, client, auth):
    auth.login("admin1")
    page = client.get("/automation/rules").text
    assert 'href="/automation/rules"' in page and 'href="/automation/decisions"' in page
    auth.logout()
    auth.login("supervisor1")
    page = client.get("/automation/decisions").text
    assert 'href="/automation/decisions"' in page and 'href="/automation/rules"' not in page
