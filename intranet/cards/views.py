"""The beneficiary card on the citizen page: issue, print (the ID-1 PDF), reissue and revoke, for the desk and
supervisors (`permissions.can_manage_cards`). Each step is one call to `cards.service`; a refusal comes back to the
citizen page as a translated message and changes nothing."""
from flask import Blueprint, abort, flash, redirect, request, url_for
from intranet.i18n import gettext as _
from flask_login import current_user

from intranet import downloads
from intranet.auth import guard, permissions
from intranet.cards import pdf, service
from intranet.models import Citizen
from intranet.models.cards import BeneficiaryCard

bp = Blueprint("cards", __name__, url_prefix="/cards")


guard.only(bp, permissions.can_manage_cards)


def _back(citizen_id):
    return redirect(url_for("lookup.citizen", citizen_id=citizen_id, _anchor="citizen-card-heading"), 303)


def _step(citizen_id, action, done_message):
    citizen = Citizen.get_or_none(Citizen.id == citizen_id) or abort(404)
    try:
        card = action(citizen)
    except service.CardError as refused:
        flash(refused.message, "error")
    else:
        flash(done_message(card), "success")
    return _back(citizen.id)


@bp.route("/citizens/<int:citizen_id>/issue", methods=["POST"])
def issue(citizen_id):
    return _step(citizen_id, lambda citizen: service.issue(current_user, citizen),
                 lambda card: _("Card number %(serial)s issued: print it.", serial=card.serial))


@bp.route("/citizens/<int:citizen_id>/reissue", methods=["POST"])
def reissue(citizen_id):
    reason = request.form.get("reason", "")
    return _step(citizen_id, lambda citizen: service.reissue(current_user, citizen, reason),
                 lambda card: _("Card number %(serial)s issued in place of the previous one, which no longer opens "
                                "anything: print the new card.", serial=card.serial))


@bp.route("/citizens/<int:citizen_id>/revoke", methods=["POST"])
def revoke(citizen_id):
    reason = request.form.get("reason", "")
    return _step(citizen_id, lambda citizen: service.revoke(current_user, citizen, reason),
                 lambda card: _("Card number %(serial)s revoked.", serial=card.serial))


@bp.route("/<int:card_id>/card.pdf")
def card_pdf(card_id):
    """The live card as an ID-1 PDF to print; a revoked card is never printed again."""
    card = (BeneficiaryCard.select(BeneficiaryCard, Citizen).join(Citizen)
            .where(BeneficiaryCard.id == card_id).first() or abort(404))
    if not card.is_live:
        flash(_("This card was revoked: it cannot be printed again."), "error")
        return _back(card.citizen_id)
    return downloads.download(pdf.render_pdf(card), "pdf", pdf.filename(card), inline=True)
