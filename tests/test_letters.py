"""Letters to ministries: the outgoing register (unique numbers, also under concurrency), drafting, sending and
replies through the workflow with their history, who may do what, the printed letter read back from its PDF, the
list of letters awaiting a reply with its overdue days, and bad input refused in the person's language."""
import datetime as dt
import io
import re
import subprocess
import threading
import unicodedata

import pytest

from intranet import db, workflow
from intranet.letters import printing, register, service
from intranet.models import Attachment, HistoryEntry, Request
from intranet.models.letters import LetterReply, LetterSequence, MinistryLetter
from intranet.stats.figures import local_today
from tests.conftest import csrf_token
from tests.factories import PDF, make_request, make_staff, upload

MINISTRY = "وزارة الصحة العامة"
SUBJECT = "طلب علاج المواطن في الخارج"
BODY = "نرجو التكرم بالموافقة على علاج المواطن المذكور في الخارج،\nمع إرفاق التقارير الطبية اللازمة."
BIDI = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def letter_request(**data):
    return make_request("ministry_letter", data={"ministry": MINISTRY, "letter_subject": SUBJECT, **data})


@pytest.fixture
def clerk(ctx):
    return make_staff("citizens-clerk", "clerk", "citizens")


def drafted(clerk, req=None):
    req = req or letter_request()
    return req, workflow.draft_letter(clerk, req, None, MINISTRY, SUBJECT, BODY)


def sent(clerk, req=None, reply_due=None):
    req, letter = drafted(clerk, req)
    return req, workflow.send_letter(clerk, req, letter.version, reply_due)


# --- the outgoing register ------------------------------------------------------------------------------------

def test_references_follow_each_other_per_year_and_a_rolled_back_one_is_given_again(ctx):
    with db.transaction():
        assert register.next_reference(2026) == "OUT/2026/000001"
        assert register.next_reference(2026) == "OUT/2026/000002"
        assert register.next_reference(2027) == "OUT/2027/000001"
    with pytest.raises(RuntimeError), db.transaction():
        assert register.next_reference(2026) == "OUT/2026/000003"
        raise RuntimeError("the letter was not sent after all")
    with db.transaction():
        assert register.next_reference(2026) == "OUT/2026/000003"  # no gap in the register


def test_two_threads_sending_at_once_never_share_a_number(app):
    taken, failures = [], []
    start = threading.Barrier(2)

    def sender():
        try:
            with app.app_context(), db.database.connection_context():
                start.wait(timeout=10)
                for _ in range(25):
                    with db.transaction():
                        taken.append(register.next_reference(2026))
        except Exception as error:  # noqa: BLE001  reported below
            failures.append(error)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert sorted(taken) == [f"OUT/2026/{n:06d}" for n in range(1, 51)]
    with app.app_context(), db.database.connection_context():
        assert LetterSequence.get_by_id(2026).last_value == 50


# --- the letter's life through the workflow ---------------------------------------------------------------------

def test_draft_send_and_reply_each_write_history_then_the_request_is_completed(clerk):
    req, letter = drafted(clerk)
    assert (letter.status, letter.reference, letter.body, letter.drafted_by_id) == ("draft", None, BODY, clerk.id)
    corrected = workflow.draft_letter(clerk, req, letter.version, MINISTRY, SUBJECT, BODY + "\nوتفضلوا بقبول الاحترام")
    assert corrected.version == letter.version + 1 and corrected.body.endswith("الاحترام")

    today = local_today()
    letter = workflow.send_letter(clerk, req, corrected.version)
    assert letter.status == "sent" and letter.reference == f"OUT/{today.year}/000001"
    assert letter.sent_on == today and letter.reply_due == today + dt.timedelta(days=30)

    reply = workflow.record_letter_reply(clerk, req, today, "  م ص/45 ", "وافقت الوزارة على العلاج", upload())
    letter = MinistryLetter.get_by_id(letter.id)
    assert letter.status == "replied" and reply.reference == "م ص/45"
    assert Attachment.get_by_id(reply.attachment_id).request_id == req.id

    history = list(HistoryEntry.select().where(HistoryEntry.request == req.id).order_by(HistoryEntry.id))
    assert [h.action for h in history] == ["submit", "letter_draft", "letter_draft", "letter_sent", "letter_reply"]
    assert all(h.actor_id == clerk.id and h.to_status == "open" for h in history[1:])
    assert history[3].comment == letter.reference and history[3].info["reply_due"] == letter.reply_due.isoformat()
    assert history[4].comment.startswith("م ص/45")

    done = workflow.accept(clerk, req, Request.get_by_id(req.id).version, "answered by the ministry")
    assert done.request.status == "completed"


def test_the_clerk_may_set_the_day_the_reply_is_awaited_within_a_year(clerk):
    today = local_today()
    _, letter = sent(clerk, reply_due=today + dt.timedelta(days=10))
    assert letter.reply_due == today + dt.timedelta(days=10)
    for wrong in (today, today + dt.timedelta(days=400)):
        req, draft = drafted(clerk)
        with pytest.raises(workflow.WorkflowError):
            workflow.send_letter(clerk, req, draft.version, wrong)
        assert MinistryLetter.get_by_id(draft.id).status == "draft"


def test_who_may_write_send_and_answer_a_letter(clerk):
    req = letter_request()
    for outsider in (make_staff("health-clerk", "clerk", "health"), make_staff("desk2", "reception", "reception"),
                     make_staff("admin2", "admin", None)):
        with pytest.raises(workflow.NotAllowed):
            workflow.draft_letter(outsider, req, None, MINISTRY, SUBJECT, BODY)
    supervisor = make_staff("sup", "supervisor", None)
    letter = workflow.draft_letter(supervisor, req, None, MINISTRY, SUBJECT, BODY)
    with pytest.raises(workflow.NotAllowed):  # no reply to a letter not sent
        workflow.record_letter_reply(clerk, req, local_today(), "1", "x")
    with pytest.raises(workflow.StaleRequest):  # the supervisor's draft was changed meanwhile
        workflow.draft_letter(clerk, req, None, MINISTRY, SUBJECT, BODY)
    workflow.send_letter(clerk, req, letter.version)
    with pytest.raises(workflow.NotAllowed):  # a letter sent is not edited any more
        workflow.draft_letter(clerk, req, letter.version + 1, MINISTRY, SUBJECT, "changed")
    with pytest.raises(workflow.NotAllowed):  # nor sent twice
        workflow.send_letter(clerk, req, letter.version + 1)
    other_type = make_request("inquiry")
    with pytest.raises(workflow.NotAllowed):
        workflow.draft_letter(clerk, other_type, None, MINISTRY, SUBJECT, BODY)
    assert MinistryLetter.select().count() == 1 and LetterReply.select().count() == 0


def test_a_stale_version_of_the_draft_is_refused_and_changes_nothing(clerk):
    req, letter = drafted(clerk)
    workflow.draft_letter(clerk, req, letter.version, MINISTRY, SUBJECT, "first edit")
    with pytest.raises(workflow.StaleRequest):
        workflow.draft_letter(clerk, req, letter.version, MINISTRY, SUBJECT, "second edit on the old page")
    with pytest.raises(workflow.StaleRequest):
        workflow.send_letter(clerk, req, letter.version)
    assert MinistryLetter.get_by_id(letter.id).body == "first edit"


# --- the printed letter ----------------------------------------------------------------------------------------

def pdf_text(body: bytes, tmp_path) -> str:
    path = tmp_path / "letter.pdf"
    path.write_bytes(body)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True)
    return unicodedata.normalize("NFKC", out.stdout).translate(BIDI)


def arabic_in(word: str, text: str) -> bool:
    squeezed = "".join(text.split())
    target = "".join(unicodedata.normalize("NFKC", word).split())
    return target in squeezed or target[::-1] in squeezed


def test_the_printed_letter_in_arabic_and_english(clerk, tmp_path):
    _, letter = sent(clerk)
    body = printing.render_pdf(letter, "ar")
    assert body[:5] == b"%PDF-"
    text = pdf_text(body, tmp_path)
    assert letter.reference in text
    for words in ("ديوان شؤون المواطنين", MINISTRY, SUBJECT, "المرجع", "التوقيع", "المواطن المذكور"):
        assert arabic_in(words, text), words
    english = pdf_text(printing.render_pdf(letter, "en"), tmp_path)
    for words in ("Diwan of Citizens Affairs", "Outgoing letter", "Reference", letter.reference, "Stamp"):
        assert words in english, words
    assert arabic_in(MINISTRY, english)


def test_the_letter_is_served_as_a_pdf_to_who_may_see_the_request(auth, client, data, tmp_path):
    with data():
        clerk = make_staff("citizens-clerk", "clerk", "citizens")
        _, letter = sent(clerk)
    auth.login("citizens1")
    response = client.get(f"/letters/{letter.id}/letter.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "inline" in response.headers["Content-Disposition"] and "OUT-" in response.headers["Content-Disposition"]
    assert letter.reference in pdf_text(response.data, tmp_path)
    auth.logout()
    auth.login("health1")
    assert client.get(f"/letters/{letter.id}/letter.pdf").status_code == 403
    assert client.get("/letters/999999/letter.pdf").status_code == 404


# --- the list of letters awaiting a reply ------------------------------------------------------------------------

def backdate_sent(letter, days_ago: int, wait: int):
    """The letter as if it was sent `days_ago` and its reply awaited `wait` days after."""
    sent_on = local_today() - dt.timedelta(days=days_ago)
    MinistryLetter.update(sent_on=sent_on, reply_due=sent_on + dt.timedelta(days=wait)).where(
        MinistryLetter.id == letter.id).execute()
    return MinistryLetter.get_by_id(letter.id)


def test_awaiting_reply_lists_letters_past_their_day_oldest_first_with_the_days_overdue(clerk):
    letters = {}
    for name, days_ago, wait in (("late5", 35, 30), ("late20", 50, 30), ("due_today", 30, 30), ("not_yet", 3, 30),
                                 ("late1", 31, 30)):
        letters[name] = backdate_sent(sent(clerk, letter_request(ministry=name))[1], days_ago, wait)
    _, answered = sent(clerk)
    backdate_sent(answered, 60, 30)
    workflow.record_letter_reply(clerk, answered.request, local_today(), "r1", "answered")
    _, draft_only = drafted(clerk)

    rows, next_after = service.awaiting_reply(clerk)
    assert [row.letter.id for row in rows] == [letters[n].id for n in ("late20", "late5", "late1")]
    assert [row.days_overdue for row in rows] == [20, 5, 1] and next_after is None
    assert rows[0].tracking_number == letters["late20"].request.tracking_number
    assert service.days_overdue(local_today() + dt.timedelta(days=3), local_today()) == 0  # never negative

    first, after = service.awaiting_reply(clerk, size=2)
    second, last = service.awaiting_reply(clerk, size=2, after=after)
    assert [r.letter.id for r in first + second] == [r.letter.id for r in rows] and last is None

    supervisor = make_staff("sup", "supervisor", None)
    assert len(service.awaiting_reply(supervisor)[0]) == 3
    health = make_staff("health-clerk", "clerk", "health")
    assert service.awaiting_reply(health)[0] == []
    # a clerk cannot widen the list to another department by asking for it
    assert service.awaiting_reply(health, department_id=clerk.department_id)[0] == []
    assert len(service.awaiting_reply(supervisor, department_id=clerk.department_id)[0]) == 3
    assert service.awaiting_reply(supervisor, department_id=health.department_id)[0] == []
    assert MINISTRY in service.ministries_awaiting(clerk)
    assert [r.letter.id for r in service.awaiting_reply(clerk, ministry=MINISTRY)[0]] == \
        [r.letter.id for r in rows]
    assert service.awaiting_reply(clerk, ministry="وزارة أخرى")[0] == []


def test_the_list_page_its_filters_and_who_sees_it(auth, client, data):
    with data():
        clerk = make_staff("citizens-clerk", "clerk", "citizens")
        _, letter = sent(clerk)
        letter = backdate_sent(letter, 40, 30)
    auth.login("citizens1")
    page = client.get("/letters/")
    assert page.status_code == 200 and letter.reference in page.text and 'href="/letters/"' in page.text
    assert re.search(r'class="days-overdue">10\b', page.text)  # due 30 days after sending, 40 days ago
    assert letter.reference in client.get("/letters/", query_string={"ministry": MINISTRY}).text
    assert letter.reference not in client.get("/letters/", query_string={"ministry": "x"}).text
    for wrong in ({"after": "abc"}, {"department": "99999999999"}, {"after": "-1"}):
        assert client.get("/letters/", query_string=wrong).status_code == 200
    auth.logout()
    auth.login("health1")
    assert letter.reference not in client.get("/letters/").text
    auth.logout()
    auth.login("reception1")
    assert client.get("/letters/").status_code == 403
    assert 'href="/letters/"' not in client.get("/reception/").text


# --- over HTTP: the panel, the forms, bad input ------------------------------------------------------------------

def post(client, path, tracking, htmx=False, **fields):
    fields["csrf_token"] = csrf_token(client, f"/requests/{tracking}")
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(path, data=fields, headers=headers, content_type="multipart/form-data")


def test_the_panel_drafts_sends_and_records_a_reply_over_http(auth, client, data):
    with data():
        req = letter_request()
    tracking = req.tracking_number
    auth.login("citizens1")
    panel = client.get(f"/requests/{tracking}").text
    assert 'id="letter"' in panel and f'value="{MINISTRY}"' in panel and "letter-body" in panel
    response = post(client, f"/letters/requests/{tracking}/draft", tracking, ministry=MINISTRY, subject=SUBJECT,
                    body="نص\x07 الكتاب\u202e")
    assert response.status_code == 303 and response.location.endswith(f"/requests/{tracking}")
    with data():
        letter = MinistryLetter.get(MinistryLetter.request == req.id)
        assert letter.body == "نص الكتاب"  # control and bidi characters stripped
    response = post(client, f"/letters/requests/{tracking}/send", tracking, htmx=True, version=str(letter.version),
                    reply_due="")
    assert response.status_code == 303
    panel = client.get(response.location, headers={"HX-Request": "true"}).text
    assert panel.lstrip().startswith('<section id="request-panel"') and "OUT/" in panel
    assert "letter-print-ar" in panel and "letter-received-on" in panel
    response = post(client, f"/letters/requests/{tracking}/replies", tracking, received_on=local_today().isoformat(),
                    reference="و ص/9", summary="تمت الموافقة", attachment=(io.BytesIO(PDF), "reply.pdf"))
    assert response.status_code == 303
    page = client.get(f"/requests/{tracking}").text
    assert "تمت الموافقة" in page and "reply.pdf" in page
    with data():
        assert MinistryLetter.get_by_id(letter.id).status == "replied"


@pytest.mark.parametrize(("path", "fields", "message"), [
    ("draft", {"ministry": MINISTRY, "subject": SUBJECT, "body": "  \x07 "}, "اكتب نص الكتاب"),
    ("draft", {"ministry": "", "subject": SUBJECT, "body": BODY}, "اذكر الوزارة"),
    ("draft", {"ministry": MINISTRY, "subject": "س" * 301, "body": BODY}, "300"),
    ("draft", {"ministry": MINISTRY, "subject": SUBJECT, "body": "ن" * 20001}, "20000"),
    ("send", {"reply_due": "2026-02-30"}, "تاريخ"),
    ("send", {"reply_due": "1999-01-01"}, "خلال سنة"),
    ("replies", {"received_on": "2999-01-01", "reference": "1", "summary": "x"}, "بعد اليوم"),
    ("replies", {"received_on": "not a date", "reference": "1", "summary": "x"}, "تاريخ"),
    ("replies", {"received_on": "TODAY", "reference": "1", "summary": "\x00"}, None),
    ("replies", {"received_on": "TODAY", "reference": "", "summary": "x"}, "مرجع"),
    ("replies", {"received_on": "TODAY", "reference": "1", "summary": "x" * 5001}, "5000"),
])
def test_bad_input_is_refused_in_arabic_and_changes_nothing(auth, client, data, path, fields, message):
    with data():
        clerk = make_staff("citizens-clerk", "clerk", "citizens")
        req, letter = (sent if path == "replies" else drafted)(clerk)
        before = (MinistryLetter.get_by_id(letter.id).version, HistoryEntry.select().count(),
                  LetterReply.select().count())
    fields = {name: local_today().isoformat() if value == "TODAY" else value for name, value in fields.items()}
    if path == "send":
        fields["version"] = str(letter.version)
    auth.login("citizens1")
    response = post(client, f"/letters/requests/{req.tracking_number}/{path}", req.tracking_number, **fields)
    assert response.status_code == 400
    if message:
        assert message in response.text
    htmx = post(client, f"/letters/requests/{req.tracking_number}/{path}", req.tracking_number, htmx=True, **fields)
    assert htmx.status_code == 400 and htmx.headers["HX-Reswap"] == "none"
    with data():
        assert (MinistryLetter.get_by_id(letter.id).version, HistoryEntry.select().count(),
                LetterReply.select().count()) == before


def test_the_forms_refuse_those_who_may_not_write_the_letter(auth, client, data):
    with data():
        req = letter_request()
        other = make_request("inquiry")
    auth.login("health1")
    assert post(client, f"/letters/requests/{req.tracking_number}/draft", req.tracking_number, ministry=MINISTRY,
                subject=SUBJECT, body=BODY).status_code == 403
    auth.logout()
    auth.login("reception1")
    assert 'id="letter-body"' not in client.get(f"/requests/{req.tracking_number}").text
    assert post(client, f"/letters/requests/{req.tracking_number}/draft", req.tracking_number, ministry=MINISTRY,
                subject=SUBJECT, body=BODY).status_code == 403
    auth.logout()
    auth.login("citizens1")
    assert post(client, f"/letters/requests/{other.tracking_number}/draft", other.tracking_number,
                ministry=MINISTRY, subject=SUBJECT, body=BODY).status_code == 404
    with data():
        assert MinistryLetter.select().count() == 0
