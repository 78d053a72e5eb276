"""The citizen's receipt: HTML and PDF in the citizen's language, both layouts, who may print it."""
import re
import subprocess
from pathlib import Path

import pytest

from intranet import db
from tests.conftest import csrf_token
from tests.factories import make_citizen, make_request

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PAGE_SIZE = re.compile(r"Page size:\s+([\d.]+) x ([\d.]+) pts")


def _health_request(language="ar", documents=("medical_report", "invoice")):
    citizen = make_citizen(preferred_language=language, full_name="Mariam Al-Kuwari" if language == "en" else "مريم الكواري")
    return make_request("health_care", citizen=citizen, data={"documents_received": list(documents)})


def _pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def _page_size(path: Path) -> tuple[float, float]:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    width, height = PAGE_SIZE.search(info).groups()
    return float(width), float(height)


def test_receipt_in_arabic_whatever_the_staff_language(app, auth, client):
    # no `ctx` here: an app context held across requests would keep the first request's locale for all
    with app.test_request_context(), db.database.connection_context():
        req = _health_request("ar")
    auth.login("reception1")
    client.post("/language", data={"lang": "en", "csrf_token": csrf_token(client, "/reception/"), "next": "/reception/"})
    assert '<html lang="en"' in client.get("/reception/").text  # the facilitator works in English
    page = client.get(f"/requests/{req.tracking_number}/receipt")
    assert page.status_code == 200
    assert '<html lang="ar" dir="rtl" class="layout-80mm">' in page.text
    # isolated beside its label (the `ltr` filter), not pushed to the far edge by a right-to-left paragraph
    assert f'<p class="tracking-number"><bdi dir="ltr" class="ltr">{req.tracking_number}</bdi></p>' in page.text
    for text in ("ديوان", "رقم المتابعة", "منحة رعاية صحية", "التقرير الطبي", "فاتورة العلاج", "Desk", "مريم الكواري"):
        assert text in page.text
    assert re.search(r'<figure class="qr" role="img" aria-label="[^"]+">\s*<svg', page.text)
    assert "<button type=\"button\" data-print>" in page.text and f'href="/requests/{req.tracking_number}"' in page.text
    assert 'class="site-header"' not in page.text  # no navigation chrome on paper


def test_receipt_in_english_for_an_english_speaking_citizen(auth, client, ctx):
    auth.login("supervisor1")
    req = _health_request("en", documents=())
    page = client.get(f"/requests/{req.tracking_number}/receipt?layout=a5")
    assert page.status_code == 200
    assert '<html lang="en" dir="ltr" class="layout-a5">' in page.text
    for text in ("Diwan", "Tracking number", "Health-care grant", "Expected answer by", "Documents received", "none"):
        assert text in page.text
    assert "<svg" in page.text and "رقم المتابعة" not in page.text


@pytest.mark.parametrize("language, labels", [
    ("ar", ["رقم المتابعة", "المستندات المستلمة", "التقرير الطبي"]),
    ("en", ["Tracking number", "Documents received", "Medical report"]),
])
@pytest.mark.parametrize("layout", ["80mm", "a5"])
def test_receipt_pdf(auth, client, ctx, tmp_path, backend, layout, language, labels):
    auth.login("reception1")
    req = _health_request(language)
    response = client.get(f"/requests/{req.tracking_number}/receipt.pdf?layout={layout}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f"inline; filename=receipt-{req.tracking_number}.pdf"
    assert response.data.startswith(b"%PDF-")
    pdf = tmp_path / "receipt.pdf"
    pdf.write_bytes(response.data)
    text = _pdf_text(pdf)
    assert req.tracking_number in text
    for label in labels:
        assert label in text
    width, height = _page_size(pdf)
    if layout == "80mm":
        assert width == pytest.approx(226.77, abs=0.05)  # 80 mm
        assert 250 < height < 842  # cut where the receipt ends, shorter than an A4 sheet
    else:
        assert (width, height) == pytest.approx((419.53, 595.28), abs=0.05)  # A5
    # page 1 as a picture, to look at (test-artifacts/ is not versioned)
    ARTIFACTS.mkdir(exist_ok=True)
    stem = ARTIFACTS / f"receipt-{layout}-{language}-{'sqlite' if backend.startswith('sqlite') else 'postgresql'}"
    subprocess.run(["pdftoppm", "-png", "-r", "100", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(stem)], check=True)
    assert stem.with_suffix(".png").stat().st_size > 1000


# health1 is a clerk of the request's department, comp1 of another: receipts are the desk's business
@pytest.mark.parametrize("username, status", [("health1", 403), ("comp1", 403), ("admin1", 200)])
def test_who_may_print_a_receipt(auth, client, ctx, username, status):
    req = _health_request()
    auth.login(username)
    assert client.get(f"/requests/{req.tracking_number}/receipt").status_code == status
    assert client.get(f"/requests/{req.tracking_number}/receipt.pdf").status_code == status


def test_signed_out_goes_to_sign_in(client, ctx):
    req = _health_request()
    response = client.get(f"/requests/{req.tracking_number}/receipt")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_unknown_request_and_unknown_layout(auth, client, ctx):
    auth.login("reception1")
    assert client.get("/requests/26-9999999-0/receipt").status_code == 404
    req = _health_request()
    for path in ("receipt", "receipt.pdf"):
        response = client.get(f"/requests/{req.tracking_number}/{path}?layout=a4")
        assert response.status_code == 400
        assert "layout=a5" in response.text and "تخطيط" in response.text  # the refusal says what to choose, in Arabic


def test_request_page_links_to_the_receipt_for_the_desk_only(auth, client, ctx):
    req = _health_request()  # in the health department's first stage
    link = f'href="/requests/{req.tracking_number}/receipt"'
    auth.login("reception1")
    assert link in client.get(f"/requests/{req.tracking_number}").text
    auth.logout()
    auth.login("health1")  # the department's clerk sees the request, not the receipt
    page = client.get(f"/requests/{req.tracking_number}")
    assert page.status_code == 200 and link not in page.text
