"""What staff see of notifications: the messages on the request's timeline (statuses, masked recipients, one
query for the page), the desk's list of citizens to call and the record of the call, the clerk's new-items
badge, and the morning digests (contents against a seeded dataset, once per day)."""
import datetime as dt
import itertools
import logging
import re

import pytest
from flask_babel import force_locale, gettext

from intranet import workflow
from intranet.models import HistoryEntry, Notification, Request, RequestType, Staff, utcnow
from intranet.notify import digests, events
from intranet.notify import staff as follow_up
from jobs.digests import is_digest_time
from tests.conftest import csrf_token
from tests.factories import make_citizen, make_request, make_staff
from tests.history_guard import backdate

_keys = itertools.count(1)


def make_notification(req=None, entry=None, citizen=None, **overrides) -> Notification:
    """A citizen's message as the delivery job leaves it; `status` and the times as the test needs."""
    citizen = citizen or (req.citizen if req is not None else make_citizen())
    values = {"request": req.id if req is not None else None, "history": entry.id if entry is not None else None,
              "citizen": citizen.id, "event": "request_received", "channel": "sms", "language": "ar",
              "recipient": citizen.phone, "body": "text", "dedupe_key": f"test:{next(_keys)}", "status": "queued",
              "next_attempt_at": utcnow() + dt.timedelta(hours=1)}  # never picked up by a delivery job mid-test
    values.update(overrides)
    return Notification.create(**values)


def failed(req, failed_at, error="gateway said: unknown subscriber", **overrides) -> Notification:
    return make_notification(req, first_entry(req), status="failed", failed_at=failed_at, attempts=10,
                             last_error=error, **overrides)


def first_entry(req) -> HistoryEntry:
    return HistoryEntry.select().where(HistoryEntry.request == req.id).order_by(HistoryEntry.id).first()


def text(app, message, lang="ar", **values) -> str:
    """What the page says for `message` in `lang` (English until the Arabic catalogue has it)."""
    with app.test_request_context(), force_locale(lang):
        return gettext(message, **values)


def notifications_html(html) -> str:
    return "".join(re.findall(r'<ul class="notifications">.*?</ul>', html, re.S))


def sign_in(client, auth, username):
    assert auth.login(username).status_code == 302
    return Staff.get(Staff.username == username)


# --- the request's timeline ----------------------------------------------------------------------------------

def test_masked_recipient(ctx):
    assert follow_up.masked_recipient("+97455123456", "sms") == "+974 •••• 3456"
    assert follow_up.masked_recipient("55123456", "sms") == "+974 •••• 3456"  # the default region's code
    assert follow_up.masked_recipient("mona@example.qa", "email") == "m•••@example.qa"
    assert "123" not in follow_up.masked_recipient("not a number 123", "sms").replace("•", "")[:-4]


def test_timeline_shows_each_message_with_its_status(app, client, auth):
    with app.app_context():
        req = make_request("health_care", citizen=make_citizen(phone="+97455123456", email="mona@example.qa"))
        entry = first_entry(req)
        sent = utcnow() - dt.timedelta(minutes=5)
        make_notification(req, entry, status="delivered", sent_at=sent, delivered_at=sent + dt.timedelta(seconds=9),
                          attempts=1)
        make_notification(req, entry, channel="email", recipient="mona@example.qa", status="failed", attempts=10,
                          failed_at=sent, last_error="550 mailbox unavailable")
        make_notification(req, entry, status="queued", attempts=2, last_error="gateway timed out",
                          dedupe_key="test:retrying")
        make_notification(req, entry, status="sending", attempts=1, dedupe_key="test:sending")
    sign_in(client, auth, "health1")
    html = client.get(f"/requests/{req.tracking_number}").text
    shown = notifications_html(html)
    assert shown, "no notifications beside the history"
    assert "+974 •••• 3456" in shown and "+97455123456" not in shown
    assert "m•••@example.qa" in shown and "mona@example.qa" not in shown
    for status in ("Delivered", "Failed", "Queued", "Sending"):
        assert f'<strong class="notification-status">{text(app, status)}</strong>' in shown
    assert text(app, "SMS") in shown and text(app, "E-mail") in shown
    assert "550 mailbox unavailable" in shown and "gateway timed out" in shown
    assert text(app, "attempts: %(num)d", num=10) in shown and text(app, "attempts: %(num)d", num=2) in shown
    assert text(app, "Delivered at") in shown and text(app, "Not yet followed up by the reception desk.") in shown
    # one list item per message, in the order written (after those the workflow queued itself on submission)
    items = re.findall(r'<li class="notification notification-(\w+)">', shown)
    assert items[-4:] == ["delivered", "failed", "queued", "sending"]


def test_timeline_loads_the_messages_in_one_query(app, client, auth, caplog):
    """The page costs the same number of queries whatever the number of history entries and messages."""
    with app.test_request_context():
        clerk = make_staff("clerkx", "clerk", "health")
        small = make_request("health_care")
        make_notification(small, first_entry(small))
        big = make_request("health_care")
        for n in range(5):
            fresh = Request.get_by_id(big.id)
            workflow.comment(clerk, fresh, fresh.version, f"note {n}")
        for entry in HistoryEntry.select().where(HistoryEntry.request == big.id):
            make_notification(big, entry)
            make_notification(big, entry, channel="email", recipient="x@example.qa")
    sign_in(client, auth, "supervisor1")

    def queries(req):
        client.get(f"/requests/{req.tracking_number}")  # warm: reference caches, the session's staff row
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="peewee"):
            html = client.get(f"/requests/{req.tracking_number}").text
        return len([r for r in caplog.records if r.name == "peewee"]), html

    few, _ = queries(small)
    many, html = queries(big)
    assert notifications_html(html).count("<li") >= 12  # ours, and those the workflow queued itself
    assert many == few


# --- citizens to call ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("username, status", [("reception1", 200), ("supervisor1", 200), ("admin1", 200),
                                              ("health1", 403), ("comp1", 403)])
def test_unreachable_list_by_role(client, auth, username, status):
    sign_in(client, auth, username)
    assert client.get("/reception/unreachable/").status_code == status
    token = csrf_token(client, "/")
    assert client.post("/reception/unreachable/1/resolve",
                       data={"note": "x", "upto": 1, "csrf_token": token}).status_code in (
        (303, 404) if status == 200 else (403,))


def test_unreachable_list_needs_sign_in(client):
    answer = client.get("/reception/unreachable/")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


@pytest.fixture
def unreachable(app):
    """Three citizens to call (newest failure: Huda, then Ali with two failures, then Sara); messages that are
    not on the list: a resolved failure, a queued one, a staff e-mail that failed."""
    now = utcnow()
    with app.app_context():
        people = {}
        for name, minutes in (("Sara", 300), ("Ali", 60), ("Huda", 10)):
            citizen = make_citizen(full_name=name)
            req = make_request("health_care", citizen=citizen)
            people[name] = {"citizen": citizen, "request": req, "failures": [failed(req, now - dt.timedelta(
                minutes=minutes))]}
        ali = people["Ali"]
        other = make_request("health_care", citizen=ali["citizen"])
        ali["failures"].append(failed(other, now - dt.timedelta(minutes=120), error="number out of service"))
        done = make_citizen(full_name="Reached")
        failed(make_request("health_care", citizen=done), now, resolved_at=now, resolution_note="spoke to him")
        make_notification(make_request("health_care", citizen=make_citizen(full_name="Waiting")))
        clerk = make_staff("mailed", "clerk", "health")
        Notification.create(staff=clerk.id, event="clerk_digest", channel="email", language="ar", recipient="a@b.qa",
                            body="digest", dedupe_key="test:staff", status="failed", failed_at=now)
    return people


def names_in(html):
    return re.findall(r'<h2 id="citizen-\d+-name">([^<]+)</h2>', html)


def test_unreachable_list_shows_citizens_newest_failure_first(client, auth, unreachable, monkeypatch):
    sign_in(client, auth, "reception1")
    html = client.get("/reception/unreachable/").text
    assert names_in(html) == ["Huda", "Ali", "Sara"]
    ali = unreachable["Ali"]
    card = html[html.index(f'id="unreachable-citizen-{ali["citizen"].id}"'):]
    card = card[:card.index("</li>")]
    for item in ali["failures"]:
        number = item.request.tracking_number
        assert f'href="/requests/{number}"' in card
        assert item.last_error in card
    assert ali["citizen"].phone in card and text(client.application, "Called / resolved") in card

    monkeypatch.setattr("intranet.notify.unreachable_views.PAGE_SIZE", 2)
    first = client.get("/reception/unreachable/").text
    assert names_in(first) == ["Huda", "Ali"]
    after = re.search(r'href="/reception/unreachable/\?after=(\d+)"', first).group(1)
    second = client.get(f"/reception/unreachable/?after={after}").text
    assert names_in(second) == ["Sara"] and 'href="/reception/unreachable/?after=' not in second


def _resolved_columns():
    return {n.id: (n.resolved_at is not None, n.resolved_by_id, n.resolution_note)
            for n in Notification.select().order_by(Notification.id)}


def _everything_else():
    fields = [f for f in Notification._meta.sorted_fields
              if f.name not in ("resolved_at", "resolved_by", "resolution_note")]
    return (list(Notification.select(*fields).order_by(Notification.id).tuples()),
            HistoryEntry.select().count(), Request.select().count())


def test_recording_a_call_resolves_all_that_citizen_saw(app, client, auth, unreachable):
    me = sign_in(client, auth, "reception1")
    ali = unreachable["Ali"]
    with app.app_context():
        before = _resolved_columns()
        untouched = _everything_else()
    head = max(ali["failures"], key=lambda n: n.failed_at)
    answer = client.post(f"/reception/unreachable/{ali['citizen'].id}/resolve",
                         data={"note": "  Reached his brother; new number to follow  ", "upto": head.id,
                               "csrf_token": csrf_token(client, "/reception/unreachable/")})
    assert answer.status_code == 303
    with app.app_context():
        after = _resolved_columns()
        assert _everything_else() == untouched
    changed = {key for key in after if after[key] != before[key]}
    assert changed == {n.id for n in ali["failures"]}
    assert all(after[key] == (True, me.id, "Reached his brother; new number to follow") for key in changed)

    page = client.get("/reception/unreachable/").text
    assert names_in(page) == ["Huda", "Sara"]
    assert text(app, "Call recorded by %(who)s at %(when)s.", who=me.full_name, when="")[:20] in page
    timeline = notifications_html(client.get(f"/requests/{ali['request'].tracking_number}").text)
    assert "Reached his brother" in timeline and me.full_name in timeline


def test_recording_a_call_needs_a_note(app, client, auth, unreachable):
    sign_in(client, auth, "reception1")
    huda = unreachable["Huda"]
    with app.app_context():
        before = (_resolved_columns(), _everything_else())
    token = csrf_token(client, "/reception/unreachable/")
    for headers in ({}, {"HX-Request": "true"}):
        answer = client.post(f"/reception/unreachable/{huda['citizen'].id}/resolve", headers=headers,
                             data={"note": "   ", "upto": huda["failures"][0].id, "csrf_token": token})
        assert answer.status_code == 422
        message = text(app, "Write what was said on the call: the next person to call reads it.")
        assert message in answer.text and 'aria-invalid="true"' in answer.text
    assert "<html" not in answer.text  # the card alone
    with app.app_context():
        assert (_resolved_columns(), _everything_else()) == before


def test_a_failure_after_the_page_was_read_stays_on_the_list(app, client, auth, unreachable):
    sign_in(client, auth, "reception1")
    sara = unreachable["Sara"]
    seen = sara["failures"][0]
    with app.app_context():
        later = failed(sara["request"], utcnow(), error="arrived while the desk was calling")
    answer = client.post(f"/reception/unreachable/{sara['citizen'].id}/resolve", headers={"HX-Request": "true"},
                         data={"note": "called", "upto": seen.id,
                               "csrf_token": csrf_token(client, "/reception/unreachable/")})
    assert answer.status_code == 200
    assert "arrived while the desk was calling" in answer.text  # the card again, with what is left
    with app.app_context():
        assert Notification.get_by_id(seen.id).resolved_at is not None
        assert Notification.get_by_id(later.id).resolved_at is None


def test_recording_a_call_from_the_page_swaps_the_card(app, client, auth, unreachable):
    me = sign_in(client, auth, "reception1")
    huda = unreachable["Huda"]
    answer = client.post(f"/reception/unreachable/{huda['citizen'].id}/resolve", headers={"HX-Request": "true"},
                         data={"note": "called", "upto": huda["failures"][0].id,
                               "csrf_token": csrf_token(client, "/reception/unreachable/")})
    assert answer.status_code == 200
    assert f'<li id="unreachable-citizen-{huda["citizen"].id}" class="card">' in answer.text
    assert me.full_name in answer.text and 'hx-swap-oob="true"' in answer.text
    # someone else already called: nothing changes, and the page says who did it
    again = client.post(f"/reception/unreachable/{huda['citizen'].id}/resolve", headers={"HX-Request": "true"},
                        data={"note": "called too", "upto": huda["failures"][0].id,
                              "csrf_token": csrf_token(client, "/reception/unreachable/")})
    assert again.status_code == 200 and "flash-info" in again.text and me.full_name in again.text
    with app.app_context():
        assert Notification.get_by_id(huda["failures"][0].id).resolution_note == "called"


# --- the clerk's badge ---------------------------------------------------------------------------------------

def badge(client) -> int:
    html = client.get("/queue-badge", headers={"HX-Request": "true"}).text
    assert 'id="queue-badge"' in html and 'hx-trigger="every 60s"' in html
    found = re.search(r'<span aria-hidden="true">(\d+)</span>', html)
    if found is None:
        assert " hidden" in html
        return 0
    assert text(client.application, "New items: %(num)d", num=int(found.group(1))) in html
    return int(found.group(1))


def test_badge_counts_new_unassigned_items_since_the_last_visit(app, client, auth):
    me = sign_in(client, auth, "health1")
    assert 'id="queue-badge"' in client.get("/", follow_redirects=True).text  # on every page, by the Queues link
    earlier = utcnow() - dt.timedelta(hours=2)
    with app.test_request_context():
        old = make_request("health_care")  # came in two hours ago (history ids grow with time: made first)
        backdate(HistoryEntry.request == old.id, earlier)
        new, taken, returned, commented = (make_request("health_care") for _ in range(4))
        make_request("compensation")  # another department's
        closed = make_request("health_care")
        Request.update(assignee=me.id).where(Request.id == taken.id).execute()
        Request.update(status="returned").where(Request.id == returned.id).execute()
        Request.update(status="completed", closed_at=utcnow()).where(Request.id == closed.id).execute()
        Staff.update(queue_seen_at=None, last_login_at=earlier - dt.timedelta(hours=1)).where(
            Staff.id == me.id).execute()
    assert badge(client) == 3  # never opened the queue: all that came since signing in (old, new, commented)
    with app.app_context():
        Staff.update(queue_seen_at=earlier + dt.timedelta(hours=1)).where(Staff.id == me.id).execute()
    assert badge(client) == 2  # only those that came in since

    assert client.get("/queues/health").status_code == 200  # opening the queue resets the count
    assert badge(client) == 0
    with app.test_request_context():
        fresh = Request.get_by_id(commented.id)
        workflow.comment(make_staff("other", "clerk", "health"), fresh, fresh.version, "a note is not news")
        assert badge(client) == 0
        make_request("health_care")
    assert badge(client) == 1
    client.get("/queues/health", headers={"HX-Request": "true"})  # a filter or a page of the list is not a visit
    assert badge(client) == 1


def test_badge_is_for_clerks(client, auth):
    sign_in(client, auth, "supervisor1")
    assert 'id="queue-badge"' not in client.get("/", follow_redirects=True).text
    assert client.get("/queue-badge").status_code == 404


# --- morning digests -----------------------------------------------------------------------------------------

NOW = dt.datetime(2025, 3, 10, 3, 30)  # 06:30 in Doha
TODAY = dt.date(2025, 3, 10)


@pytest.fixture
def digest_data(ctx, monkeypatch):
    """Health: Amal holds r1 (3 days left), r2 (2 days late), r3 (20 days left), r6 (late but paused), r7 (late,
    closed); Badr holds r5 (1 day late); r4 is unassigned (1 day left). Compensation: r8 unassigned, late.
    Hind (supervisor of health), Sami (supervisor of every department); Nada (no e-mail), Omar (compensation)."""
    staff = {}
    for name, role, dept, email in (("amal", "clerk", "health", True), ("badr", "clerk", "health", True),
                                    ("nada", "clerk", "health", False), ("omar", "clerk", "compensation", True),
                                    ("hind", "supervisor", "health", True), ("sami", "supervisor", None, True),
                                    ("zaid", "clerk", "retirement", True)):
        staff[name] = make_staff(name, role, dept)
        if email:
            Staff.update(email=f"{name}@diwan.example").where(Staff.id == staff[name].id).execute()
            staff[name] = Staff.get_by_id(staff[name].id)
    days = {"r1": 3, "r2": -2, "r3": 20, "r4": 1, "r5": -1, "r6": -5, "r7": -9, "r8": -3}
    holder = {"r1": "amal", "r2": "amal", "r3": "amal", "r5": "badr", "r6": "amal", "r7": "amal"}
    reqs = {}
    for key, left in days.items():
        req = make_request("compensation" if key == "r8" else "health_care")
        changes = {"due_at": NOW + dt.timedelta(days=left),
                   "assignee": staff[holder[key]].id if key in holder else None}
        if key == "r6":
            changes.update(status="awaiting_citizen", paused_at=NOW)
        if key == "r7":
            changes.update(status="completed", closed_at=NOW)
        Request.update(changes).where(Request.id == req.id).execute()
        reqs[key] = req.tracking_number
    queued = []
    real = events.queue_staff_email

    def recording(staff_member, event, language, context, dedupe_key):
        queued.append((staff_member.username, event, language, context, dedupe_key))
        return real(staff_member, event, language, context, dedupe_key)

    monkeypatch.setattr(events, "queue_staff_email", recording)
    return {"staff": staff, "reqs": reqs, "queued": queued}


def _numbers(items: str, reqs) -> list:
    return [key for line in items.splitlines() for key, number in reqs.items() if number in line]


def test_digests_hold_the_items_at_risk_and_overdue(digest_data):
    reqs = digest_data["reqs"]
    assert digests.send_all(TODAY, now=NOW) == {"clerk_digest": 3, "department_digest": 2}
    got = {user: (event, context, key) for user, event, _lang, context, key in digest_data["queued"]}
    assert set(got) == {"amal", "badr", "omar", "hind", "sami"}  # nada has no e-mail; zaid has nothing at risk
    expected = {  # (event, at risk, overdue, items in order of due date)
        "amal": ("clerk_digest", 2, 1, ["r2", "r4", "r1"]),
        "badr": ("clerk_digest", 1, 1, ["r5", "r4"]),
        "omar": ("clerk_digest", 0, 1, ["r8"]),
        "hind": ("department_digest", 2, 2, ["r2", "r5", "r4", "r1"]),
        "sami": ("department_digest", 2, 3, ["r8", "r2", "r5", "r4", "r1"]),
    }
    for user, (event, at_risk, overdue, items) in expected.items():
        got_event, context, key = got[user]
        assert got_event == event and key == f"{event}:{digest_data['staff'][user].id}:2025-03-10"
        assert (context["at_risk_count"], context["overdue_count"]) == (at_risk, overdue), user
        assert _numbers(context["items"], reqs) == items, user
        assert context["staff_name"] == user.title() and context["date"]
    assert "Amal" in got["hind"][1]["items"] and "Badr" in got["hind"][1]["items"]  # who holds each
    rows = Notification.select().where(Notification.event.in_(("clerk_digest", "department_digest")))
    assert {(n.staff.username, n.channel, n.language, n.recipient) for n in rows} == {
        (u, "email", "ar", f"{u}@diwan.example") for u in expected}
    amal = next(n for n in rows if n.staff.username == "amal")
    assert reqs["r2"] in amal.body and reqs["r3"] not in amal.body and "Amal" in amal.body


def test_digests_are_queued_once_a_day(digest_data):
    digests.send_all(TODAY, now=NOW)
    count = Notification.select().count()
    assert digests.send_all(TODAY, now=NOW + dt.timedelta(minutes=20)) == {"clerk_digest": 0,
                                                                           "department_digest": 0}
    assert Notification.select().count() == count
    assert digests.send_all(TODAY + dt.timedelta(days=1), now=NOW + dt.timedelta(days=1))["clerk_digest"] == 3


def test_a_long_digest_is_cut_with_the_number_left(digest_data, monkeypatch):
    monkeypatch.setattr(digests, "MAX_LINES", 2)
    digests.send_all(TODAY, now=NOW)
    sami = next(c for user, _e, _l, c, _k in digest_data["queued"] if user == "sami")
    lines = sami["items"].splitlines()
    assert len(lines) == 3 and _numbers("\n".join(lines[:2]), digest_data["reqs"]) == ["r8", "r2"]
    with force_locale("ar"):
        assert lines[2] == gettext("… and %(num)d more", num=3)


@pytest.mark.parametrize("utc_time, digest_time, zone, expected", [
    (dt.datetime(2025, 3, 10, 3, 30), "06:30", "Asia/Qatar", True),
    (dt.datetime(2025, 3, 10, 6, 30), "06:30", "Asia/Qatar", False),
    (dt.datetime(2025, 3, 10, 3, 31), "06:30", "Asia/Qatar", False),
    (dt.datetime(2025, 7, 1, 5, 30), "06:30", "Europe/London", True),  # summer time
    (dt.datetime(2025, 1, 15, 6, 30), "06:30", "Europe/London", True),
])
def test_digest_time_is_local(utc_time, digest_time, zone, expected):
    assert is_digest_time(utc_time, digest_time, zone) is expected


def test_badge_counts_inquiries_routed_or_transferred_into_the_department(app, client, auth):
    """An inquiry routed to Retirement by its subject, or transferred there, is new in Retirement's queue (its stage
    is Citizens Affairs': the badge looked for the department's stages only)."""
    from intranet.models import Department, InquirySubject, RequestType

    me = sign_in(client, auth, "pension1")
    with app.test_request_context():
        Staff.update(queue_seen_at=utcnow() - dt.timedelta(minutes=5)).where(Staff.id == me.id).execute()
        desk = make_staff("desk", "reception", "reception")
        inquiry = RequestType.get(RequestType.code == "inquiry")
        workflow.submit(desk, make_citizen(), inquiry, "walk_in", "سؤال",
                        inquiry_subject=InquirySubject.get(InquirySubject.code == "pension"))
        asked = workflow.submit(desk, make_citizen(), inquiry, "walk_in", "سؤال آخر").request
        workflow.submit(desk, make_citizen(), inquiry, "walk_in", "سؤال ثالث")  # stays with Citizens Affairs
    assert badge(client) == 1
    with app.test_request_context():
        workflow.transfer(make_staff("z1", "clerk", "citizens"), asked, asked.version,
                          Department.get(Department.code == "retirement"), "من اختصاص التقاعد")
    assert badge(client) == 2


def test_a_queue_view_writes_its_mark_only_when_history_was_written_since(app, client, auth):
    """Issue 21: opening the queue wrote the clerk's mark on every view (on SQLite each write makes every other
    connection read the database again). Now only when history was written after the mark: the badge counts from
    the view all the same."""
    me = sign_in(client, auth, "health1")
    with app.test_request_context():
        desk = make_staff("desk", "reception", "reception")
        workflow.submit(desk, make_citizen(), RequestType.get(RequestType.code == "health_care"), "walk_in", "طلب")
    assert client.get("/queues/health").status_code == 200
    marked = Staff.get_by_id(me.id).queue_seen_at
    assert marked is not None and badge(client) == 0
    assert client.get("/queues/health").status_code == 200
    assert Staff.get_by_id(me.id).queue_seen_at == marked  # nothing written since: nothing to write
    with app.test_request_context():
        workflow.submit(desk, make_citizen(), RequestType.get(RequestType.code == "health_care"), "walk_in", "آخر")
    assert badge(client) == 1
    assert client.get("/queues/health").status_code == 200
    assert Staff.get_by_id(me.id).queue_seen_at > marked and badge(client) == 0
