"""The card token: what the card's QR code and Code 128 barcode carry, in place of the national ID.

Digits only, so a barcode scanner typing as a keyboard gives the same characters whatever keyboard layout the desk's
computer has (an Arabic layout turns letters into Arabic letters, never digits), and Code 128 packs them two to a
symbol: 26 digits, the card's id on 10 then a 16-digit signature. The signature is an HMAC-SHA256 (itsdangerous,
keyed by the application's secret key with a salt of its own, so no other signed value of the site can pass as a
card) over the card's id and serial, its first 8 bytes read as a number below 10^16 (53 bits: guessing one online
is out of reach). The token only names a card: whether it is live, revoked or replaced is always read from the
database (`intranet.cards.service.verify`)."""
import hashlib
import hmac
import re

from flask import current_app
from itsdangerous import Signer

from intranet.search import typed_digits

SALT = "diwan.beneficiary-card"
ID_DIGITS, CODE_DIGITS = 10, 16
LENGTH = ID_DIGITS + CODE_DIGITS
TOKEN = re.compile(rf"^\d{{{LENGTH}}}$")


def _code(card_id: int, serial: int) -> str:
    signer = Signer(current_app.secret_key, salt=SALT, digest_method=hashlib.sha256)
    raw = signer.algorithm.get_signature(signer.derive_key(), f"{card_id}.{serial}".encode())
    return f"{int.from_bytes(raw[:8], 'big') % 10 ** CODE_DIGITS:0{CODE_DIGITS}d}"


def make(card) -> str:
    """The card's token (26 digits)."""
    return f"{card.id:0{ID_DIGITS}d}{_code(card.id, card.serial)}"


def grouped(token: str) -> str:
    """The token as printed under the barcode, in groups of four or so digits for a person to read or type."""
    return " ".join(token[i:i + 4] for i in range(0, len(token), 4))


def read(text: str) -> str | None:
    """The token in what was typed or scanned (spaces, dashes and direction marks dropped, any digits), or None
    when the text does not have a card token's shape (it may still be a national ID, a phone or a name)."""
    digits = typed_digits(text)
    return digits if TOKEN.match(digits) else None


def card_id(token: str) -> int:
    """The card id a token of the right shape names (its signature not yet checked)."""
    return int(token[:ID_DIGITS])


def signed_by_us(token: str, card) -> bool:
    """The token's signature is the one this card was given (compared in constant time)."""
    return hmac.compare_digest(token[ID_DIGITS:], _code(card.id, card.serial))
