"""Issue, reissue and revoke beneficiary cards, each with its history row in the same transaction, and verify a
scanned token against the database (never against the card alone: a revoked or replaced card says so).

Permissions are asked here (`permissions.can_manage_cards`), so no page or script can skip them."""
from dataclasses import dataclass

import peewee as pw
from flask_babel import format_date
from intranet.i18n import lazy_gettext as _l

from intranet.auth import permissions
from intranet.cards import tokens
from intranet.db import transaction
from intranet.models import Citizen, Staff, utcnow
from intranet.models.cards import BeneficiaryCard, CardEvent

REASON_LENGTH = 300
ACTION_LABELS = {"issued": _l("Issued"), "reissued": _l("Reissued in place of the previous card"),
                 "revoked": _l("Revoked")}


class CardError(ValueError):
    """A step refused: `message` is translated for the person."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


class NotAllowed(CardError):
    pass


@dataclass
class Verification:
    """What a scanned or typed token is: `status` valid, revoked, replaced or refused (forged, altered or unknown);
    `card` (with its citizen) unless refused."""
    status: str
    card: BeneficiaryCard | None = None

    @property
    def valid(self) -> bool:
        return self.status == "valid"

    @property
    def message(self) -> str | None:
        """Why the card does not open anything, for the person at the desk (None when it is valid)."""
        if self.status == "refused":
            return _l("This card could not be verified: it was not issued here, or its code was altered or "
                      "mistyped. Ask for the national ID instead.")
        if self.status == "replaced":
            return _l("This card was replaced by a newer card (number %(serial)s) on %(date)s: it is no longer "
                      "valid. Ask for the new card.", serial=self.card.replaced_by.serial,
                      date=format_date(self.card.revoked_at, "medium"))
        if self.status == "revoked":
            return _l("This card was revoked on %(date)s (%(reason)s): it is no longer valid.",
                      date=format_date(self.card.revoked_at, "medium"), reason=self.card.revoked_reason or "—")
        return None


def _check(actor):
    if not permissions.can_manage_cards(actor):
        raise NotAllowed(_l("Only the reception desk and supervisors issue and revoke beneficiary cards."))


def _reason(text, required=True) -> str | None:
    reason = " ".join((text or "").split())
    if required and not reason:
        raise CardError(_l("Give the reason (lost, damaged, withdrawn...)."))
    if len(reason) > REASON_LENGTH:
        raise CardError(_l("Keep the reason within %(num)d characters.", num=REASON_LENGTH))
    return reason or None


def live_card(citizen) -> BeneficiaryCard | None:
    return BeneficiaryCard.get_or_none((BeneficiaryCard.citizen == citizen.id) & BeneficiaryCard.revoked_at.is_null())


def history(citizen) -> list:
    """The citizen's card history, newest first, with who did each step and the card's serial."""
    return list(CardEvent.select(CardEvent, BeneficiaryCard.serial, Staff.full_name)
                .join_from(CardEvent, BeneficiaryCard).join_from(CardEvent, Staff)
                .where(CardEvent.citizen == citizen.id).order_by(CardEvent.id.desc()).limit(50))


def _new_card(actor, citizen) -> BeneficiaryCard:
    last = (BeneficiaryCard.select(pw.fn.MAX(BeneficiaryCard.serial))
            .where(BeneficiaryCard.citizen == citizen.id).scalar())
    return BeneficiaryCard.create(citizen=citizen.id, serial=(last or 0) + 1, issued_by=actor.id)


def _changed_meanwhile():
    return CardError(_l("The citizen's card was changed by someone else meanwhile: reload the page."))


def issue(actor, citizen) -> BeneficiaryCard:
    """The citizen's first card, or a new one after the last was revoked; refused while a card is live."""
    _check(actor)
    try:
        with transaction():
            if live_card(citizen) is not None:
                raise CardError(_l("This citizen already has a valid card: reissue it instead."))
            card = _new_card(actor, citizen)
            CardEvent.create(citizen=citizen.id, card=card.id, action="issued", actor=actor.id)
    except pw.IntegrityError:  # another desk issued one at the same instant (the one-live index)
        raise _changed_meanwhile() from None
    return card


def reissue(actor, citizen, reason) -> BeneficiaryCard:
    """A new card in place of the live one (lost, damaged): the old one is revoked as replaced by the new one."""
    _check(actor)
    reason = _reason(reason)
    try:
        with transaction():
            old = live_card(citizen)
            if old is None:
                raise CardError(_l("This citizen has no valid card to reissue: issue one."))
            now = utcnow()
            revoked = (BeneficiaryCard.update(revoked_at=now, revoked_by=actor.id, revoked_reason=reason)
                       .where((BeneficiaryCard.id == old.id) & BeneficiaryCard.revoked_at.is_null()).execute())
            if not revoked:
                raise _changed_meanwhile()
            card = _new_card(actor, citizen)
            BeneficiaryCard.update(replaced_by=card.id).where(BeneficiaryCard.id == old.id).execute()
            CardEvent.create(citizen=citizen.id, card=card.id, action="reissued", actor=actor.id, reason=reason)
    except pw.IntegrityError:
        raise _changed_meanwhile() from None
    return card


def revoke(actor, citizen, reason) -> BeneficiaryCard:
    """The live card withdrawn with its reason; no card replaces it (a new one may be issued later)."""
    _check(actor)
    reason = _reason(reason)
    with transaction():
        card = live_card(citizen)
        if card is None:
            raise CardError(_l("This citizen has no valid card to revoke."))
        revoked = (BeneficiaryCard.update(revoked_at=utcnow(), revoked_by=actor.id, revoked_reason=reason)
                   .where((BeneficiaryCard.id == card.id) & BeneficiaryCard.revoked_at.is_null()).execute())
        if not revoked:
            raise _changed_meanwhile()
        CardEvent.create(citizen=citizen.id, card=card.id, action="revoked", actor=actor.id, reason=reason)
    return BeneficiaryCard.get_by_id(card.id)


def verify(token: str) -> Verification:
    """What a token of the card's shape is, read from the database now: refused when no card of ours has this
    signature (forged, altered, mistyped), else revoked, replaced or valid, with the card and its citizen."""
    Replacement = BeneficiaryCard.alias()
    card = (BeneficiaryCard.select(BeneficiaryCard, Citizen, Replacement)
            .join_from(BeneficiaryCard, Citizen)
            .join_from(BeneficiaryCard, Replacement, pw.JOIN.LEFT_OUTER,
                       on=(BeneficiaryCard.replaced_by == Replacement.id), attr="replaced_by")
            .where(BeneficiaryCard.id == tokens.card_id(token)).first())
    if card is None or not tokens.signed_by_us(token, card):
        return Verification("refused")
    if card.revoked_at is None:
        return Verification("valid", card)
    return Verification("replaced" if card.replaced_by_id else "revoked", card)


def scan(text: str) -> Verification | None:
    """A typed or scanned text checked as a card token, or None when it does not have a token's shape."""
    token = tokens.read(text)
    return verify(token) if token is not None else None
