"""Field validators shared by every way data comes in (forms, API, imports): national ID, phone, names."""
import unicodedata

import phonenumbers
from flask import current_app
from intranet.i18n import lazy_gettext as _l
from stdnum import luhn
from wtforms.validators import ValidationError

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


# bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): typed into a name or a file name
# they reorder what staff read next to it ("gpj.exe" shown as "exe.jpg"); the interface adds its own isolates
_BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def strip_bidi(text: str) -> str:
    """`text` without bidirectional control characters."""
    return (text or "").translate(_BIDI_CONTROLS)


# C0 and C1 control characters but the newline: pasted into free text (an answer sent by SMS) they garble the
# message on the citizen's phone or the gateway's request
_CONTROLS = dict.fromkeys(code for code in [*range(0x20), *range(0x7F, 0xA0)] if code != 0x0A)


def strip_controls(text: str) -> str:
    """Free text without control characters (line breaks kept as LF, tabs as spaces) nor bidirectional controls."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return strip_bidi(text).translate(_CONTROLS)


def ascii_digits(text: str) -> str:
    """Arabic-Indic and Persian digits as ASCII digits, spaces and dashes removed."""
    return (text or "").translate(_DIGITS).replace(" ", "").replace("-", "")


def clean_national_id(text: str) -> str:
    """The national ID in canonical form, or ValueError with a message for the person."""
    value = ascii_digits(text)
    length = current_app.config["NATIONAL_ID_LENGTH"]
    if not value.isdigit() or len(value) != length:
        raise ValueError(_l("A national ID is %(n)d digits.", n=length))
    if not luhn.is_valid(value):
        raise ValueError(_l("This national ID is not valid: check the digits."))
    return value


def clean_name(text: str) -> str:
    """A person's name: letters of any script, combining marks (Arabic diacritics), spaces, ' - . only."""
    value = " ".join(strip_bidi(text).split())
    if not value or not all(unicodedata.category(ch)[0] in "LM" or ch in " '-." for ch in value):
        raise ValueError(_l("A name has only letters, spaces, apostrophes, hyphens and dots."))
    return value


def clean_phone(text: str) -> str:
    """The phone number in international (E.164) form, or ValueError."""
    try:
        number = phonenumbers.parse(ascii_digits(text), current_app.config["DEFAULT_PHONE_REGION"])
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValueError(_l("Enter a valid mobile number, for example 5512 3456 or +974 5512 3456."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def clean_email(text: str) -> str:
    """An e-mail address in normalised form (syntax only: no DNS lookup), or ValueError."""
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email((text or "").strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValueError(_l("Enter a valid e-mail address, for example name@example.com.")) from None


def clean_iban(text: str) -> str:
    """The IBAN in compact form if its country format and check digits are right, else ValueError."""
    from schwifty import IBAN
    from schwifty.exceptions import InvalidChecksumDigits, SchwiftyException

    try:
        return IBAN(ascii_digits(text).upper()).compact
    except InvalidChecksumDigits:
        raise ValueError(_l("The IBAN's check digits are wrong: check every character.")) from None
    except SchwiftyException:
        raise ValueError(_l("This is not a valid IBAN, for example QA58 DOHB 0000 1234 5678 90AB CDEF G.")) from None


def field_check(clean):
    """A WTForms validator from a clean_* function; the cleaned value replaces the field's data."""
    def check(form, field):
        if not field.data:
            return  # emptiness is for DataRequired/Optional to judge
        try:
            field.data = clean(field.data)
        except ValueError as error:
            raise ValidationError(str(error.args[0])) from None
    return check
