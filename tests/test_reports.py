"""The printed documents against a seeded day with known answers: the daily summary's figures (as they stood at
the end of the day, the same when produced again after later actions), its PDF (pages, Arabic text, a PNG of the
cover), the statements, the archive, the supervisors' e-mail with the PDF attached, and who may see them."""
import dataclasses
import datetime as dt
import email
import email.policy
import re
import shutil
import subprocess
import time
import unicodedata
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from intranet import workflow
from intranet.models import Department, HistoryEntry, Notification, Request, RequestType, Staff, VisitorTicket, utcnow
from intranet.models.stats import ReportFile
from intranet.notify import mail
from intranet.reports import archive, past_state, statements, summary
from intranet.stats import figures as stats
from tests.factories import make_request, make_staff
from tests.history_guard import backdate

ARTIFACTS = Path(__file__).with_name("artifacts")
RETURN_REASON = "ينقص تقرير الأضرار"
HEALTH_RETURN_REASON = "صورة الهوية غير واضحة"
REJECT_REASON = "خارج اختصاص الوزارة"


# --- the seeded day ------------------------------------------------------------------------------------------

def local(day, hour, minute=0):
    """A local wall-clock time of `day` as naive UTC (how the database keeps times)."""
    zone = ZoneInfo("Asia/Qatar")
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone).astimezone(dt.timezone.utc).replace(
        tzinfo=None)


def timed(outcome, when, **extra):
    """Move an action that just happened to `when`: its history row and the request's own dates."""
    backdate(HistoryEntry.id == outcome.entry.id, when)
    req = Request.get_by_id(outcome.request.id)
    changes = {"updated_at": when, **extra}
    if outcome.entry.to_status in ("completed", "rejected"):
        changes["closed_at"] = when
    if outcome.entry.to_status == "awaiting_citizen":
        changes["paused_at"] = when
    Request.update(changes).where(Request.id == req.id).execute()
    return Request.get_by_id(req.id)


def received(when, type_code="health_care", channel="walk_in"):
    req = make_request(type_code, channel=channel)
    entry = HistoryEntry.get(HistoryEntry.request == req.id)
    return timed(workflow.Outcome(req, entry), when, received_at=when, due_at=when + dt.timedelta(days=45),
                 stage_due_at=when + dt.timedelta(days=15))


def step(action, actor, req, when, comment="", **extra):
    fresh = Request.get_by_id(req.id)
    kwargs = {"missing": ()} if action == "return" else {}
    outcome = workflow.act(actor, fresh, action, fresh.version, comment, **kwargs)
    return timed(outcome, when, **extra)


@pytest.fixture
def seeded(ctx, app, tmp_path):
    """Day D (ten days ago) with known answers; see each request's line for what it adds."""
    app.config["REPORT_ARCHIVE_DIR"] = tmp_path / "reports"
    D = stats.local_today() - dt.timedelta(days=10)
    before, after = D - dt.timedelta(days=1), D + dt.timedelta(days=1)
    boss = Staff.create(username="boss", full_name="Boss", role="supervisor")
    clerk = make_staff("hclerk")
    clerk.full_name = "سلمان الهاجري"
    clerk.save()
    make_staff("hclerk2")
    desk = make_staff("desk", "reception", "reception")
    r = {}
    r[1] = received(local(D, 9))                                        # health, walk-in, received on D
    r[1] = step("claim", clerk, r[1], local(D, 9, 30))                  #   held by the clerk at D's end
    r[2] = received(local(D, 23, 50), channel="electronic")             # health, electronic, 10 min before midnight
    r[3] = received(local(after, 0, 10))                                # 10 min after midnight: not D's
    r[4] = received(local(D - dt.timedelta(days=50), 9))                # overdue at D's end, held by the clerk
    r[4] = step("claim", clerk, r[4], local(D - dt.timedelta(days=3), 10))
    r[5] = received(local(D - dt.timedelta(days=40), 9))                # at risk: due 5 days after D
    r[6] = received(local(D - dt.timedelta(days=2), 9))                 # accepted on D: on to compensation
    r[6] = step("accept", boss, r[6], local(D, 10))
    r[7] = received(local(D - dt.timedelta(days=5), 9), "compensation")  # returned to the citizen and resubmitted on D
    due7 = r[7].due_at
    r[7] = step("return", boss, r[7], local(D, 11), RETURN_REASON)
    r[7] = step("resubmit", desk, r[7], local(D, 14), due_at=due7 + dt.timedelta(hours=3), paused_at=None)
    r[8] = received(local(D - dt.timedelta(days=5), 9), "compensation")  # completed 2 min before midnight
    r[8] = step("accept", boss, r[8], local(before, 12))
    r[8] = step("accept", boss, r[8], local(D, 23, 58))
    r[9] = received(local(D - dt.timedelta(days=3), 9), "compensation")  # rejected 5 min after midnight: open at D's end
    r[9] = step("reject", boss, r[9], local(after, 0, 5), "لا يستحق")
    r[10] = received(local(before, 9), "ministry_letter", "electronic")  # citizens: rejected on D
    r[10] = step("reject", boss, r[10], local(D, 15), REJECT_REASON)
    r[11] = received(local(D, 12))                                      # health: received and returned on D
    r[11] = step("return", boss, r[11], local(D, 13), HEALTH_RETURN_REASON)
    r[12] = received(local(D - dt.timedelta(days=20), 9), "compensation")  # due 25 days after D
    for number, (status, issued, called) in enumerate([("done", (8, 0), (8, 10)), ("serving", (8, 5), (8, 25)),
                                                       ("waiting", (9, 0), None), ("no_show", (9, 5), (9, 30))], 1):
        VisitorTicket.create(day=D, service="inquiry", number=number, status=status, issued_at=local(D, *issued),
                             called_at=local(D, *called) if called else None)
    return {"day": D, "requests": r, "boss": boss, "clerk": clerk, "desk": desk}


def by_code(doc):
    return {page.department.code: page for page in doc.pages}


# --- figures -------------------------------------------------------------------------------------------------

def test_the_summary_figures_are_the_known_answers(seeded):
    doc = summary.build(seeded["day"])
    r = seeded["requests"]
    assert [page.department.code for page in doc.pages] == ["health", "compensation", "retirement", "citizens"]
    assert doc.totals == {"walk_in": {"received": 2, "completed": 1, "returned": 2, "rejected": 0},
                          "electronic": {"received": 1, "completed": 0, "returned": 0, "rejected": 1}}
    assert doc.sla == {"on_track": 6, "at_risk": 1, "overdue": 1, "paused": 1}  # r11 waits for the citizen
    assert doc.visitors == {"served": 2, "average_wait": dt.timedelta(minutes=15)}
    pages = by_code(doc)
    health, compensation, citizens = pages["health"], pages["compensation"], pages["citizens"]
    health_care = RequestType.get(RequestType.code == "health_care").id
    assert health.by_type[health_care] == {"walk_in": {"received": 2, "completed": 0, "returned": 1, "rejected": 0},
                                           "electronic": {"received": 1, "completed": 0, "returned": 0,
                                                          "rejected": 0}}
    assert health.sla == {"on_track": 2, "at_risk": 1, "overdue": 1, "paused": 1}
    assert [item.id for item in health.oldest] == [r[4].id, r[5].id, r[1].id, r[11].id, r[2].id]
    # r4 was due 5 days and 15 hours before D's end, r5 is due 4 days and 9 hours after it; r11 waits
    assert [(item.state, item.sla.days) for item in health.oldest[:2]] == [("overdue", 5), ("at_risk", 4)]
    assert next(item for item in health.oldest if item.id == r[11].id).state == "paused"
    assert [(item.id, item.clerk) for item in health.overdue] == [(r[4].id, "سلمان الهاجري")]
    assert compensation.totals["walk_in"] == {"received": 0, "completed": 1, "returned": 1, "rejected": 0}
    assert compensation.sla == {"on_track": 4, "at_risk": 0, "overdue": 0, "paused": 0}
    assert {item.id for item in compensation.oldest} == {r[6].id, r[7].id, r[9].id, r[12].id}
    assert citizens.totals["electronic"]["rejected"] == 1 and citizens.open_total == 0


def snapshot(doc):
    return dataclasses.asdict(doc) | {"pages": [
        {**dataclasses.asdict(page), "department": page.department.id} for page in doc.pages]}


def test_producing_again_after_later_actions_gives_the_same_figures(seeded):
    first = snapshot(summary.build(seeded["day"]))
    r, boss = seeded["requests"], seeded["boss"]
    workflow.act(boss, Request.get_by_id(r[1].id), "accept", Request.get_by_id(r[1].id).version)
    workflow.assign(boss, [r[4].id], Staff.get(Staff.username == "hclerk2"))
    workflow.act(boss, Request.get_by_id(r[2].id), "reject", Request.get_by_id(r[2].id).version, "مكرر")
    stats.close_missing()  # the day is counted now: its rows are read instead of history
    assert snapshot(summary.build(seeded["day"])) == first


def test_the_statements_hold_the_right_items(seeded, app):
    D, r = seeded["day"], seeded["requests"]
    alert = {s.department.code: s for s in statements.alert(D + dt.timedelta(days=1)).sections}
    assert [item.id for item in alert["health"].due_soon] == [r[5].id]
    assert [(item.id, item.clerk) for item in alert["health"].overdue] == [(r[4].id, "سلمان الهاجري")]
    assert [item.id for item in alert["compensation"].due_soon] == [r[12].id]
    app.config["EXECUTION_STATEMENT_DAYS"] = f"{D.day},{(D + dt.timedelta(days=1)).day}"
    done = statements.execution(D + dt.timedelta(days=1))
    assert done.since == D
    sections = {s.department.code: s.decided for s in done.sections}
    assert [(d.tracking_number, d.reason) for d in sections["compensation"]["returned"]] == \
        [(r[7].tracking_number, RETURN_REASON)]
    assert [d.tracking_number for d in sections["compensation"]["completed"]] == [r[8].tracking_number]
    assert [(d.tracking_number, d.reason) for d in sections["citizens"]["rejected"]] == \
        [(r[10].tracking_number, REJECT_REASON)]
    assert [(d.tracking_number, d.reason) for d in sections["health"]["returned"]] == \
        [(r[11].tracking_number, HEALTH_RETURN_REASON)]
    app.config["EXECUTION_STATEMENT_DAYS"] = "8,22"
    assert statements.previous_day("execution_statement", dt.date(2026, 3, 8)) == dt.date(2026, 2, 22)
    assert statements.previous_day("execution_statement", dt.date(2026, 3, 22)) == dt.date(2026, 3, 8)
    assert statements.is_due("alert_statement", dt.date(2026, 3, 15))
    assert not statements.is_due("alert_statement", dt.date(2026, 3, 16))


# --- the PDF -------------------------------------------------------------------------------------------------

BIDI_CONTROLS = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def pdf_text(path) -> str:
    """The text as pdftotext reads it: presentation forms folded (NFKC), bidi controls dropped."""
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True)
    return unicodedata.normalize("NFKC", out.stdout).translate(BIDI_CONTROLS)


def arabic_in(word: str, text: str) -> bool:
    """A label is there in logical or in visual (reversed) order, whatever spacing pdftotext kept."""
    squeezed = re.sub(r"\s+", "", text)
    target = re.sub(r"\s+", "", unicodedata.normalize("NFKC", word))
    return target in squeezed or target[::-1] in squeezed


def numbers_on(page: str, label: str) -> list[int]:
    """The numbers on the line of `label`, in reading order (pdftotext may give a right-to-left row either way
    round: the row is read from the label's side)."""
    line = next(line for line in page.splitlines() if label in line)
    found = [int(n) for n in re.findall(r"(?<![\d/-])\d+(?![\d/-])", line.replace(label, " "))]
    return found if line.index(label) < len(line) // 2 else found[::-1]


def test_the_pdf_has_a_cover_and_a_page_per_department_with_the_arabic_figures(seeded):
    started = time.perf_counter()
    report = archive.produce("daily_summary", seeded["day"], "ar")
    seconds = time.perf_counter() - started
    path = archive.root() / report.path
    assert report.pages == 1 + len(past_state.departments()) == 5
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    assert re.search(r"Pages:\s+5\b", info) and "595.2" in info  # A4 portrait, in points
    text = pdf_text(path)
    pages = text.split("\f")
    (ARTIFACTS / "daily-summary.txt").parent.mkdir(exist_ok=True)
    (ARTIFACTS / "daily-summary.txt").write_text(text)
    for label in ("ديوان شؤون المواطنين", "الملخص اليومي", "المجموع", "سلمان الهاجري"):
        assert arabic_in(label, text), label
    for name in Department.select().where(Department.code.in_(["health", "compensation", "citizens"])):
        assert arabic_in(name.name_ar, text)
    assert arabic_in(seeded["requests"][4].tracking_number, pages[1]) or \
        seeded["requests"][4].tracking_number in pages[1]
    assert numbers_on(pages[0], "الواردة") == [2, 1, 3]  # walk-in, electronic, total
    assert numbers_on(pages[0], "مرفوض") == [0, 1, 1]
    assert numbers_on(pages[0], "الشؤون الصحية") == [3, 0, 1, 0, 5, 1, 1]  # received ... overdue
    assert numbers_on(pages[0], "المراجعون") == [2] and numbers_on(pages[0], "متوسط مدة الانتظار") == [15]
    for number, page in enumerate(pages[:5], 1):
        assert re.search(rf"صفحة\s*{number}\s*من\s*5", page), page[-200:]
    ARTIFACTS.mkdir(exist_ok=True)
    prefix = ARTIFACTS / f"daily-summary-{seeded['day'].isoformat()}-{Department.select().count()}"
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(path), str(prefix)],
                   check=True)
    assert prefix.with_suffix(".png").stat().st_size > 1000
    shutil.copy(path, prefix.with_suffix(".pdf"))
    print(f"daily summary PDF: {report.pages} pages, {report.size} bytes, {seconds:.2f} s")


def test_producing_again_replaces_the_file_and_its_row(seeded):
    first = archive.produce("daily_summary", seeded["day"], "ar")
    second = archive.produce("daily_summary", seeded["day"], "ar")
    rows = list(ReportFile.select())
    assert [row.id for row in rows] == [second.id] and second.path == first.path
    assert archive.read(second)[:5] == b"%PDF-"
    (archive.root() / second.path).write_bytes(b"%PDF-1.4 tampered")
    with pytest.raises(archive.ArchiveError):
        archive.read(second)


# --- e-mail --------------------------------------------------------------------------------------------------

def test_the_pdf_is_mailed_once_to_each_supervisor_with_an_address(seeded):
    for name, address in (("sup1", "sup1@diwan.example"), ("sup2", "sup2@diwan.example"), ("sup3", None)):
        Staff.create(username=name, full_name=name.title(), role="supervisor", email=address)
    Staff.create(username="clerkmail", full_name="Clerk", role="clerk", email="clerk@diwan.example")
    report = archive.produce("daily_summary", seeded["day"])
    assert archive.send(report) == 2
    assert archive.send(archive.produce("daily_summary", seeded["day"])) == 0  # the same day again: no second
    rows = list(Notification.select().where(Notification.event == "daily_summary").order_by(Notification.id))
    assert [row.recipient for row in rows] == ["sup1@diwan.example", "sup2@diwan.example"]
    assert all(row.attachment == str(archive.root() / report.path) for row in rows)


def _mail_row(attachment):
    staff = Staff.create(username="sup9", full_name="Sup", role="supervisor", email="sup9@diwan.example")
    return Notification.create(staff=staff, event="daily_summary", channel="email", language="ar",
                               recipient=staff.email, subject="الملخص اليومي", body="مرفق", attachment=attachment,
                               dedupe_key=f"mail-test:{utcnow().timestamp()}")


def _check_attachment(message, content):
    parts = [part for part in message.iter_attachments()]
    assert [(part.get_content_type(), part.get_filename()) for part in parts] == \
        [("application/pdf", "daily_summary-2025-05-13-ar.pdf")]
    assert parts[0].get_content() == content


def test_an_email_with_the_pdf_attached_arrives_through_the_file_mailer_and_smtp(ctx, tmp_path):
    from tests.test_notify_delivery import smtp_server
    content = b"%PDF-1.4 the summary"
    attached = tmp_path / "daily_summary-2025-05-13-ar.pdf"
    attached.write_bytes(content)
    row = _mail_row(str(attached))
    outbox = tmp_path / "outbox.txt"
    assert mail.FileMailer(outbox, "Diwan <no-reply@diwan.example>").send(row).accepted
    message = email.message_from_string(outbox.read_text().split("\n", 1)[1], policy=email.policy.default)
    _check_attachment(message, content)
    box, controller = smtp_server()
    try:
        mailer = mail.SmtpMailer("127.0.0.1", controller.port, "Diwan <no-reply@diwan.example>", timeout=2)
        assert mailer.send(row).accepted
        mailer.close()
    finally:
        controller.stop()
    _check_attachment(box.messages[0]["message"], content)
    assert box.messages[0]["message"].get_body(("plain",)).get_content().strip() == "مرفق"


# --- the pages -----------------------------------------------------------------------------------------------

def test_supervisors_read_print_views_pdfs_and_the_archive(seeded, auth, client, data):
    D = seeded["day"].isoformat()
    auth.login("supervisor1")
    page = client.get(f"/reports/daily/{D}")
    assert page.status_code == 200 and 'dir="rtl"' in page.text and "site-header" not in page.text
    assert seeded["requests"][4].tracking_number in page.text and "سلمان الهاجري" in page.text
    english = client.get(f"/reports/daily/{D}?lang=en")
    assert 'lang="en"' in english.text and "Daily summary" in english.text and "Walk-in visitors served" in english.text
    for slug in ("alert", "execution"):
        assert client.get(f"/reports/{slug}/{D}").status_code == 200
    made = client.get(f"/reports/daily/{D}.pdf?lang=en")
    assert made.status_code == 200 and made.content_type == "application/pdf" and made.data[:5] == b"%PDF-"
    assert client.get("/reports/daily/2025-02-30").status_code == 404
    index = client.get("/reports/")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', index.text).group(1)
    answer = client.post("/reports/produce", data={"csrf_token": token, "kind": "alert_statement", "day": D,
                                                   "language": "ar"})
    assert answer.status_code == 303
    with data():
        report = ReportFile.get(ReportFile.kind == "alert_statement")
    index = client.get("/reports/")
    assert f'/reports/files/{report.id}' in index.text and report.sha256[:12] in index.text
    opened = client.get(f"/reports/files/{report.id}")
    assert opened.status_code == 200 and opened.content_type == "application/pdf"
    future = (stats.local_today() + dt.timedelta(days=2)).isoformat()
    refused = client.post("/reports/produce", data={"csrf_token": token, "kind": "daily_summary", "day": future,
                                                    "language": "ar"})
    assert refused.status_code == 400 and 'id="day-error"' in refused.text
    assert client.get("/reports/files/999999").status_code == 404


def test_a_document_asked_while_the_queue_is_down_is_produced_by_the_sweeper(seeded, auth, client, data,
                                                                            monkeypatch):
    import jobs
    from intranet.models.stats import ReportRequest
    from jobs.reports import sweep_reports

    down = [True]
    unreachable, enqueue = jobs.make_huey("redis://127.0.0.1:1/0"), jobs.huey.enqueue
    # the queue is down: enqueuing raises redis's ConnectionError (a closed port)
    monkeypatch.setattr(jobs.huey, "enqueue",
                        lambda task: unreachable.storage.enqueue(b"task", 0) if down[0] else enqueue(task))
    D = seeded["day"].isoformat()
    auth.login("supervisor1")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/reports/").text).group(1)
    answer = client.post("/reports/produce", data={"csrf_token": token, "kind": "execution_statement", "day": D,
                                                   "language": "en"})
    assert answer.status_code == 303  # answered as ever: the request is a row, its job was lost
    waiting = client.get(answer.headers["Location"])
    assert waiting.status_code == 200 and 'data-state="producing"' in waiting.text
    with data():
        (asked,) = ReportRequest.select()
        assert (asked.kind, asked.language, asked.produced_at, asked.attempts) == ("execution_statement", "en",
                                                                                   None, 0)
        assert not ReportFile.select().exists()
        assert sweep_reports.call_local() == []  # a job may still be waiting in the queue for a minute
        ReportRequest.update(created_at=utcnow() - dt.timedelta(minutes=2)).execute()
        down[0] = False
        assert sweep_reports.call_local() == [asked.id]  # the minute's sweeper, once the queue is back
        report = ReportFile.get(ReportFile.kind == "execution_statement")
        assert (report.day, report.language) == (seeded["day"], "en") and archive.read(report)[:5] == b"%PDF-"
        assert ReportRequest.get_by_id(asked.id).produced_at is not None
        assert sweep_reports.call_local() == []  # produced once
    ready = client.get(answer.headers["Location"])
    assert 'data-state="ready"' in ready.text and f"/reports/files/{report.id}" in ready.text


def test_an_administrator_reads_and_a_clerk_is_refused(seeded, auth, client):
    D = seeded["day"].isoformat()
    auth.login("admin1")
    assert client.get("/reports/").status_code == 200
    assert client.get(f"/reports/daily/{D}").status_code == 200
    auth.logout()
    auth.login("health1")
    for path in ("/reports/", f"/reports/daily/{D}", f"/reports/daily/{D}.pdf", "/reports/files/1"):
        assert client.get(path).status_code == 403, path


# --- the schedule --------------------------------------------------------------------------------------------

def test_the_evening_task_fires_at_the_summary_time_on_the_office_clock():
    import jobs.reports
    jobs.reports._schedule.cache_clear()
    from intranet.config import load
    assert load()["DAILY_SUMMARY_TIME"] == "20:00" and load()["TIMEZONE"] == "Asia/Qatar"
    # huey hands periodic tasks naive UTC: 17:00 UTC is 20:00 in Qatar (crontab(hour=20) would be 23:00 there)
    assert jobs.reports._at_summary_time(dt.datetime(2026, 5, 13, 17, 0))
    assert not jobs.reports._at_summary_time(dt.datetime(2026, 5, 13, 20, 0))
    assert jobs.reports._at_statement_time(dt.datetime(2026, 5, 13, 4, 0))
