"""The XLSX finance reads for a payout batch: one sheet, headings in the batch's language (right to left for
Arabic), one line per payout, then the totals of the lines written.

Written with XlsxWriter in constant-memory mode: each row goes to disk as it is written, so the sheet of 100,000
payouts costs the memory of one row, and it writes about twice as fast as openpyxl's write-only mode. Text cells
stay text (a name a citizen typed as "=..." is never a formula); amounts are numbers in the currency's decimals.
"""
import contextlib
from pathlib import Path

import xlsxwriter
from babel.numbers import get_currency_precision
from flask_babel import force_locale

from intranet.i18n import gettext, ngettext

from intranet.payouts.files import Header, Totals, _tally, fitted

WIDTHS = (7, 16, 24, 32, 14, 32, 16, 24)
SHEET_NAME_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})


def write_xlsx(path, header: Header, rows, on_progress=None) -> Totals:
    """No title row, so finance can filter and pivot from the first line; the batch's id is the workbook's title.
    A failure leaves no file behind."""
    totals = Totals()
    places = get_currency_precision(header.currency)
    number_format = "#,##0" + ("." + "0" * places if places else "")
    workbook = xlsxwriter.Workbook(str(path), {
        "constant_memory": True, "tmpdir": str(Path(path).parent), "strings_to_numbers": False,
        "strings_to_formulas": False, "strings_to_urls": False})
    try:
        workbook.set_properties({"title": header.message_id, "created": header.created_at})
        bold = workbook.add_format({"bold": True})
        money = workbook.add_format({"num_format": number_format})
        bold_money = workbook.add_format({"num_format": number_format, "bold": True})
        with force_locale(header.language):
            sheet = workbook.add_worksheet(gettext("Payouts").translate(SHEET_NAME_FORBIDDEN)[:31])
            if header.language == "ar":
                sheet.right_to_left()
            sheet.freeze_panes(1, 0)
            for column, width in enumerate(WIDTHS):
                sheet.set_column(column, column, width)
            sheet.write_row(0, 0, (gettext("No."), gettext("Tracking number"), gettext("Request type"),
                                   gettext("Beneficiary"), gettext("National ID"), gettext("IBAN"),
                                   gettext("Amount (%(currency)s)", currency=header.currency),
                                   gettext("Payment reference")), bold)
            line = 0
            for row in _tally(rows, header, totals, on_progress):
                line += 1
                sheet.write_number(line, 0, row.seq)
                sheet.write_string(line, 1, row.tracking_number)
                sheet.write_string(line, 2, row.request_type)
                sheet.write_string(line, 3, row.beneficiary)
                sheet.write_string(line, 4, row.national_id)
                sheet.write_string(line, 5, row.iban)
                sheet.write_number(line, 6, fitted(row.amount, header.currency), money)
                sheet.write_string(line, 7, row.end_to_end)
            sheet.write_string(line + 1, 0, gettext("Total"), bold)
            sheet.write_string(line + 1, 1, ngettext("%(num)d payout", "%(num)d payouts", totals.count))
            sheet.write_number(line + 1, 6, totals.total, bold_money)
        workbook.close()
    except BaseException:
        with contextlib.suppress(Exception):
            workbook.close()  # removes its temporary files
        Path(path).unlink(missing_ok=True)
        raise
    return totals
