"""Visitor queue (take-a-number): per-day numbers, concurrent kiosks and desks, transitions and timings, the board and
the day's figures, permissions, bad input, fragments; one walk in Chromium from the kiosk to the display, in both
languages."""
import datetime as dt
import subprocess
import threading

import pytest
from flask_babel import force_locale
from playwright.sync_api import expect

from intranet.db import database
from intranet.models import Request, VisitorTicket, utcnow
from intranet.models.tickets import SERVICES
from intranet.reception import tickets
from tests.browser import LiveServer, check_page, on_own_thread, sign_in, wait_until
from tests.conftest import csrf_token
from tests.factories import make_citizen, make_request, make_staff

MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def desk_staff(ctx):
    return make_staff("desk", "reception", "reception")


def _at(ticket, **times):
    """Set a ticket's times, as if the steps had happened then."""
    VisitorTicket.update(**times).where(VisitorTicket.id == ticket.id).execute()
    return VisitorTicket.get_by_id(ticket.id)


def test_numbers_run_per_day_and_service(desk_staff, monkeypatch):
    numbers = [tickets.issue_ticket(s).label for s in ("request_submission", "request_submission", "inquiry",
                                                       "request_submission", "payout_questions", "follow_up")]
    assert numbers == ["A-001", "A-002", "B-001", "A-003", "D-001", "C-001"]
    assert {t.day for t in VisitorTicket.select()} == {tickets.today()}
    tomorrow = tickets.today() + dt.timedelta(days=1)
    monkeypatch.setattr(tickets, "today", lambda: tomorrow)
    assert tickets.issue_ticket("request_submission").label == "A-001"  # a new day starts again at 1
    assert tickets.issue_ticket("request_submission").number == 2


def _all_at_once(app, work, *argument_lists):
    """Run work(*arguments) on a thread per argument list, each with its own connection; re-raise what failed."""
    errors = []

    def run(*arguments):
        try:
            with app.app_context(), database.connection_context():
                work(*arguments)
        except Exception as error:  # collected: reported below, on the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=arguments) for arguments in argument_lists]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors


def test_kiosks_issuing_at_once_never_share_a_number(app, desk_staff):
    issued = []
    _all_at_once(app, lambda: issued.extend(tickets.issue_ticket("inquiry").number for _ in range(8)), *[()] * 5)
    assert sorted(issued) == list(range(1, 41))


def test_two_desks_never_call_the_same_ticket(app, desk_staff):
    """Every desk presses call-next (then serves) as fast as it can, each thread with its own connection."""
    for i in range(40):
        tickets.issue_ticket(SERVICES[i % len(SERVICES)])
    staff = [make_staff(f"facilitator{i}", "reception", "reception") for i in range(6)]
    called = []

    def desk(person, label):
        while (ticket := tickets.call_next(person, label, SERVICES)) is not None:
            called.append((ticket.id, label))
            tickets.finish(person, tickets.start_serving(person, ticket))

    _all_at_once(app, desk, *[(person, str(n)) for n, person in enumerate(staff, start=1)])
    ids = [ticket_id for ticket_id, _ in called]
    assert len(ids) == len(set(ids)) == 40
    for ticket_id, label in called:
        ticket = VisitorTicket.get_by_id(ticket_id)
        assert (ticket.desk, ticket.status) == (label, "done")


def test_call_next_takes_the_oldest_of_the_desk_services(desk_staff):
    first_inquiry, payout, second_inquiry = map(tickets.issue_ticket, ("inquiry", "payout_questions", "inquiry"))
    assert tickets.call_next(desk_staff, "1", ["payout_questions"]).id == payout.id
    assert tickets.call_next(desk_staff, "2", ["inquiry", "follow_up"]).id == first_inquiry.id
    assert tickets.call_next(desk_staff, "3", ["follow_up"]) is None  # nobody waits for it
    with pytest.raises(tickets.TicketError) as busy:
        tickets.call_next(desk_staff, "2", ["inquiry"])  # desk 2 has not finished with B-001
    assert "B-001" in str(busy.value.message) and busy.value.field is None
    assert VisitorTicket.get_by_id(second_inquiry.id).status == "waiting"
    assert tickets.people_ahead(second_inquiry) == 0 and tickets.current_ticket("2").id == first_inquiry.id


@pytest.mark.parametrize("status, action, after", [
    ("called", "recall", "called"), ("called", "start", "serving"), ("called", "no_show", "no_show"),
    ("serving", "finish", "done"), ("waiting", "start", None), ("waiting", "finish", None),
    ("called", "finish", None), ("serving", "no_show", None), ("serving", "start", None), ("done", "recall", None),
    ("no_show", "start", None), ("done", "finish", None),
])
def test_transitions(desk_staff, status, action, after):
    ticket = _at(tickets.issue_ticket("inquiry"), status=status)
    assert (action in tickets.allowed_actions(ticket)) == (after is not None)
    if after is None:
        with pytest.raises(tickets.StaleTicket):
            tickets.act(desk_staff, ticket, action)
        assert VisitorTicket.get_by_id(ticket.id).status == status
    else:
        assert tickets.act(desk_staff, ticket, action).status == after


def test_times_recorded_and_the_day_figures(desk_staff, monkeypatch):
    start = utcnow().replace(microsecond=0) - dt.timedelta(hours=1)
    clock = {"now": start}
    monkeypatch.setattr(tickets, "utcnow", lambda: clock["now"])
    served, absent, waiting = (_at(tickets.issue_ticket(service), issued_at=start)
                               for service in ("inquiry", "inquiry", "follow_up"))

    clock["now"] = start + 4 * MINUTE
    called = tickets.call_next(desk_staff, "1", ["inquiry"])
    assert (called.id, called.called_by_id, called.waiting_time) == (served.id, desk_staff.id, 4 * MINUTE)
    clock["now"] = start + 5 * MINUTE
    recalled = tickets.recall(desk_staff, called)
    assert (recalled.recalled_at, recalled.waiting_time) == (clock["now"], 4 * MINUTE)  # waited until the first call
    clock["now"] = start + 6 * MINUTE
    serving = tickets.start_serving(desk_staff, recalled)
    clock["now"] = start + 13 * MINUTE
    done = tickets.finish(desk_staff, serving)
    assert (done.status, done.service_time) == ("done", 7 * MINUTE)

    clock["now"] = start + 16 * MINUTE
    gone = tickets.no_show(desk_staff, tickets.call_next(desk_staff, "1", ["inquiry"]))
    assert (gone.id, gone.status, gone.waiting_time, gone.service_time) == (absent.id, "no_show", 16 * MINUTE, None)

    figures = tickets.statistics()
    assert (figures.issued, figures.waiting, figures.served, figures.no_show) == (3, 1, 1, 1)
    assert (figures.average_wait, figures.average_service) == (10 * MINUTE, 7 * MINUTE)
    assert tickets.waiting_counts() == {"request_submission": 0, "inquiry": 0, "follow_up": 1, "payout_questions": 0}
    assert tickets.people_ahead(waiting) == 0


def test_board_shows_the_latest_call_first(desk_staff):
    first, second = tickets.issue_ticket("inquiry"), tickets.issue_ticket("follow_up")
    tickets.issue_ticket("follow_up")
    tickets.call_next(desk_staff, "1", ["inquiry"])
    tickets.call_next(desk_staff, "2", ["follow_up"])
    board = tickets.board()
    assert [(t.label, t.desk) for t in board.at_desks] == [("C-001", "2"), ("B-001", "1")]
    assert board.waiting["follow_up"] == 1
    tickets.recall(desk_staff, VisitorTicket.get_by_id(first.id))  # called again: on top once more
    assert [t.id for t in tickets.board().at_desks] == [first.id, second.id]


def test_ticket_links_to_the_citizen_and_the_requests_made_while_serving(desk_staff):
    ticket = tickets.issue_ticket("request_submission")
    citizen = make_citizen()
    tickets.link_citizen(ticket, citizen)
    req = make_request("inquiry", actor=desk_staff, citizen=citizen)
    Request.update(visitor_ticket=ticket.id).where(Request.id == req.id).execute()
    ticket = VisitorTicket.get_by_id(ticket.id)
    assert ticket.citizen_id == citizen.id and [r.id for r in ticket.requests] == [req.id]


def test_domain_refuses_bad_input_and_writes_nothing(desk_staff):
    clerk = make_staff("h1", "clerk", "health")
    with pytest.raises(tickets.TicketError) as unknown:
        tickets.issue_ticket("coffee")
    assert unknown.value.field == "service"
    waiting = tickets.issue_ticket("inquiry")
    for desk, services, field in (("99", ["inquiry"], "desk"), ("", ["inquiry"], "desk"), ("1", [], "services"),
                                  ("1", ["inquiry", "coffee"], "services")):
        with pytest.raises(tickets.TicketError) as refused:
            tickets.call_next(desk_staff, desk, services)
        assert refused.value.field == field
    with pytest.raises(tickets.NotAllowed):
        tickets.call_next(clerk, "1", ["inquiry"])
    with pytest.raises(tickets.TicketError):
        tickets.act(desk_staff, waiting, "vanish")
    assert [(t.id, t.status, t.desk) for t in VisitorTicket.select()] == [(waiting.id, "waiting", None)]


# --- HTTP ----------------------------------------------------------------------------------------------------

HTMX = {"HX-Request": "true"}


def test_a_clerk_cannot_call_tickets(ctx, auth, client):
    auth.login("health1")
    token = csrf_token(client)
    tickets.issue_ticket("inquiry")
    for path in ("/tickets/kiosk", "/tickets/desk", "/tickets/display", "/tickets/stats"):
        assert client.get(path).status_code == 403, path
    call = {"csrf_token": token, "desk": "1", "services": ["inquiry"]}
    assert client.post("/tickets/desk/call", data=call).status_code == 403
    assert client.post("/tickets/", data={"csrf_token": token, "service": "inquiry"}).status_code == 403
    assert [t.status for t in VisitorTicket.select()] == ["waiting"]


def test_signed_out_goes_to_sign_in(client):
    response = client.get("/tickets/display")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_kiosk_issues_and_shows_the_ticket(ctx, auth, client):
    auth.login("reception1")
    token = csrf_token(client, "/tickets/kiosk")
    response = client.post("/tickets/", data={"csrf_token": token, "service": "follow_up"})
    assert response.status_code == 303 and "source=kiosk" in response.headers["Location"]
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and "C-001" in page.text and "data-print-on-load" in page.text
    assert [t.label for t in VisitorTicket.select()] == ["C-001"]


def test_bad_input_is_refused_with_a_message_and_no_row(ctx, auth, client):
    auth.login("reception1")
    token = csrf_token(client, "/tickets/kiosk")
    response = client.post("/tickets/", data={"csrf_token": token, "service": "coffee"})
    with pytest.raises(tickets.TicketError) as refused, force_locale("ar"):
        tickets.issue_ticket("coffee")
    with force_locale("ar"):
        in_arabic = str(refused.value.message)
    assert in_arabic.startswith("اختر")  # the person's language: Arabic by default
    assert response.status_code == 422 and in_arabic in response.text and 'role="alert"' in response.text
    assert client.post("/tickets/", data={"service": "inquiry"}).status_code == 400  # no CSRF token
    assert VisitorTicket.select().count() == 0
    waiting = tickets.issue_ticket("inquiry")
    for data, error_id in (({"desk": "99", "services": ["inquiry"]}, "desk-number-error"),
                           ({"desk": "<b>1</b>", "services": ["inquiry"]}, "desk-number-error"),
                           ({"desk": "1"}, "desk-services-error"),
                           ({"desk": "1", "services": ["inquiry", "coffee"]}, "desk-services-error")):
        response = client.post("/tickets/desk/call", data={"csrf_token": token, **data}, headers=HTMX)
        assert response.status_code == 422 and f'id="{error_id}"' in response.text, data
        assert f'aria-describedby="{error_id}"' in response.text  # the message is tied to its field
    response = client.post(f"/tickets/{waiting.id}/act", data={"csrf_token": token, "action": "start"})
    assert response.status_code == 409 and 'role="alert"' in response.text  # waiting: not called yet
    assert client.post(f"/tickets/{waiting.id}/act", data={"csrf_token": token, "action": "x"}).status_code == 422
    assert client.post("/tickets/99999/act", data={"csrf_token": token, "action": "start"}).status_code == 404
    assert [(t.status, t.desk, t.called_at) for t in VisitorTicket.select()] == [("waiting", None, None)]


def test_desk_fragments_and_vary(ctx, auth, client):
    auth.login("reception1")
    token = csrf_token(client, "/tickets/desk")
    ticket = tickets.issue_ticket("inquiry")
    call = {"csrf_token": token, "desk": "4", "services": ["inquiry"]}
    called = client.post("/tickets/desk/call", data=call, headers=HTMX)
    assert called.status_code == 200 and called.text.lstrip().startswith('<section id="desk-panel"')
    assert "B-001" in called.text and "HX-Request" in called.headers["Vary"] and "<html" not in called.text
    assert 'id="flashes"' in called.text and 'id="ticket-stats"' in called.text  # out of band
    assert called.text.count('hx-swap-oob="true"') == 2
    page = client.get("/tickets/desk")  # the desk and its services are remembered
    assert "<html" in page.text and 'value="4" selected' in page.text and "B-001" in page.text

    board = client.get("/tickets/display", headers=HTMX)
    assert board.text.lstrip().startswith('<div id="ticket-board"') and 'hx-trigger="every 5s"' in board.text
    assert 'data-ticket="B-001"' in board.text and "<html" not in board.text and "HX-Request" in board.headers["Vary"]
    full = client.get("/tickets/display")
    assert "<html" in full.text and 'id="ticket-board"' in full.text and "HX-Request" in full.headers["Vary"]
    assert "<html" in client.get("/tickets/display", headers={**HTMX, "HX-History-Restore-Request": "true"}).text

    stats = client.get("/tickets/stats", headers=HTMX)
    assert stats.text.lstrip().startswith('<section id="ticket-stats"') and "hx-swap-oob" not in stats.text

    for action, status in (("recall", "called"), ("start", "serving"), ("finish", "done")):
        response = client.post(f"/tickets/{ticket.id}/act", data={"csrf_token": token, "action": action}, headers=HTMX)
        assert response.status_code == 200 and response.text.lstrip().startswith('<section id="desk-panel"'), action
        assert VisitorTicket.get_by_id(ticket.id).status == status
    plain = client.post("/tickets/desk/call", data=call)  # without htmx: back to the desk page
    assert plain.status_code == 303 and plain.headers["Location"].endswith("/tickets/desk")


# --- Chromium ---------------------------------------------------------------------------------------------------

def _words(app, lang):
    with app.test_request_context(), force_locale(lang):
        return {status: str(label) for status, label in tickets.STATUS_LABELS.items()}


def _take_ticket(kiosk, base, service, lang, tmp_path):
    """At the kiosk: one tap gives the ticket page; printed to PDF (80 mm wide, one page) it carries the number."""
    # the slip prints itself on load; Chromium refuses a second print while that one runs ("Page is already being
    # printed"), so the page's own print is counted, not performed, and the test then prints the slip to PDF itself
    kiosk.add_init_script("window.__prints = 0; window.print = function () { window.__prints += 1; };")
    kiosk.goto(f"{base}/tickets/kiosk")
    check_page(kiosk, lang)
    with kiosk.expect_navigation(url=lambda url: "/tickets/" in url and "source=kiosk" in url):
        kiosk.click(f"button[name=service][value={service}]")
    wait_until(kiosk, "window.__prints === 1")  # the kiosk asked for its slip exactly once
    check_page(kiosk, lang)
    label = kiosk.locator(".slip-number").inner_text().strip()
    kiosk.emulate_media(media="print")
    pdf = tmp_path / f"ticket-{label}.pdf"
    pdf.write_bytes(kiosk.pdf(prefer_css_page_size=True))
    kiosk.emulate_media(media="screen")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert label in text, text
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(info.split("Pages:")[1].split()[0])
    width = float(info.split("Page size:")[1].split()[0])
    assert pages == 1 and abs(width - 80 / 25.4 * 72) < 1, info  # one slip of an 80 mm roll
    return label


def _serve_at_desk(base, desk, display, label, service, lang, words, last_step):
    """The display counts the ticket as waiting; the desk calls it, the display shows it at desk 3; the desk
    serves it (or marks a no-show) and the display lets it go. The display is never reloaded: it polls."""
    expect(display.locator(f"#ticket-board [data-service={service}] .waiting-count")).to_have_text("1")
    desk.goto(f"{base}/tickets/desk")
    check_page(desk, lang)
    desk.select_option("#desk-number", "3")
    with desk.expect_response(lambda r: r.url.endswith("/tickets/desk/call")) as answer:
        desk.click("#desk-panel button.call-next")
    assert answer.value.status == 200, answer.value.text()
    panel = desk.locator("#desk-panel")
    expect(panel.locator(".big-number")).to_have_text(label)
    expect(panel.locator(".ticket-status")).to_have_text(words["called"])
    expect(desk.locator("#flashes")).to_contain_text(label)
    check_page(desk, lang)

    row = display.locator(f"#ticket-board tr[data-ticket='{label}']")
    expect(row.locator(".desk-number")).to_have_text("3")  # within a poll or two
    expect(display.locator("#ticket-board tr.latest")).to_have_attribute("data-ticket", label)
    check_page(display, lang)

    if last_step == "finish":
        panel.locator("button[name=action][value=start]").click()
        expect(panel.locator(".ticket-status")).to_have_text(words["serving"])
        check_page(desk, lang)
    with desk.expect_response(lambda r: r.url.endswith("/act")) as answer:
        panel.locator(f"button[name=action][value={last_step}]").click()
    assert answer.value.status == 200
    expect(panel.locator(".big-number")).to_have_count(0)
    figure = "served" if last_step == "finish" else "no_show"
    expect(desk.locator(f"#ticket-stats [data-figure={figure}]")).to_have_text("1")  # out of band
    check_page(desk, lang)
    expect(row).to_have_count(0)  # gone from the display at the next poll
    expect(display.locator(f"#ticket-board [data-service={service}] .waiting-count")).to_have_text("0")
    check_page(display, lang)


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_visitor_takes_a_ticket_the_desk_calls_it_the_display_shows_it(app, tmp_path):
    """reception1 runs the kiosk, the desk and the display in three tabs; first in Arabic, then in English."""
    with LiveServer(app) as server:
        base = server.url

        def walk(kiosk):  # the desk and the display are two more tabs of the same signed-in browser
            sign_in(kiosk, base, "reception1")
            desk, display = kiosk.context.new_page(), kiosk.context.new_page()
            display.goto(f"{base}/tickets/display")
            check_page(display, "ar")
            desk.goto(f"{base}/tickets/desk")

            label = _take_ticket(kiosk, base, "request_submission", "ar", tmp_path)
            assert label == "A-001"
            _serve_at_desk(base, desk, display, label, "request_submission", "ar", _words(app, "ar"), "finish")

            with desk.expect_navigation():  # the session speaks English from now on, in every tab
                desk.click("button[name=lang][value=en]")
            check_page(desk, "en")
            display.goto(f"{base}/tickets/display")
            check_page(display, "en")
            label = _take_ticket(kiosk, base, "inquiry", "en", tmp_path)
            assert label == "B-001"
            _serve_at_desk(base, desk, display, label, "inquiry", "en", _words(app, "en"), "no_show")

        on_own_thread(walk)
