"""The header search and the citizen page (issue 16, item 4): every way of typing, paging by key, and who finds
what: a clerk never reaches another department's request, nor its citizen, through any search path or the citizen
page, unless they acted on it; reception and supervisors find everything. Hostile input never gives a 500."""
import re

import pytest

from intranet import workflow
from intranet.auth import permissions
from intranet.lookup import queries
from intranet.models import Citizen, CitizenChange, Notification, Request, Staff, VisitorTicket
from tests.factories import make_citizen, make_request, make_staff, national_id

ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def reload(req):
    return Request.get_by_id(req.id)


def signed_in(auth, username):
    auth.login(username)
    return Staff.get(Staff.username == username)


@pytest.fixture
def world(data):
    """Three citizens: one with a Health request, one with a Compensation request only, one with a Health request
    that a Health clerk (`mover`) accepted on to Compensation."""
    with data():
        desk = make_staff("desk", "reception", "reception")
        mover = make_staff("health-mover", "clerk", "health")
        health_citizen = make_citizen(full_name="عبد الله بن أحمد الكواري", national_id=national_id(901),
                                      phone="+97455120001")
        comp_citizen = make_citizen(full_name="فاطمة علي النعيمي", national_id=national_id(902), phone="+97455120002")
        moved_citizen = make_citizen(full_name="مريم يوسف السويدي", national_id=national_id(903), phone="+97455120003")
        health_req = make_request("health_care", actor=desk, citizen=health_citizen)
        comp_req = make_request("compensation", actor=desk, citizen=comp_citizen)
        moved_req = make_request("health_care", actor=desk, citizen=moved_citizen)
        workflow.accept(mover, moved_req, 1)
        moved_req = reload(moved_req)
        assert moved_req.department.code == "compensation"
        return {"health": health_req, "comp": comp_req, "moved": moved_req, "health_citizen": health_citizen,
                "comp_citizen": comp_citizen, "moved_citizen": moved_citizen, "mover": mover}


def search(client, text, **args):
    return client.get("/search", query_string={"q": text, **args}, headers={"HX-Request": "true"})


# --- every query form ----------------------------------------------------------------------------------------------

def tracking_forms(number):
    bare = number.replace("-", "")
    return [number, bare, number.translate(ARABIC_DIGITS), bare.translate(PERSIAN_DIGITS),
            f" {number.translate(ARABIC_DIGITS)} ", number.replace("-", "–"), f"\u200f{number}\u200f"]


def test_a_tracking_number_in_every_form_opens_the_request(auth, client, world):
    signed_in(auth, "reception1")
    number = world["comp"].tracking_number
    for typed in tracking_forms(number):
        response = client.get("/search", query_string={"q": typed})
        assert response.status_code == 303, typed
        assert response.headers["Location"] == f"/requests/{number}"
        fragment = search(client, typed)  # typing in the box (htmx): the result, not a redirect
        assert fragment.status_code == 200 and f"/requests/{number}" in fragment.text
        assert world["comp_citizen"].full_name in fragment.text


@pytest.mark.parametrize("form", ["plain", "arabic", "persian", "spaced"])
def test_a_national_id_finds_the_citizen(auth, client, world, form):
    signed_in(auth, "supervisor1")
    nid = world["comp_citizen"].national_id
    typed = {"plain": nid, "arabic": nid.translate(ARABIC_DIGITS), "persian": nid.translate(PERSIAN_DIGITS),
             "spaced": f"{nid[:4]} {nid[4:8]} {nid[8:]}"}[form]
    page = search(client, typed)
    assert f"/citizens/{world['comp_citizen'].id}" in page.text
    assert world["comp"].tracking_number in page.text
    assert world["health_citizen"].full_name not in page.text


@pytest.mark.parametrize("typed", ["55120002", "5512 0002", "+974 5512 0002", "+97455120002", "0097455120002",
                                   "٥٥١٢٠٠٠٢", "+٩٧٤ ٥٥١٢ ٠٠٠٢"])
def test_a_phone_local_or_international_finds_the_citizen(auth, client, world, typed):
    signed_in(auth, "reception1")
    page = search(client, typed)
    assert f"/citizens/{world['comp_citizen'].id}" in page.text, typed
    assert f"/citizens/{world['health_citizen'].id}" not in page.text


@pytest.mark.parametrize("typed", ["عبدالله الكواري", "عبد الله", "عَبْدُ اللهِ", "كواري", "احمد", "أحمد الكواري",
                                   "الكوارى"])
def test_a_name_with_or_without_diacritics_hamza_or_article(auth, client, world, typed):
    signed_in(auth, "reception1")
    page = search(client, typed)
    assert f"/citizens/{world['health_citizen'].id}" in page.text, typed
    assert world["health"].tracking_number in page.text
    assert f"/citizens/{world['comp_citizen'].id}" not in page.text


def test_nothing_searchable_and_nothing_found(auth, client, world):
    signed_in(auth, "reception1")
    assert "اكتب رقم تتبع أو رقمًا وطنيًا" in search(client, "?!").text
    page = search(client, "زمردة")
    assert page.status_code == 200 and "/citizens/" not in page.text and "/requests/" not in page.text
    assert client.get("/search?q=99-9999999-9").status_code == 200  # no such request: a page, no redirect


def test_pages_by_key(auth, client, data, world):
    with data():
        desk = Staff.get(Staff.username == "desk")
        person = make_citizen(full_name="زياد الهاجري", national_id=national_id(950))
        made = [make_request("inquiry", actor=desk, citizen=person).tracking_number for _ in range(5)]
        for n in range(5):
            make_citizen(full_name=f"زياد الهاجري {'ابن' * (n + 1)}", national_id=national_id(960 + n))
    with data():
        reader = Staff.get(Staff.username == "desk")
        first = queries.find(reader, "زياد", size=2)
        assert [r.tracking_number for r in first.requests] == made[::-1][:2] and first.next_request
        second = queries.find(reader, "زياد", request_after=first.next_request, size=2)
        third = queries.find(reader, "زياد", request_after=second.next_request, size=2)
        assert [r.tracking_number for r in second.requests + third.requests] == made[::-1][2:]
        assert third.next_request is None
        assert [c.id for c in second.citizens] == [c.id for c in first.citizens]  # the requests of these citizens
        seen, after = [], None
        while True:
            page = queries.find(reader, "زياد", citizen_after=after, size=2)
            seen += [c.id for c in page.citizens]
            if not (after := page.next_citizen):
                break
        assert len(seen) == 6 == len(set(seen)) and seen == sorted(seen)
    signed_in(auth, "reception1")
    page = client.get("/search", query_string={"q": "زياد"})
    assert page.status_code == 200
    assert all(number in page.text for number in made)  # 5 < 20 a page


# --- who finds what ------------------------------------------------------------------------------------------------

def every_path(client, world, key):
    """What each search path shows for the request `key` and its citizen: tracking number (page and box),
    national ID, phone, name, the citizen page, the request page."""
    req, person = world[key], world[f"{key}_citizen"]
    shown = {}
    for name, typed in (("tracking", req.tracking_number), ("national_id", person.national_id),
                        ("phone", person.phone), ("name", person.full_name)):
        page = search(client, typed)
        assert page.status_code == 200
        shown[name] = (req.tracking_number in page.text, f"/citizens/{person.id}" in page.text)
    redirect = client.get("/search", query_string={"q": req.tracking_number})
    shown["tracking_page"] = redirect.status_code == 303
    shown["citizen_page"] = client.get(f"/citizens/{person.id}").status_code
    shown["request_page"] = client.get(f"/requests/{req.tracking_number}").status_code
    return shown


FOUND = {"tracking": (True, True), "national_id": (True, True), "phone": (True, True), "name": (True, True),
         "tracking_page": True, "citizen_page": 200, "request_page": 200}
HIDDEN = {"tracking": (False, False), "national_id": (False, False), "phone": (False, False), "name": (False, False),
          "tracking_page": False, "citizen_page": 403, "request_page": 403}


@pytest.mark.parametrize("username", ["reception1", "supervisor1"])
def test_reception_and_supervisors_find_everything(auth, client, world, username):
    signed_in(auth, username)
    for key in ("health", "comp", "moved"):
        assert every_path(client, world, key) == FOUND, key


def test_a_clerk_never_finds_another_departments_request_or_its_citizen(auth, client, world):
    signed_in(auth, "health1")
    assert every_path(client, world, "health") == FOUND
    assert every_path(client, world, "comp") == HIDDEN
    assert every_path(client, world, "moved") == HIDDEN  # Health's once, moved on by a colleague: not health1's
    page = search(client, "النعيمي")  # a word of the hidden citizen's name alone
    assert world["comp_citizen"].full_name not in page.text


def test_a_clerk_finds_what_they_acted_on(auth, client, data, world):
    signed_in(auth, "comp1")  # Compensation: its own request, and the one moved to it
    assert every_path(client, world, "comp") == FOUND
    assert every_path(client, world, "moved") == FOUND
    assert every_path(client, world, "health") == HIDDEN
    with data():  # the Health clerk who moved it on keeps it, and its citizen
        mover = Staff.get(Staff.username == "health-mover")
        moved, comp = world["moved"], world["comp"]
        assert permissions.can_view(mover, moved) and not permissions.can_view(mover, comp)
        assert [r.id for r in queries.find(mover, moved.tracking_number).requests] == [moved.id]
        assert queries.find(mover, comp.tracking_number).requests == []
        assert permissions.can_see_citizen(mover, world["moved_citizen"])
        assert not permissions.can_see_citizen(mover, world["comp_citizen"])


def test_the_sql_rule_agrees_with_can_view(data, world):
    with data():
        people = [Staff.get(Staff.username == "health-mover"), make_staff("h-other", "clerk", "health"),
                  make_staff("c-other", "clerk", "compensation"), make_staff("nodept", "clerk", None),
                  make_staff("adm", "admin", None), Staff.get(Staff.username == "desk")]
        everything = list(Request.select())
        for person in people:
            condition = permissions.visible_requests(person)
            query = Request.select(Request.id)
            seen = {r.id for r in (query if condition is None else query.where(condition))}
            assert seen == {r.id for r in everything if permissions.can_view(person, r)}, person.username
            condition = permissions.visible_citizens(person)
            query = Citizen.select(Citizen.id)
            found = {c.id for c in (query if condition is None else query.where(condition))}
            assert found == {c.id for c in Citizen.select() if permissions.can_see_citizen(person, c)}


# --- the citizen page ----------------------------------------------------------------------------------------------

def test_the_citizen_page_shows_everything_the_reader_may_see(auth, client, data, world):
    with data():
        person = world["health_citizen"]
        desk = Staff.get(Staff.username == "desk")
        other = make_request("compensation", actor=desk, citizen=person)  # the same citizen, another department
        VisitorTicket.create(day="2026-01-05", service="follow_up", number=7, status="done", citizen=person.id)
        CitizenChange.create(citizen=person.id, changed_by=desk.id,
                             changes='{"phone": ["+97455120001", "+97455129999"]}')
        sent = Notification.get((Notification.request == world["health"].id) & (Notification.channel == "sms"))
        hidden_sms = Notification.get((Notification.request == other.id) & (Notification.channel == "sms"))
    signed_in(auth, "reception1")
    page = client.get(f"/citizens/{person.id}")
    assert page.status_code == 200
    assert world["health"].tracking_number in page.text and other.tracking_number in page.text
    assert "C-007" in page.text and "+97455129999" in page.text
    messages = section(page.text, "citizen-messages")
    assert sent.recipient not in messages and "•••• 0001" in messages  # masked as on the request's timeline
    assert other.tracking_number in messages and hidden_sms.status in messages
    assert 'id="citizen-payouts"' not in page.text  # the desk does not see payouts
    signed_in(auth, "health1")
    page = client.get(f"/citizens/{person.id}")
    assert world["health"].tracking_number in page.text
    assert other.tracking_number not in page.text  # the Compensation request of the same citizen, and its messages
    assert world["health"].tracking_number in section(page.text, "citizen-messages")


def section(page, element_id, end="</ul>"):
    return page.split(f'id="{element_id}"', 1)[1].split(end, 1)[0]


def test_the_citizen_page_pages_requests_by_key(auth, client, data, world):
    with data():
        desk = Staff.get(Staff.username == "desk")
        person = world["comp_citizen"]
        numbers = [world["comp"].tracking_number] + [make_request("inquiry", actor=desk, citizen=person)
                                                     .tracking_number for _ in range(21)]
    signed_in(auth, "supervisor1")
    first = client.get(f"/citizens/{person.id}")
    shown = re.findall(r'/requests/([\d-]+)"', section(first.text, "citizen-requests", "</table>"))
    assert shown == numbers[::-1][:20]
    after = re.search(r'/citizens/\d+\?after=(\d+)', first.text).group(1)
    second = client.get(f"/citizens/{person.id}?after={after}")
    assert re.findall(r'/requests/([\d-]+)"', section(second.text, "citizen-requests", "</table>")) \
        == numbers[::-1][20:]
    found = client.get("/search", query_string={"q": person.national_id})  # the header search pages the same way
    assert re.findall(r'/requests/([\d-]+)"', section(found.text, "found-requests", "</table>")) == numbers[::-1][:20]
    more = re.search(r'href="(/search\?[^"]*after=\d+[^"]*)"', found.text).group(1).replace("&amp;", "&")
    rest = client.get(more)
    assert re.findall(r'/requests/([\d-]+)"', section(rest.text, "found-requests", "</table>")) == numbers[::-1][20:]


def test_payouts_appear_for_those_who_see_payouts(auth, client, world):
    signed_in(auth, "supervisor1")
    page = client.get(f"/citizens/{world['comp_citizen'].id}")
    assert page.status_code == 200 and 'aria-labelledby="citizen-payouts-heading"' in page.text


# --- hostile input -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["\x00", "a\x00b", "ا" * 10_000, "\x01\x02\x1b[31m", "%", "_", "'; DROP TABLE x;--",
                                   '"*', "ab OR cd", "NEAR(a b)", "a:*", "!&|", "\u202e\u2066", "0" * 11, "+",
                                   "1" * 5000])
def test_hostile_input_never_gives_a_500(auth, client, world, typed):
    signed_in(auth, "health1")
    for headers in ({}, {"HX-Request": "true"}):
        response = client.get("/search", query_string={"q": typed}, headers=headers)
        assert response.status_code in (200, 400), (typed, response.status_code)
    assert client.get("/citizens/99999999999").status_code == 404
    assert client.get("/citizens/0").status_code == 404


def test_the_header_box_is_on_every_page_for_staff(auth, client, world):
    assert 'id="header-search"' not in client.get("/login").text
    for username in ("reception1", "health1", "supervisor1"):
        signed_in(auth, username)
        page = client.get("/search")
        assert '<search class="header-search"' in page.text and 'id="header-search"' in page.text
        assert 'aria-keyshortcuts="/"' in page.text
        auth.logout()


def test_the_desk_follow_up_service_leads_to_the_search_and_the_citizen_page(auth, client, data, world):
    from intranet.reception import tickets
    from tests.conftest import csrf_token

    with data():
        follow_up, walk_in = tickets.issue_ticket("follow_up"), tickets.issue_ticket("request_submission")
    signed_in(auth, "reception1")
    token = csrf_token(client, "/tickets/desk")
    panel = client.post("/tickets/desk/call", data={"csrf_token": token, "desk": "1", "services": "follow_up"},
                        headers={"HX-Request": "true"})
    assert panel.status_code == 200 and "follow-up-q-" in panel.text
    assert f'name="ticket" value="{follow_up.id}"' in panel.text
    assert "follow-up-q-" in client.get(f"/reception/?ticket={follow_up.id}").text
    with data():  # the visitor identified (a request entered for them): their page is one link away
        tickets.link_citizen(VisitorTicket.get_by_id(follow_up.id), world["health_citizen"])
    desk = client.get("/tickets/desk")
    assert f"/citizens/{world['health_citizen'].id}" in desk.text
    found = client.get("/search", query_string={"q": world["health_citizen"].national_id, "ticket": follow_up.id})
    assert f"/reception/citizens/{world['health_citizen'].id}/requests/new?ticket={follow_up.id}" in found.text
    with data():
        other = tickets.call_next(Staff.get(Staff.username == "reception1"), "2", ["request_submission"])
    assert other.id == walk_in.id and "follow-up-q-" not in client.get(f"/reception/?ticket={walk_in.id}").text


def test_the_clerk_who_moved_a_request_on_still_finds_it_everywhere(auth, client, data, world):
    health1 = signed_in(auth, "health1")
    with data():
        desk = Staff.get(Staff.username == "desk")
        person = make_citizen(full_name="نورة سالم المهندي", national_id=national_id(931), phone="+97455120031")
        req = make_request("health_care", actor=desk, citizen=person)
        workflow.accept(Staff.get_by_id(health1.id), req, 1)  # on to Compensation
        assert reload(req).department.code == "compensation"
    world = {**world, "acted": reload(req), "acted_citizen": person}
    assert every_path(client, world, "acted") == FOUND  # before issue 16: a 403 on the request page
    signed_in(auth, "health2")  # a colleague of the same department who did not act on it
    assert every_path(client, world, "acted") == HIDDEN
