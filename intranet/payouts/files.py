"""The files a payout batch is exported to: the bank's pain.001 (and its check against the ISO schema) and the bank's
CSV in its own layout (the XLSX finance reads is `finance_sheet`). Pure and streamed: rows come from an iterable (the export job
reads them from the database page by page), nothing here holds more than one row, so 100,000 rows cost what 10 do.

Amounts are Decimals written with exactly the currency's minor units; an amount that does not fit is refused,
never rounded. Every writer returns the Totals of the rows it wrote, for the job to compare across files.
"""
import csv
import datetime as dt
import functools
import hashlib
import importlib.resources
import operator
import shutil
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from babel.numbers import get_currency_precision, is_currency
from intranet.i18n import lazy_gettext as _l
from lxml import etree
from lxml.builder import ElementMaker

from intranet.payouts.bank_profiles import BankProfile

VERSIONS = ("pain.001.001.03", "pain.001.001.09")
LANGUAGES = ("ar", "en")
PROGRESS_EVERY = 1000
MAX_ID = 35  # Max35Text: MsgId, EndToEndId
MAX_NAME = 140  # Max140Text: every Nm, Ustrd


class FileInvalid(Exception):
    """A written file does not say what it should; the message says where."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class Header:
    message_id: str
    created_at: dt.datetime  # naive UTC
    execution_date: dt.date
    debtor_name: str
    debtor_iban: str
    debtor_bic: str  # "" when the institution's bank has none to give
    currency: str
    version: str
    language: str = "ar"

    def __post_init__(self):
        if self.version not in VERSIONS:
            raise ValueError(f"pain version {self.version!r} is not one of {', '.join(VERSIONS)}")
        if self.language not in LANGUAGES:
            raise ValueError(f"language {self.language!r} is not one of {', '.join(LANGUAGES)}")
        if not is_currency(self.currency):
            raise ValueError(f"{self.currency!r} is not an ISO 4217 currency")
        if not 0 < len(self.message_id) <= MAX_ID:
            raise ValueError(f"message id {self.message_id!r} must have 1 to {MAX_ID} characters")
        if self.created_at.tzinfo is not None:
            raise ValueError("created_at must be naive UTC")


@dataclass(frozen=True)
class Row:
    seq: int
    end_to_end: str
    beneficiary: str
    iban: str
    amount: Decimal
    currency: str
    tracking_number: str
    request_type: str
    national_id: str


@dataclass
class Totals:
    count: int = 0
    total: Decimal = Decimal(0)

    def add(self, amount: Decimal):
        self.count += 1
        self.total += amount


@functools.cache
def _minor_unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-get_currency_precision(currency))


def fitted(amount: Decimal, currency: str) -> Decimal:
    """The amount with exactly the currency's decimals (1234.5 -> 1234.50 for QAR). More decimals than the
    currency has is an error (a payout computed wrong upstream), not something a bank file may round away."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"amount {amount!r} must be a Decimal")
    exact = amount.quantize(_minor_unit(currency))
    if exact != amount:
        raise ValueError(f"{amount} has more decimals than {currency} allows")
    if exact <= 0:
        raise ValueError(f"amount {amount} must be positive")
    return exact


def amount_text(amount: Decimal, currency: str) -> str:
    return f"{fitted(amount, currency):f}"


def _tally(rows, header: Header, totals: Totals, on_progress):
    """Each row in turn, counted into totals once the writer has written it; the same refusals for every file."""
    for row in rows:
        if row.currency != header.currency:
            raise ValueError(f"payout {row.end_to_end} is in {row.currency}, the batch in {header.currency}")
        yield row
        totals.add(row.amount)
        if on_progress and totals.count % PROGRESS_EVERY == 0:
            on_progress(totals.count)
    if on_progress:
        on_progress(totals.count)


def sha256_of(path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


# --- pain.001 ------------------------------------------------------------------------------------------------

def _namespace(version: str) -> str:
    return f"urn:iso:std:iso:20022:tech:xsd:{version}"


def _document(header: Header, totals: Totals) -> etree._Element:
    """Everything but the transactions, with the totals the header must state before them."""
    E = ElementMaker(namespace=_namespace(header.version), nsmap={None: _namespace(header.version)})
    since_09 = header.version == "pain.001.001.09"  # 09 nests the date in a choice and renamed BIC to BICFI
    count, control_sum = str(totals.count), amount_text(totals.total, header.currency)
    name = header.debtor_name[:MAX_NAME]
    agent = (E("BICFI" if since_09 else "BIC", header.debtor_bic) if header.debtor_bic
             else E.Othr(E.Id("NOTPROVIDED")))
    execution = header.execution_date.isoformat()
    return E.Document(E.CstmrCdtTrfInitn(
        E.GrpHdr(E.MsgId(header.message_id), E.CreDtTm(header.created_at.isoformat(timespec="seconds")),
                 E.NbOfTxs(count), E.CtrlSum(control_sum), E.InitgPty(E.Nm(name))),
        E.PmtInf(E.PmtInfId(header.message_id), E.PmtMtd("TRF"), E.NbOfTxs(count), E.CtrlSum(control_sum),
                 E.ReqdExctnDt(E.Dt(execution) if since_09 else execution), E.Dbtr(E.Nm(name)),
                 E.DbtrAcct(E.Id(E.IBAN(header.debtor_iban))), E.DbtrAgt(E.FinInstnId(agent)))))


def _transaction(currency: str) -> etree._Element:
    """One CdtTrfTxInf, filled in for each row and written again: building 100,000 trees would cost more. No
    namespace: it is copied inside the Document, whose default namespace it takes."""
    E = ElementMaker()
    tx = E.CdtTrfTxInf(E.PmtId(E.EndToEndId()), E.Amt(E.InstdAmt(Ccy=currency)), E.Cdtr(E.Nm()),
                       E.CdtrAcct(E.Id(E.IBAN())), E.RmtInf(E.Ustrd()))
    etree.indent(tx, level=3)
    return tx


def write_pain001(path, header: Header, rows, on_progress=None) -> Totals:
    """The ISO 20022 credit transfer initiation: one PmtInf holding every row. The header states the count and
    sum, known only after the last row, so the transactions go to a temporary file first (beside `path`, not in
    a /tmp that may be memory), then the file is the header, those bytes, and the closing tags."""
    totals = Totals()
    tx = _transaction(header.currency)
    fields = [tx.find(p) for p in ("PmtId/EndToEndId", "Amt/InstdAmt", "Cdtr/Nm", "CdtrAcct/Id/IBAN", "RmtInf/Ustrd")]
    with tempfile.TemporaryFile(dir=Path(path).parent) as body:
        # xmlfile wants one root: the transactions are wrapped in a PmtInf whose end tag becomes the real one's
        with etree.xmlfile(body, encoding="utf-8") as xf, xf.element("PmtInf"):
            for row in _tally(rows, header, totals, on_progress):
                if not 0 < len(row.end_to_end) <= MAX_ID:
                    raise ValueError(f"end-to-end id {row.end_to_end!r} must have 1 to {MAX_ID} characters")
                for field, value in zip(fields, (row.end_to_end, amount_text(row.amount, header.currency),
                                                 row.beneficiary[:MAX_NAME], row.iban, row.tracking_number[:MAX_NAME])):
                    field.text = value
                xf.write("\n      ")
                xf.write(tx)
            xf.write("\n    ")
        if not totals.count:
            raise ValueError("a pain.001 needs at least one payment")
        text = etree.tostring(_document(header, totals), xml_declaration=True, encoding="UTF-8", pretty_print=True)
        end = text.rindex(b"</PmtInf>")
        with open(path, "wb") as out:
            out.write(text[:end].rstrip())
            body.seek(len(b"<PmtInf>"))
            shutil.copyfileobj(body, out, 1 << 20)
            out.write(text[end + len(b"</PmtInf>"):])
    return totals


@functools.cache
def _schema(version: str) -> etree.XMLSchema:
    """The official XSD as sepaxml ships it, parsed once per process."""
    if version not in VERSIONS:
        raise ValueError(f"pain version {version!r} is not one of {', '.join(VERSIONS)}")
    with importlib.resources.as_file(importlib.resources.files("sepaxml") / "schemas" / f"{version}.xsd") as xsd:
        return etree.XMLSchema(etree.parse(str(xsd)))


def _drop_previous(tx):
    """Forget the transaction before this one (not the PmtInf's header, which precedes it too)."""
    previous = tx.getprevious()
    if previous is not None and previous.tag == tx.tag:
        tx.getparent().remove(previous)


def _skeleton(tx) -> etree._Element:
    """A new document of the first transaction's ancestors holding everything that precedes it (GrpHdr, the
    PmtInf's header), moved there from the tree being parsed, so that the elements keep their lines."""
    downwards = [tx, *tx.iterancestors()][::-1]  # Document, CstmrCdtTrfInitn, PmtInf, the transaction
    copy = None
    for original, child in zip(downwards, downwards[1:]):
        copy = (etree.Element(original.tag, original.attrib, nsmap=original.nsmap) if copy is None
                else etree.SubElement(copy, original.tag, original.attrib))
        copy.extend(reversed(list(child.itersiblings(preceding=True))))
    return copy  # the PmtInf


def _first_error(path, schema: etree.XMLSchema) -> tuple[int, str] | None:
    """The line and message of the file's first schema error. libxml2's streamed validation knows no lines (and
    raises some errors late), so this second pass, run only for a file already refused, validates each
    transaction in turn in a small document made of the file's own header: its elements keep their lines."""
    try:
        holder = None
        for _, tx in etree.iterparse(path, tag="{*}CdtTrfTxInf"):
            holder = _skeleton(tx) if holder is None else holder
            holder.append(tx)
            if not schema.validate(holder.getroottree()):
                return schema.error_log[0].line, schema.error_log[0].message
            holder.remove(tx)
    except etree.XMLSyntaxError as error:
        return error.lineno, error.msg
    return None  # the error is after the last transaction, or there is none


def _read_back(path, schema: etree.XMLSchema, ns: str) -> tuple[Totals, dict]:
    """The transactions' totals and the stated ones ((part, name) -> text), validating on the way."""
    totals, stated = Totals(), {}
    watched = (f"{{{ns}}}InstdAmt", f"{{{ns}}}CdtTrfTxInf", f"{{{ns}}}NbOfTxs", f"{{{ns}}}CtrlSum")
    for _, element in etree.iterparse(path, schema=schema, tag=watched):
        if element.tag == watched[0]:
            totals.add(Decimal(element.text or ""))  # "" raises, as the XSD will
        elif element.tag == watched[1]:
            element.clear()
            _drop_previous(element)
        else:
            stated[etree.QName(element.getparent()).localname, etree.QName(element).localname] = element.text
    return totals, stated


def check_pain001(path, version: str) -> Totals:
    """The file as the bank will judge it: valid against the official XSD, streamed (memory stays flat), and its
    stated count and control sums equal to its transactions. Returns the totals read back."""
    schema = _schema(version)
    try:
        totals, stated = _read_back(path, schema, _namespace(version))
    except (etree.XMLSyntaxError, ArithmeticError) as error:  # an amount read before the lagging validator refused it
        line, message = _first_error(path, schema) or ("?", str(error))
        raise FileInvalid(_l("The bank file does not follow the %(version)s schema (line %(line)s): %(error)s",
                             version=version, line=line, error=message)) from error
    for part in ("GrpHdr", "PmtInf"):  # both optional in PmtInf for the XSD; this module always writes them
        count, control_sum = stated.get((part, "NbOfTxs")), stated.get((part, "CtrlSum"))
        if count is None or int(count) != totals.count or control_sum is None or Decimal(control_sum) != totals.total:
            raise FileInvalid(_l("The bank file's %(part)s states %(stated_count)s payments totalling "
                                 "%(stated_sum)s, but it holds %(count)s totalling %(total)s.", part=part,
                                 stated_count=count or "-", stated_sum=control_sum or "-", count=totals.count,
                                 total=totals.total))
    return totals


# --- the bank's CSV (its layout: payouts/bank_profiles.py) ------------------------------------------------------

def _csv_value(column: str, header: Header):
    """The function of a row that gives the column's text."""
    if column == "message_id":
        return lambda row: header.message_id
    if column == "execution_date":
        return lambda row, date=header.execution_date.isoformat(): date
    if column == "amount":
        return lambda row: amount_text(row.amount, header.currency)
    return operator.attrgetter(column)


def write_csv(path, header: Header, rows, profile: BankProfile, on_progress=None) -> Totals:
    """The rows in the bank's layout; amounts as in the pain.001."""
    values = [_csv_value(column, header) for column in profile.columns]
    totals = Totals()
    with open(path, "w", encoding=profile.encoding, newline="") as handle:
        writer = csv.writer(handle, delimiter=profile.delimiter)
        if profile.header:
            writer.writerow(profile.columns)
        writer.writerows([value(row) for value in values] for row in _tally(rows, header, totals, on_progress))
    return totals
