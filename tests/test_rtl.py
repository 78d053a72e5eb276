"""Right to left: left-to-right values (tracking numbers, national IDs, phones, IBANs, amounts, sizes) are
isolated wherever they are shown, in HTML (the `ltr` filter), in flash messages and in SMS and e-mail bodies
(Unicode isolates, i18n.ltr); arrows point the way the page reads; Arabic pages carry no untranslated English."""
import io
import re

import pytest
from babel.messages.pofile import read_po
from flask_babel import ngettext

from intranet import workflow
from intranet.i18n import LRI, PDI, file_size, iban_grouped, ltr
from intranet.models import Notification, Request, Staff, utcnow
from intranet.notify import wording
from tests.conftest import csrf_token
from tests.factories import PDF, make_citizen, make_request, make_staff, upload
from tests.test_i18n import ROOT

IBAN = "QA58DOHB00001234567890ABCDEFG"


def bdi(value) -> str:
    return f'<bdi dir="ltr" class="ltr">{value}</bdi>'


def test_ltr_isolates_in_right_to_left_text_only():
    assert ltr("26-0001720-2", "ar") == f"{LRI}26-0001720-2{PDI}"
    assert ltr("26-0001720-2", "en") == "26-0001720-2"  # an English SMS stays GSM-7
    assert ltr("", "ar") == "" and ltr(None, "ar") == ""


def test_iban_grouped_by_four():
    assert iban_grouped(IBAN) == "QA58 DOHB 0000 1234 5678 90AB CDEF G"
    assert iban_grouped("qa58 dohb0000123456789 0abcdefg") == "QA58 DOHB 0000 1234 5678 90AB CDEF G"
    assert iban_grouped("XX12") == "XX12" and iban_grouped(None) == ""


@pytest.mark.parametrize("size, arabic, english", [
    (300, "300", "300 bytes"), (307, "307", "307 bytes"), (1536, "1.5", "1.5 KB"),
    (5 * 1024 * 1024, "5", "5 MB"), (3 * 1024 ** 3 // 2, "1.5", "1.5 GB"),
])
def test_file_size_in_both_languages(app, size, arabic, english):
    from flask import session

    with app.test_request_context():
        session["lang"] = "en"
        assert str(file_size(size)) == english.replace(english.split()[0], bdi(english.split()[0]))
    with app.test_request_context():
        shown = str(file_size(size))
        assert shown.startswith(bdi(arabic) + " ") and not re.search("[A-Za-z]{2,}", shown.replace(bdi(arabic), ""))



# Latin words an Arabic page may show: names of file formats, not words to translate
FORMAT_NAMES = {"PDF", "JPEG", "PNG"}


def isolated(value) -> str:
    return f"{LRI}{value}{PDI}"


def latin_words(html: str, values=()) -> set:
    """Latin words a reader of the Arabic page sees, other than left-to-right values, keys, code, text marked as
    English (the language switch, a provider's own error text) and the given values (people's names)."""
    text = re.sub(r"<(script|style|kbd|code)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r'<bdi dir="ltr"[^>]*>.*?</bdi>', " ", text, flags=re.S)
    text = re.sub(r'<(\w+)[^>]*\blang="en"[^>]*>.*?</\1>', " ", text, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    for value in values:
        text = text.replace(value, " ")
    return set(re.findall(r"[A-Za-z][A-Za-z'-]+", text)) - FORMAT_NAMES


@pytest.fixture
def worked(app, data):
    """An Arabic-speaking citizen with an IBAN and an e-mail; a health-care request received with a scan, accepted
    on to its next stage; an SMS that could not be delivered."""
    with data():
        citizen = make_citizen(full_name="خالد عبد الله السليطي", iban=IBAN, email="khalid@example.qa")
        desk = make_staff("desk", "reception", "reception")
        clerk = make_staff("clerk", "clerk", "health")
        Staff.update(full_name="موظف الاستقبال").where(Staff.id == desk.id).execute()
        Staff.update(full_name="سارة الموظفة").where(Staff.id == clerk.id).execute()
        req = make_request("health_care", actor=Staff.get_by_id(desk.id), citizen=citizen,
                           uploads=[upload("scan.pdf", PDF * 40)])
        req = workflow.accept(Staff.get_by_id(clerk.id), req, req.version).request
        Notification.update(status="failed", attempts=10, failed_at=utcnow(),
                            last_error="gateway: the number is not reachable (absent subscriber)").where(
            (Notification.request == req.id) & (Notification.channel == "sms")).execute()
        names = [staff.full_name for staff in Staff.select()]
        return {"citizen": citizen, "request": Request.get_by_id(req.id), "names": names}


def test_arabic_pages_isolate_left_to_right_values(auth, client, worked):
    citizen, req = worked["citizen"], worked["request"]
    auth.login("reception1")
    found = client.get(f"/reception/?national_id={citizen.national_id}").text
    for value in (citizen.national_id, citizen.phone, "QA58 DOHB 0000 1234 5678 90AB CDEF G", citizen.email):
        assert bdi(value) in found, value  # beside its label, not at the far edge
    assert 'dir="ltr">' not in found.split('id="citizen-heading"')[1].split("</dl>")[0]

    page = client.get(f"/requests/{req.tracking_number}").text
    for value in (req.tracking_number, citizen.national_id, citizen.phone, "+974 •••• 3456", "k•••@example.qa"):
        assert bdi(value) in page, value
    assert re.search(r"\(<bdi dir=\"ltr\" class=\"ltr\">[\d.]+</bdi> كيلوبايت\)", page)  # not "(KB 0.3)"
    assert "KB" not in page
    assert "← " in page and "→" not in page  # moved on: the arrow points the way Arabic reads
    assert "الرقم غير متاح" in page  # the gateway's failure, in words; its own text is marked as English
    assert re.search(r'<bdi dir="ltr" lang="en"[^>]*>\(gateway: the number is not reachable', page)

    receipt = client.get(f"/requests/{req.tracking_number}/receipt").text
    assert bdi(req.tracking_number) in receipt and isolated(req.tracking_number) in receipt  # title, QR label
    search = client.get("/reception/", query_string={"q": "عبدالله"}).text
    assert bdi(citizen.national_id) in search and bdi(citizen.phone) in search

    pages = {"found": found, "request": page, "receipt": receipt, "search": search,
             "new request": client.get(f"/reception/citizens/{citizen.id}/requests/new").text,
             "desk": client.get("/tickets/desk").text, "kiosk": client.get("/tickets/kiosk").text,
             "to call": client.get("/reception/unreachable/").text}
    for name, html in pages.items():
        assert not latin_words(html, worked["names"] + ["scan.pdf", "id.pdf"]), f"English on the Arabic page {name}"

    auth.logout()
    auth.login("supervisor1")
    with client.application.app_context():
        department = req.stage.department.code
    queue = client.get(f"/queues/{department}", query_string={"tab": "all"}).text
    assert bdi(req.tracking_number) in queue
    assert not latin_words(queue, worked["names"]), "English on the Arabic queue page"


def test_flash_messages_isolate_the_tracking_number(auth, client, worked):
    citizen = worked["citizen"]
    auth.login("reception1")
    new = f"/reception/citizens/{citizen.id}/requests/new"
    from intranet.models import RequestType
    with client.application.app_context():
        inquiry = RequestType.get(RequestType.code == "inquiry").id
    response = client.post(new, content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, new), "request_type": inquiry, "subject": "استفسار",
        "attachments": [(io.BytesIO(PDF), "id.pdf")]})
    assert response.status_code == 303
    number = response.headers["Location"].rsplit("/", 1)[1]
    flashes = client.get(response.headers["Location"]).text.split('id="flashes"')[1].split("</div>")[0]
    assert isolated(number) in flashes


def test_sms_and_email_bodies_isolate_left_to_right_values(app, data):
    with data():
        arabic = make_request("health_care", citizen=make_citizen(email="a@example.qa", preferred_language="ar"))
        english = make_request("health_care", citizen=make_citizen(email="e@example.qa",
                                                                   preferred_language="en"))
        sent = {(n.request_id, n.channel): n for n in Notification.select()}
        for channel in ("sms", "email"):
            message = sent[(arabic.id, channel)]
            assert isolated(arabic.tracking_number) in message.body, channel
            assert f" {isolated(arabic.tracking_number)}" in message.body  # a space before, never glued
        assert isolated(arabic.tracking_number) in sent[(arabic.id, "email")].subject
        for channel in ("sms", "email"):
            assert LRI not in sent[(english.id, channel)].body and english.tracking_number in \
                sent[(english.id, channel)].body
        assert wording.sms_info(sent[(english.id, "sms")].body)["encoding"] == "GSM-7"  # no isolate to pay for
        assert wording.amount_text(1250, "ar") == isolated(wording.amount_text(1250, "en"))
        assert LRI not in wording.amount_text(1250, "en") and "1,250" in wording.amount_text(1250, "en")
        sample = wording.sample_context("payout_sent", "ar")
        assert sample["tracking_number"].startswith(LRI) and sample["amount"].startswith(LRI)


def test_arabic_plurals_have_six_forms_and_follow_the_header(app):
    with open(ROOT / "intranet/translations/ar/LC_MESSAGES/messages.po", "rb") as handle:
        catalogue = read_po(handle, locale="ar")
    assert catalogue.num_plurals == 6
    for message in catalogue:
        if isinstance(message.id, tuple) and message.string and any(message.string):
            assert len(message.string) == 6 and all(message.string), message.id
    with app.test_request_context():
        refused = "The file was refused: %(num)d problem. Nothing was changed."
        plural = "The file was refused: %(num)d problems. Nothing was changed."
        assert "15 مشكلةً" in ngettext(refused, plural, 15)  # 11 to 99: the accusative
        assert "100 مشكلة." in ngettext(refused, plural, 100)  # 100, 101, 102: the genitive
        assert ngettext("%(num)d day", "%(num)d days", 45) == "45 يومًا"
        assert ngettext("%(num)d payout", "%(num)d payouts", 3) == "3 دفعات"


def test_arabic_translations_use_the_arabic_comma_and_spaces():
    with open(ROOT / "intranet/translations/ar/LC_MESSAGES/messages.po", "rb") as handle:
        catalogue = read_po(handle, locale="ar")
    glued = re.compile(r"(\d|%\(\w+\)[sd])[\u0621-\u064a]")  # "45يومًا"
    latin_comma = re.compile(r"[\u0621-\u064a], ")
    for message in catalogue:
        for text in (message.string if isinstance(message.string, tuple) else (message.string,)):
            assert not glued.search(text or ""), text
            assert not latin_comma.search(text or ""), text
