"""HTML rendered once for what it shows (intranet/fragments.py, issue 21): a queue row and the header's links are
kept, and what a person sees is never someone else's or an older state's: every change to what a row shows, to
who looks at it and in which language, gives the page its own HTML; the forms carry the page's own CSRF token."""
import datetime as dt
import re

import pytest
from jinja2 import meta, nodes

from intranet import fragments, nav, reference, templating, workflow
from intranet.auth import permissions
from intranet.models import Citizen, Request, Stage, Staff
from tests.conftest import csrf_token
from tests.factories import make_request, make_staff


@pytest.fixture
def people(data):
    with data():  # no request context held across the pages (it would pin their language)
        return {"desk": make_staff("desk", "reception", "reception"), "other": make_staff("other", "clerk", "health")}


@pytest.fixture
def req(data, people):
    with data():
        return make_request("health_care", actor=people["desk"])


def row_of(page_text, req):
    found = re.search(rf'<tr id="request-row-{req.id}".*?</tr>', page_text, re.S)
    assert found, f"no row for {req.tracking_number}"
    return found.group(0)


def same_but_token(row):
    """The row without its CSRF token, which carries the second it was made in."""
    return re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token"', row)


def test_a_kept_row_shows_every_change_to_what_it_shows(auth, client, people, req, data):
    auth.login("health1")
    first = row_of(client.get("/queues/health").text, req)
    assert same_but_token(row_of(client.get("/queues/health").text, req)) == same_but_token(first)  # kept
    assert 'value="claim"' in first and "Other" not in first

    with data():  # a colleague claims it (a workflow step: version, assignee)
        workflow.claim(people["other"], Request.get_by_id(req.id), 1)
    claimed = row_of(client.get("/queues/health").text, req)
    assert "Other" in claimed and 'value="claim"' not in claimed

    with data():  # the citizen's name corrected, the stage renamed: no step, no new version
        Citizen.update(full_name="مريم المعدلة").where(Citizen.id == req.citizen_id).execute()
        Stage.update(name_ar="مرحلة بعد إعادة التسمية").where(Stage.id == req.stage_id).execute()
        reference.forget()  # as an administrator's edit does (its change in the administration history)
    renamed = row_of(client.get("/queues/health").text, req)
    assert "مريم المعدلة" in renamed and "مرحلة بعد إعادة التسمية" in renamed

    with data():  # the clerk's colleague is renamed by the directory sync
        Staff.update(full_name="Colleague Renamed").where(Staff.id == people["other"].id).execute()
    assert "Colleague Renamed" in row_of(client.get("/queues/health").text, req)

    before = row_of(client.get("/queues/health").text, req)
    with data():  # the clock a day further on: the due date a day nearer
        due = Request.get_by_id(req.id).due_at - dt.timedelta(days=1)
        Request.update(due_at=due).where(Request.id == req.id).execute()
    after = row_of(client.get("/queues/health").text, req)
    assert after != before and f'datetime="{due.isoformat()}"' in after


def test_each_viewer_and_language_gets_its_own_row(auth, client, people, req, data):
    auth.login("health1")
    clerk_ar = row_of(client.get("/queues/health").text, req)
    token = csrf_token(client, "/queues/health")
    client.post("/language", data={"csrf_token": token, "lang": "en", "next": "/queues/health"})
    clerk_en = row_of(client.get("/queues/health").text, req)
    assert "Walk-in" in clerk_en and "Walk-in" not in clerk_ar
    auth.logout()
    auth.login("supervisor1")
    supervisor = row_of(client.get("/queues/health").text, req)
    assert 'name="request_ids"' in supervisor and 'name="request_ids"' not in clerk_ar  # may reassign: a checkbox


def test_the_row_forms_carry_the_pages_own_token_and_it_is_accepted(auth, client, req):
    auth.login("health1")
    page = client.get("/queues/health").text
    assert fragments.PLACEHOLDER not in page
    row = row_of(page, req)
    tokens = set(re.findall(r'name="csrf_token" value="([^"]+)"', row))
    assert len(tokens) == 1
    claimed = client.post(f"/requests/{req.tracking_number}/act", data={
        "csrf_token": tokens.pop(), "action": "claim", "version": "1", "view": "row"}, headers={"HX-Request": "true"})
    assert claimed.status_code == 200 and fragments.PLACEHOLDER not in claimed.text
    assert 'value="release"' in row_of(claimed.text, req)


def test_the_header_links_follow_the_persons_rules_and_a_role_change(auth, client, data):
    auth.login("health1")
    clerk_nav = re.search(r'<nav aria-label="[^"]*">.*?</nav>', client.get("/queues/health").text, re.S).group(0)
    assert 'href="/queues"' in clerk_nav or 'href="/queues/"' in clerk_nav
    assert "/admin/" not in clerk_nav and "/payouts" not in clerk_nav
    with data():
        Staff.update(role="supervisor", department=None).where(Staff.username == "health1").execute()
    supervisor_nav = re.search(r'<nav aria-label="[^"]*">.*?</nav>', client.get("/staff/").text, re.S).group(0)
    assert supervisor_nav != clerk_nav and "/payouts" in supervisor_nav


def test_each_persons_links_are_exactly_what_their_rules_allow(ctx):
    for role, department in (("clerk", "health"), ("supervisor", None), ("head", None), ("admin", None),
                             ("reception", "reception")):
        person = make_staff(f"nav-{role}", role, department)
        shown = {nav.LINKS[place].endpoint for place in nav.links_of(person, [])}
        assert ("payouts.index" in shown) == nav.may.can_see_payouts(person)
        assert ("reception.index" in shown) == nav.may.can_enter_requests(person)
        assert ("type.index" in shown) == nav.may.can_administer(person)
        assert "staff.index" in shown  # their absences at least
        assert ("delegation.index" in shown) == nav.may.can_manage_delegations(person)


def _kept_calls(env):
    """Every kept("template", name=...) in the templates: (the template kept, the names it is given)."""
    for name in env.list_templates(extensions=["html"]):
        for call in env.parse(env.loader.get_source(env, name)[0]).find_all(nodes.Call):
            if isinstance(call.node, nodes.Name) and call.node.name == "kept":
                given = {keyword.key for keyword in call.kwargs if keyword.key != "fill"}
                for keyword in call.kwargs:
                    if keyword.key == "fill":  # texts put in after: their names
                        given |= {pair.key.value for pair in keyword.value.items}
                yield name, call.args[0].value, given


def _reads(env, name) -> set:
    """The variables a template and those it includes read from outside themselves."""
    tree = env.parse(env.loader.get_source(env, name)[0])
    used = set(meta.find_undeclared_variables(tree))
    for other in meta.find_referenced_templates(tree):
        if other:
            used |= _reads(env, other)
    return used


def test_kept_templates_read_nothing_but_what_they_are_given(app):
    """A kept piece of HTML is a function of its key: its template may use the app's globals and filters and the
    values it is rendered with, never the page's (current_user, request, a view's variables)."""
    env = app.jinja_env
    kept = [("rows.py", "queues/_queue_row.html", {"row"}), ("nav.py", "_nav.html", {"links"})]
    kept += list(_kept_calls(env))
    assert {name for _, name, _ in kept} >= {"queues/_shortcuts.html", "queues/_queue_filters.html",
                                              "queues/_queue_tabs.html"}
    for caller, name, given in kept:
        inner = {"row_sla", "count", "first", "sla_badge"}  # set by the kept template itself for its includes
        stray = _reads(env, name) - given - set(env.globals) - inner
        assert not stray, f"{name} (kept by {caller}) reads {sorted(stray)}"


def test_a_page_of_rows_asks_the_action_rule_once_for_rows_alike_and_gets_its_answers(ctx):
    """permissions.actions_on_rows gives each request what allowed_actions gives it, whoever looks."""
    desk, h1, h2 = make_staff("desk", "reception", "reception"), make_staff("h1"), make_staff("h2")
    supervisor, c1 = make_staff("sup", "supervisor", None), make_staff("c1", "clerk", "compensation")
    requests = [make_request("health_care", actor=desk) for _ in range(6)] + [make_request("compensation", actor=desk)]
    workflow.claim(h1, requests[0], 1)
    workflow.claim(h2, requests[1], 1)
    workflow.act(h2, Request.get_by_id(requests[1].id), "accept", 2)  # on to its next stage
    workflow.act(supervisor, Request.get_by_id(requests[2].id), "reject", 1, "ليس من اختصاص القسم")
    items = [Request.get_by_id(r.id) for r in requests]
    for person in (h1, h2, supervisor, c1, desk):
        actions = permissions.actions_on_rows(person)
        for item in items + items[::-1]:
            assert actions(item) == permissions.allowed_actions(item, person), (person.username, item.id)


def test_the_store_is_bounded(app, monkeypatch):
    monkeypatch.setattr(fragments, "FRAGMENTS_KEPT_CHARACTERS", 24)  # three pieces of eight characters
    with app.test_request_context():
        rendered = [fragments.keep(("test", n), lambda n=n: f"<p>{n}</p>") for n in range(5)]
        assert rendered[4] == "<p>4</p>"
        store = app.extensions["diwan_fragments"].pieces
        assert len(store) == 3 and store.currsize == 24
        assert fragments.keep(("test", "big"), lambda: "x" * 30) == "x" * 30 and len(store) == 3  # never kept
        assert fragments.keep(("test", 4), lambda: "changed") == "<p>4</p>"  # kept
        assert fragments.keep(("test", 0), lambda: "again") == "again"  # pushed out: rendered again


def test_templates_see_the_apps_globals_and_their_own_first(app):
    """templating.Environment gives each template the environment's globals as one dict (issue 21): what Jinja's
    ChainMap gave, a template's own globals first."""
    env = app.jinja_env
    assert isinstance(env, templating.Environment)
    own = env.from_string("{{ localized is defined }} {{ marker }}", globals={"marker": "own"})
    assert own.render() == "True own" and env.from_string("{{ marker is defined }}").render() == "False"


def test_a_pages_own_address_is_put_into_its_kept_header_escaped(auth, client, req):
    """The header is kept once for a person; the language switch's way back (the page's address) and the header
    search's words are put in for each page, escaped."""
    auth.login("health1")
    for path in (f"/requests/{req.tracking_number}", "/queues/health?q=%22%3E%3Cb%3E"):
        page = client.get(path).text
        back = re.search(r'name="next" value="([^"]*)"', page).group(1)
        assert back == (path if "?" in path else f"{path}?") and "diwan-fill" not in page  # request.full_path
    searched = client.get("/search?q=%22%3E%3Cscript%3E").text
    assert 'value="&#34;&gt;&lt;script&gt;"' in searched and "<script>" not in searched.split("<main")[0]
