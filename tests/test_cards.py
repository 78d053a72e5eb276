"""Beneficiary cards (issue 19): issued, reissued and revoked with history; the token is signed, carries no national
ID, and is always checked against the database (a revoked or replaced card says so; a forged or altered token is
refused, never a 500); the printed ID-1 card read back (text by pdftotext, both codes by zbarimg); a card scanned
into the header search or the desk's national ID box opens its holder."""
import re
import subprocess

import pytest
from flask import current_app

from intranet.cards import pdf, service, tokens
from intranet.models import Staff
from intranet.models.cards import BeneficiaryCard, CardEvent
from tests.conftest import csrf_token
from tests.factories import make_citizen, make_request, make_staff


REFUSED = "تعذّر التحقق من هذه البطاقة"  # "This card could not be verified" (the pages are in Arabic by default)


def _desk():
    return Staff.get_or_none(Staff.username == "desk") or make_staff("desk", "reception", "reception")


def _altered(token: str, position: int) -> str:
    return token[:position] + str((int(token[position]) + 1) % 10) + token[position + 1:]


def test_issue_reissue_revoke_each_with_history(ctx):
    desk, citizen = _desk(), make_citizen()
    first = service.issue(desk, citizen)
    token = tokens.make(first)
    assert re.fullmatch(r"\d{26}", token) and citizen.national_id not in token
    assert service.verify(token).valid and service.verify(token).card.citizen.id == citizen.id
    with pytest.raises(service.CardError):  # one live card per citizen
        service.issue(desk, citizen)
    with pytest.raises(service.CardError):  # a reissue needs its reason, and nothing changes without one
        service.reissue(desk, citizen, "   ")
    assert service.live_card(citizen).id == first.id and CardEvent.select().count() == 1

    second = service.reissue(desk, citizen, "بطاقة مفقودة")
    old = BeneficiaryCard.get_by_id(first.id)
    assert (second.serial, old.replaced_by_id, old.revoked_reason) == (2, second.id, "بطاقة مفقودة")
    replaced = service.verify(token)
    assert replaced.status == "replaced" and not replaced.valid and "2" in str(replaced.message)
    assert service.verify(tokens.make(second)).valid

    service.revoke(desk, citizen, "withdrawn")
    revoked = service.verify(tokens.make(second))
    assert revoked.status == "revoked" and "withdrawn" in str(revoked.message)
    assert service.live_card(citizen) is None
    with pytest.raises(service.CardError):
        service.revoke(desk, citizen, "again")
    third = service.issue(desk, citizen)  # a new card after a revoked one
    assert third.serial == 3
    assert [(e.action, e.card.serial, e.reason) for e in service.history(citizen)] == [
        ("issued", 3, None), ("revoked", 2, "withdrawn"), ("reissued", 2, "بطاقة مفقودة"), ("issued", 1, None)]
    with pytest.raises(service.NotAllowed):  # a clerk neither issues nor revokes
        service.revoke(make_staff("clerk1"), citizen, "no")
    assert service.live_card(citizen).id == third.id


def test_forged_altered_and_foreign_tokens_are_refused(ctx):
    card = service.issue(_desk(), make_citizen())
    token = tokens.make(card)
    for forged in (_altered(token, 25), _altered(token, 12), _altered(token, 9),  # signature, or another card's id
                   f"{9999999:010d}{token[10:]}", "0" * 26, "9" * 26):
        assert service.verify(forged).status == "refused", forged
        assert REFUSED in str(service.verify(forged).message)
    key = current_app.secret_key
    try:  # a token made with another key (another site, or a guessed key) is not ours
        current_app.secret_key = "another key"
        foreign = tokens.make(card)
    finally:
        current_app.secret_key = key
    assert foreign != token and service.verify(foreign).status == "refused"
    # a scanner's or a person's typing: spaces, dashes, Arabic-Indic digits, direction marks
    typed = "\u2066" + tokens.grouped(token).replace(" ", "-").translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert service.scan(typed).valid
    for other in ("", "26-0001720-2", card.citizen.national_id, "محمد", token + "1"):
        assert service.scan(other) is None


def test_a_scanned_card_in_the_header_search(auth, client, data):
    with data():
        citizen = make_citizen(full_name="سارة خليل")
        make_request(citizen=citizen)  # a health-care request: Health clerks may see her
        hidden = make_citizen(full_name="علي حسن")
        make_request("pension", citizen=hidden)
        desk = _desk()
        token, hidden_token = tokens.make(service.issue(desk, citizen)), tokens.make(service.issue(desk, hidden))
    auth.login("reception1")
    opened = client.get("/search", query_string={"q": tokens.grouped(token)})
    assert opened.status_code == 303 and opened.headers["Location"].endswith(f"/citizens/{citizen.id}")
    forged = client.get("/search", query_string={"q": _altered(token, 20)})
    assert forged.status_code == 200 and REFUSED in forged.text
    fragment = client.get("/search", query_string={"q": token}, headers={"HX-Request": "true"})
    assert f'href="/citizens/{citizen.id}"' in fragment.text
    auth.logout()
    auth.login("health1")  # a clerk: only the citizens of the requests they may see
    assert client.get("/search", query_string={"q": token}).status_code == 303
    refused = client.get("/search", query_string={"q": hidden_token})
    assert refused.status_code == 200 and f"/citizens/{hidden.id}" not in refused.text
    with data():
        service.revoke(desk, citizen, "lost")
    auth.logout()
    auth.login("reception1")
    revoked = client.get("/search", query_string={"q": token})
    assert revoked.status_code == 200 and "أُلغيت هذه البطاقة" in revoked.text and "lost" in revoked.text


def test_the_desk_box_takes_a_card(auth, client, data):
    with data():
        citizen = make_citizen()
        token = tokens.make(service.issue(_desk(), citizen))
    auth.login("reception1")
    scanned = client.get("/reception/", query_string={"national_id": token})
    assert scanned.status_code == 303 and scanned.headers["Location"].endswith(f"/citizens/{citizen.id}/requests/new")
    altered = client.get("/reception/", query_string={"national_id": _altered(token, 15)})
    assert altered.status_code == 422 and REFUSED in altered.text


def test_card_steps_from_the_citizen_page(auth, client, data):
    with data():
        citizen = make_citizen(full_name="نورة سالم")
    auth.login("reception1")
    page = f"/citizens/{citizen.id}"
    token = csrf_token(client, page)
    assert "citizen-card-heading" in client.get(page).text
    assert client.post(f"/cards/citizens/{citizen.id}/issue", data={"csrf_token": token}).status_code == 303
    refused = client.post(f"/cards/citizens/{citizen.id}/revoke", data={"csrf_token": token, "reason": ""},
                          follow_redirects=True)
    assert refused.status_code == 200 and "Give the reason" not in refused.text  # Arabic by default
    assert "اذكر السبب" in refused.text
    with data():
        assert service.live_card(citizen) is not None
    assert client.post(f"/cards/citizens/{citizen.id}/reissue",
                       data={"csrf_token": token, "reason": "تالفة"}).status_code == 303
    shown = client.get(page).text
    assert "تالفة" in shown and 'id="card-history"' in shown
    with data():
        old = BeneficiaryCard.get((BeneficiaryCard.citizen == citizen.id) & (BeneficiaryCard.serial == 1))
    reprint = client.get(f"/cards/{old.id}/card.pdf")
    assert reprint.status_code == 303  # a replaced card is never printed again
    auth.logout()
    auth.login("health1")
    token = csrf_token(client, "/search")
    assert client.post(f"/cards/citizens/{citizen.id}/issue", data={"csrf_token": token}).status_code == 403
    assert "citizen-card-heading" not in client.get(page).text


def _pdf_page_size(path) -> tuple[float, float]:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    width, height = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups()
    return float(width), float(height)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_printed_card(auth, client, data, tmp_path):
    with data():
        citizen = make_citizen(full_name="Fatima Al-Sulaiti")
        card = service.issue(_desk(), citizen)
        token = tokens.make(card)
    auth.login("reception1")
    response = client.get(f"/cards/{card.id}/card.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    path = tmp_path / "card.pdf"
    path.write_bytes(response.data)
    width, height = _pdf_page_size(path)
    assert abs(width - 85.6 / 25.4 * 72) < 0.5 and abs(height - 53.98 / 25.4 * 72) < 0.5  # ID-1
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Fatima Al-Sulaiti" in text and "Beneficiary card" in text and tokens.grouped(token) in text
    assert "بطاقة" in text and citizen.national_id not in text
    subprocess.run(["pdftoppm", "-r", "600", "-png", "-singlefile", str(path), str(tmp_path / "card")], check=True)
    decoded = subprocess.run(["zbarimg", "--quiet", str(tmp_path / "card.png")], capture_output=True, text=True,
                             check=True).stdout.split()
    assert sorted(decoded) == sorted([f"QR-Code:{token}", f"CODE-128:{token}"])
    assert pdf.filename(card) == f"card-{citizen.id}-1.pdf"


def test_a_card_checks_in_at_the_kiosk(auth, client, data):
    """The kiosk's box takes the card as it takes the national ID: the holder's booking of today is checked in; a
    revoked card checks nobody in and says why."""
    from intranet.models import utcnow
    from intranet.models.bookings import Booking, BookingService
    from intranet.reception import bookings

    with data():
        citizen, other = make_citizen(), make_citizen()
        desk = _desk()
        token, revoked = tokens.make(service.issue(desk, citizen)), tokens.make(service.issue(desk, other))
        service.revoke(desk, other, "lost")
        counter = BookingService.create(code="cards-counter", name_ar="شباك البطاقات", name_en="Cards counter",
                                        ticket_service="request_submission")
        for person in (citizen, other):
            booking, code = bookings.book(counter, person.national_id, utcnow())
            bookings.confirm(booking, code)
    auth.login("reception1")
    csrf = csrf_token(client, "/tickets/kiosk")
    refused = client.post("/bookings/check-in", data={"csrf_token": csrf, "national_id": revoked})
    assert refused.status_code == 422 and "أُلغيت هذه البطاقة" in refused.text
    forged = client.post("/bookings/check-in", data={"csrf_token": csrf, "national_id": _altered(token, 21)})
    assert forged.status_code == 422 and REFUSED in forged.text
    checked = client.post("/bookings/check-in", data={"csrf_token": csrf, "national_id": tokens.grouped(token)})
    assert checked.status_code == 303 and "/tickets/" in checked.headers["Location"]
    with data():
        statuses = {b.citizen_id: b.status for b in Booking.select()}
        assert statuses == {citizen.id: "checked_in", other.id: "confirmed"}
        assert Booking.get(Booking.citizen == citizen.id).ticket.citizen_id == citizen.id
