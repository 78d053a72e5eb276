"""Bank files: the pain.001 of both versions against the official XSD, exact Decimal totals, tampered files
refused with their line, the banks' CSV layouts, the finance XLSX in both languages, and memory that stays flat
from 10,000 rows to 100,000. No database: the writers take rows, so these tests need only Babel."""
import csv
import datetime as dt
import hashlib
import re
import tempfile
import tracemalloc
from decimal import Decimal

import pytest
from flask import Flask
from flask_babel.speaklater import LazyString
from lxml import etree
from openpyxl import load_workbook

from intranet import config, i18n
from intranet.payouts import bank_profiles, files, finance_sheet

ARABIC_NAME = "عبدالرحمن بن محمد آل ثاني"


@pytest.fixture(scope="module")
def babel_app(tmp_path_factory):
    """Flask with the project's Babel settings and catalogue, without a database (the writers need none)."""
    app = Flask(__name__)
    app.config.from_mapping(config.load({"SECRET_KEY": "test", "INSTANCE_DIR": tmp_path_factory.mktemp("instance")}))
    i18n.init_app(app)
    return app


def make_header(**overrides) -> files.Header:
    values = {"message_id": "DIWAN-20261123-000042", "created_at": dt.datetime(2026, 11, 23, 10, 15, 30),
              "execution_date": dt.date(2026, 11, 25), "debtor_name": "Diwan Citizen Affairs",
              "debtor_iban": "QA78QNBA000000000123456789012", "debtor_bic": "QNBAQAQA", "currency": "QAR",
              "version": "pain.001.001.09", "language": "en"}
    return files.Header(**{**values, **overrides})


def make_row(seq=1, **overrides) -> files.Row:
    values = {"seq": seq, "end_to_end": f"DIWAN-P{seq:09d}", "beneficiary": ARABIC_NAME,
              "iban": "QA58DOHB00001234567890ABCDEFG", "amount": Decimal("1250.50"), "currency": "QAR",
              "tracking_number": f"2026-{seq:07d}", "request_type": "Marriage grant",
              "national_id": f"2876340{seq:04d}"}
    return files.Row(**{**values, **overrides})


def many_rows(n):
    for seq in range(1, n + 1):
        yield make_row(seq, amount=Decimal(seq % 5000) + Decimal("0.05"))


def ns(version):
    return {"p": f"urn:iso:std:iso:20022:tech:xsd:{version}"}


SMALL = [make_row(1, amount=Decimal("0.10")), make_row(2, amount=Decimal("0.20")),
         make_row(3, amount=Decimal("1234.56"), beneficiary="Fatima Al-Kuwari")]


# --- pain.001 ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", files.VERSIONS)
def test_pain001_is_valid_and_states_exact_totals(tmp_path, version):
    path = tmp_path / "batch.xml"
    written = files.write_pain001(path, make_header(version=version), iter(SMALL))
    assert written == files.Totals(3, Decimal("1234.86")) == files.check_pain001(path, version)
    assert path.read_bytes().startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    doc = etree.parse(str(path))
    p = ns(version)
    for part in ("p:GrpHdr", "p:PmtInf"):
        assert doc.findtext(f".//{part}/p:NbOfTxs", namespaces=p) == "3"
        assert doc.findtext(f".//{part}/p:CtrlSum", namespaces=p) == "1234.86"  # 0.10 + 0.20 is 0.30, not 0.300..04
    assert doc.findtext(".//p:CreDtTm", namespaces=p) == "2026-11-23T10:15:30"
    assert doc.findtext(".//p:PmtMtd", namespaces=p) == "TRF"
    assert [e.text for e in doc.iterfind(".//p:InstdAmt", namespaces=p)] == ["0.10", "0.20", "1234.56"]
    assert {e.get("Ccy") for e in doc.iterfind(".//p:InstdAmt", namespaces=p)} == {"QAR"}
    assert [e.text for e in doc.iterfind(".//p:Cdtr/p:Nm", namespaces=p)] == [ARABIC_NAME, ARABIC_NAME,
                                                                             "Fatima Al-Kuwari"]
    assert doc.findtext(".//p:CdtTrfTxInf[3]/p:PmtId/p:EndToEndId", namespaces=p) == "DIWAN-P000000003"
    assert doc.findtext(".//p:CdtTrfTxInf[3]/p:RmtInf/p:Ustrd", namespaces=p) == "2026-0000003"
    assert doc.findtext(".//p:CdtTrfTxInf[3]/p:CdtrAcct/p:Id/p:IBAN", namespaces=p) == "QA58DOHB00001234567890ABCDEFG"
    if version == "pain.001.001.09":
        assert doc.findtext(".//p:ReqdExctnDt/p:Dt", namespaces=p) == "2026-11-25"
        assert doc.findtext(".//p:DbtrAgt/p:FinInstnId/p:BICFI", namespaces=p) == "QNBAQAQA"
    else:
        assert doc.findtext(".//p:ReqdExctnDt", namespaces=p) == "2026-11-25"
        assert doc.findtext(".//p:DbtrAgt/p:FinInstnId/p:BIC", namespaces=p) == "QNBAQAQA"


@pytest.mark.parametrize("version", files.VERSIONS)
def test_pain001_without_a_bic_and_with_a_long_name(tmp_path, version):
    path = tmp_path / "batch.xml"
    files.write_pain001(path, make_header(version=version, debtor_bic=""), [make_row(beneficiary="م" * 200)])
    files.check_pain001(path, version)
    doc = etree.parse(str(path))
    assert doc.findtext(".//p:DbtrAgt/p:FinInstnId/p:Othr/p:Id", namespaces=ns(version)) == "NOTPROVIDED"
    assert doc.findtext(".//p:Cdtr/p:Nm", namespaces=ns(version)) == "م" * 140


def test_the_currency_decides_the_decimals(tmp_path):
    path = tmp_path / "batch.xml"
    header = make_header(currency="KWD")
    files.write_pain001(path, header, [make_row(amount=Decimal("10.125"), currency="KWD"),
                                       make_row(2, amount=Decimal("1.5"), currency="KWD")])
    assert files.check_pain001(path, header.version) == files.Totals(2, Decimal("11.625"))
    assert "<InstdAmt Ccy=\"KWD\">1.500</InstdAmt>" in path.read_text()


@pytest.mark.parametrize("write", [
    lambda path, rows: files.write_pain001(path, make_header(), rows),
    lambda path, rows: files.write_csv(path, make_header(), rows, bank_profiles.DEFAULT_PROFILES["generic"]),
    lambda path, rows: finance_sheet.write_xlsx(path, make_header(), rows),
], ids=["pain001", "csv", "xlsx"])
@pytest.mark.parametrize("row, refusal", [
    (make_row(2, amount=Decimal("10.125")), "more decimals than QAR allows"),
    (make_row(2, amount=Decimal("0.00")), "must be positive"),
    (make_row(2, amount=10.5), "must be a Decimal"),
    (make_row(2, currency="USD"), "is in USD, the batch in QAR"),
])
def test_every_writer_refuses_what_the_bank_would_get_wrong(tmp_path, write, row, refusal):
    with pytest.raises((ValueError, TypeError), match=refusal):
        write(tmp_path / "out", [make_row(1), row])


@pytest.mark.parametrize("write", [files.write_pain001, finance_sheet.write_xlsx], ids=["pain001", "xlsx"])
def test_a_failed_export_leaves_no_temporary_file(tmp_path, monkeypatch, write):
    def failing():
        yield from many_rows(1500)
        raise RuntimeError("the database went away")
    (tmp_path / "out").mkdir(), (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # where openpyxl keeps its sheet
    with pytest.raises(RuntimeError):
        write(tmp_path / "out" / "batch", make_header(), failing())
    assert list((tmp_path / "out").iterdir()) == [] and list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.parametrize("header, refusal", [
    ({"version": "pain.001.001.02"}, "is not one of"), ({"language": "fr"}, "is not one of"),
    ({"currency": "QQQ"}, "not an ISO 4217"), ({"message_id": "M" * 36}, "1 to 35"),
    ({"created_at": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)}, "naive UTC"),
])
def test_headers_that_no_file_can_carry_are_refused(header, refusal):
    with pytest.raises(ValueError, match=refusal):
        make_header(**header)


def test_empty_batches_and_long_references_are_refused(tmp_path):
    with pytest.raises(ValueError, match="at least one"):
        files.write_pain001(tmp_path / "batch.xml", make_header(), [])
    with pytest.raises(ValueError, match="1 to 35"):
        files.write_pain001(tmp_path / "batch.xml", make_header(), [make_row(end_to_end="E" * 36)])


def test_progress_every_thousand_rows_and_at_the_end(tmp_path):
    seen = []
    files.write_pain001(tmp_path / "batch.xml", make_header(), many_rows(2500), on_progress=seen.append)
    assert seen == [1000, 2000, 2500]


def _written(tmp_path, version="pain.001.001.09", n=50) -> list[bytes]:
    path = tmp_path / "batch.xml"
    files.write_pain001(path, make_header(version=version), many_rows(n))
    return path.read_bytes().splitlines(keepends=True)


def _check(tmp_path, lines, version="pain.001.001.09"):
    path = tmp_path / "tampered.xml"
    path.write_bytes(b"".join(lines))
    return files.check_pain001(path, version)


def test_a_changed_amount_no_longer_matches_the_control_sum(tmp_path):
    lines = _written(tmp_path)
    at = next(i for i, line in enumerate(lines) if b"<InstdAmt" in line)
    lines[at] = lines[at].replace(b"1.05<", b"1.15<")
    with pytest.raises(files.FileInvalid, match=r"GrpHdr states 50 payments totalling 1277\.50, but it holds 50 "
                                                 r"totalling 1277\.60"):
        _check(tmp_path, lines)


@pytest.mark.parametrize("version", files.VERSIONS)
def test_a_removed_element_is_refused_with_its_line(tmp_path, version):
    lines = _written(tmp_path, version)
    ids = [i for i, line in enumerate(lines) if b"<EndToEndId>" in line]
    del lines[ids[30]]  # PmtId, the line before, is left empty
    with pytest.raises(files.FileInvalid, match=rf"schema \(line {ids[30]}\): Element .*PmtId.*Missing child"):
        _check(tmp_path, lines, version)


@pytest.mark.parametrize("amount, refusal", [(b"x1.05", "'x1.05' is not a valid value"), (b"", "'' is not")])
def test_a_value_the_schema_refuses_is_found_at_its_line(tmp_path, amount, refusal):
    lines = _written(tmp_path, n=200)
    at = [i for i, line in enumerate(lines) if b"<InstdAmt" in line][150]
    lines[at] = re.sub(rb">[^<]*<", b">" + amount + b"<", lines[at])
    with pytest.raises(files.FileInvalid, match=rf"\(line {at + 1}\): Element .*InstdAmt.*{refusal}"):
        _check(tmp_path, lines)


@pytest.mark.parametrize("content, refusal", [
    (b"this is not XML", "line 1"), (b"<Document/>", "No matching global declaration"),
])
def test_files_that_are_not_pain001_are_refused(tmp_path, content, refusal):
    with pytest.raises(files.FileInvalid, match=refusal):
        _check(tmp_path, [content])


def test_the_version_checked_is_the_version_written(tmp_path):
    with pytest.raises(files.FileInvalid, match="pain.001.001.03 schema"):
        _check(tmp_path, _written(tmp_path, "pain.001.001.09"), "pain.001.001.03")


def test_sha256_of(tmp_path):
    lines = _written(tmp_path)
    assert files.sha256_of(tmp_path / "batch.xml") == hashlib.sha256(b"".join(lines)).hexdigest()


# --- the banks' CSV ----------------------------------------------------------------------------------------------

def test_generic_csv(tmp_path):
    path = tmp_path / "batch.csv"
    assert files.write_csv(path, make_header(), iter(SMALL), bank_profiles.DEFAULT_PROFILES["generic"]).count == 3
    assert path.read_bytes().startswith("\ufeff".encode())
    with open(path, encoding="utf-8-sig", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["end_to_end", "beneficiary", "iban", "amount", "currency", "tracking_number"]
    assert table[1] == ["DIWAN-P000000001", ARABIC_NAME, "QA58DOHB00001234567890ABCDEFG", "0.10", "QAR", "2026-0000001"]
    assert [line[3] for line in table[1:]] == ["0.10", "0.20", "1234.56"]


def test_semicolon_csv_without_header(tmp_path):
    path = tmp_path / "batch.csv"
    files.write_csv(path, make_header(), iter(SMALL), bank_profiles.DEFAULT_PROFILES["bulk-semicolon"])
    assert not path.read_bytes().startswith("\ufeff".encode())
    with open(path, encoding="utf-8", newline="") as handle:
        table = list(csv.reader(handle, delimiter=";"))
    assert table[0] == ["QA58DOHB00001234567890ABCDEFG", ARABIC_NAME, "28763400001", "0.10", "QAR", "2026-11-25",
                        "DIWAN-P000000001", "DIWAN-20261123-000042"]
    assert len(table) == 3


def test_custom_profile_from_the_setting(tmp_path):
    profiles = bank_profiles.parse('{"acme": {"label": "Acme Bank", "columns": ["national_id", "amount", '
                                   '"request_type"], "delimiter": "|", "encoding": "utf-8", "header": true}}')
    assert list(profiles) == ["acme"] and profiles["acme"].label == "Acme Bank"
    path = tmp_path / "batch.csv"
    files.write_csv(path, make_header(), [make_row(7, beneficiary="a|b")], profiles["acme"])
    assert path.read_bytes().decode() == "national_id|amount|request_type\r\n28763400007|1250.50|Marriage grant\r\n"


def test_no_setting_means_the_default_profiles():
    assert bank_profiles.parse("") == bank_profiles.DEFAULT_PROFILES
    assert bank_profiles.parse('{"x": {"columns": ["iban"]}}')["x"] == bank_profiles.BankProfile("x", "x", ("iban",))


@pytest.mark.parametrize("raw, refusal", [
    ('{"acme": {"columns": ["iban", "swift"]}}', "bank profile 'acme': unknown column.*'swift'"),
    ('{"acme": {"columns": []}}', "bank profile 'acme': columns must be a non-empty list"),
    ('{"acme": {"label": "Acme"}}', "bank profile 'acme': columns must be a non-empty list"),
    ('{"acme": {"columns": "iban,amount"}}', "bank profile 'acme': columns must be a non-empty list"),
    ('{"acme": {"columns": ["iban"], "delimiter": "::"}}', "bank profile 'acme': delimiter '::'"),
    ('{"acme": {"columns": ["iban"], "encoding": "latin-1"}}', "bank profile 'acme': encoding 'latin-1'"),
    ('{"acme": {"columns": ["iban"], "header": "yes"}}', "bank profile 'acme': header must be true or false"),
    ('{"acme": {"columns": ["iban"], "delimeter": ";"}}', "bank profile 'acme': unknown setting.*delimeter"),
    ('{"acme": ["iban"]}', "bank profile 'acme': must be a JSON object"),
    ('{"acme": {"columns": ["iban"]', "PAYOUT_BANK_PROFILES is not valid JSON"),
    ('[]', "PAYOUT_BANK_PROFILES must be a JSON object"),
])
def test_bad_profiles_are_refused_by_name(raw, refusal):
    with pytest.raises(ValueError, match=refusal):
        bank_profiles.parse(raw)


# --- the finance XLSX --------------------------------------------------------------------------------------------

def _xlsx(babel_app, tmp_path, language, rows=SMALL):
    path = tmp_path / f"batch-{language}.xlsx"
    with babel_app.test_request_context():
        finance_sheet.write_xlsx(path, make_header(language=language), iter(rows))
    sheet = load_workbook(path).worksheets[0]
    return sheet, [list(line) for line in sheet.iter_rows(values_only=True)]


def test_xlsx_in_english(babel_app, tmp_path):
    sheet, table = _xlsx(babel_app, tmp_path, "en")
    assert sheet.title == "Payouts" and not sheet.sheet_view.rightToLeft
    assert table[0] == ["No.", "Tracking number", "Request type", "Beneficiary", "National ID", "IBAN",
                        "Amount (QAR)", "Payment reference"]
    assert table[1] == [1, "2026-0000001", "Marriage grant", ARABIC_NAME, "28763400001",
                        "QA58DOHB00001234567890ABCDEFG", 0.1, "DIWAN-P000000001"]
    assert [Decimal(str(line[6])) for line in table[1:4]] == [Decimal("0.10"), Decimal("0.20"), Decimal("1234.56")]
    assert table[4][:2] == ["Total", "3 payouts"] and Decimal(str(table[4][6])) == Decimal("1234.86")
    assert sheet["G2"].number_format == "#,##0.00" and sheet["G5"].number_format == "#,##0.00"
    assert sheet["F2"].data_type == "s" and sheet["E2"].data_type == "s"  # IBAN and national id stay text
    assert sheet.freeze_panes == "A2"


def test_xlsx_in_arabic_reads_right_to_left(babel_app, tmp_path):
    sheet, table = _xlsx(babel_app, tmp_path, "ar")
    assert sheet.sheet_view.rightToLeft and sheet.title == "الدفعات"
    # msgids already in the catalogue
    assert table[0][1:6] == ["رقم المتابعة", "نوع الطلب", "المستفيد", "الرقم الوطني", "رقم الآيبان"]
    assert Decimal(str(table[4][6])) == Decimal("1234.86")


def test_xlsx_new_headings_in_arabic(babel_app, tmp_path):
    """Needs the Arabic of this module's new msgids merged into the catalogue."""
    _, table = _xlsx(babel_app, tmp_path, "ar")
    assert [table[0][0], table[0][6], table[0][7]] == ["م", "المبلغ (QAR)", "مرجع الدفعة"]
    assert table[4][:2] == ["المجموع", "3 دفعات"]


def test_xlsx_keeps_a_name_that_looks_like_a_formula_as_text(babel_app, tmp_path):
    sheet, table = _xlsx(babel_app, tmp_path, "en", [make_row(beneficiary='=HYPERLINK("http://x","y")')])
    assert table[1][3] == '=HYPERLINK("http://x","y")' and sheet["D2"].data_type == "s"


def test_file_invalid_messages_are_translatable():
    with pytest.raises(files.FileInvalid) as refused:
        files.check_pain001(__file__, "pain.001.001.09")
    assert isinstance(refused.value.message, LazyString)  # rendered in the language of whoever reads it


# --- memory ------------------------------------------------------------------------------------------------------

def _bank_files(tmp_path, n):
    header = make_header()
    files.write_pain001(tmp_path / "batch.xml", header, many_rows(n))
    assert files.check_pain001(tmp_path / "batch.xml", header.version).count == n
    files.write_csv(tmp_path / "batch.csv", header, many_rows(n), bank_profiles.DEFAULT_PROFILES["generic"])


def _finance_file(tmp_path, n):
    finance_sheet.write_xlsx(tmp_path / "batch.xlsx", make_header(), many_rows(n))


def _peak(babel_app, tmp_path, export, n) -> int:
    """The most Python memory held while `export` handles n rows."""
    tracemalloc.start()
    try:
        with babel_app.test_request_context():
            export(tmp_path, n)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
@pytest.mark.parametrize("export, small, large", [
    (_bank_files, 10_000, 100_000),
    (_finance_file, 2_000, 20_000),  # openpyxl is slow under tracemalloc; growth per row shows as well here
], ids=["pain001-check-csv", "xlsx"])
def test_memory_stays_flat_as_rows_grow_tenfold(babel_app, tmp_path, export, small, large):
    _peak(babel_app, tmp_path, export, 100)  # the XSDs, the catalogue, the imports: loaded once per process
    peaks = _peak(babel_app, tmp_path, export, small), _peak(babel_app, tmp_path, export, large)
    assert peaks[1] < peaks[0] * 1.25 + 256 * 1024, peaks  # growth with the rows would be ten times their share


def test_built_in_bank_layouts_are_named_in_the_readers_language(babel_app):
    """The layouts the intranet ships with are translated; a layout the institution configures keeps its own words."""
    from flask_babel import force_locale

    configured = bank_profiles.parse('{"qnb": {"label": "QNB bulk", "columns": ["iban", "amount"]}}')["qnb"]
    with babel_app.test_request_context():
        with force_locale("ar"):
            assert str(bank_profiles.DEFAULT_PROFILES["generic"].title) == "ملف CSV عام"
            assert str(bank_profiles.DEFAULT_PROFILES["bulk-semicolon"].title) == "رفع جماعي (فاصلة منقوطة، بلا صف عناوين)"
            assert configured.title == "QNB bulk"
        with force_locale("en"):
            assert str(bank_profiles.DEFAULT_PROFILES["generic"].title) == "Generic CSV"
