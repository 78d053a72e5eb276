"""The header search (`/search?q=`) and the citizen page (`/citizens/<id>`), for every signed-in member of staff:
each shows only what the person may see (`permissions.can_view` and its SQL form)."""
from flask import Blueprint, abort, redirect, url_for
from flask_login import current_user, login_required

from intranet import params
from intranet.auth import permissions
from intranet.cards import service as cards
from intranet.htmx import render, wants_fragment
from intranet.lookup import queries
from intranet.models import Citizen, Governorate

bp = Blueprint("lookup", __name__)


@bp.before_request
@login_required
def signed_in_only():
    """Every member of staff may search; what each finds is narrowed by the permissions."""


@bp.route("/search")
def search():
    """Requests and citizens for what was typed; a tracking number of a request the person may see opens it."""
    text = params.arg_text("q")
    found = queries.find(current_user, text, params.arg_id("after"), params.arg_id("citizens_after"))
    if found.card_holder is not None and not wants_fragment():  # a scanned beneficiary card opens its holder
        return redirect(url_for("lookup.citizen", citizen_id=found.card_holder.id), 303)
    if found.exact_request is not None and not wants_fragment():
        return redirect(url_for("queues.request_page", tracking_number=found.exact_request.tracking_number), 303)
    return render("lookup/search.html", "lookup/_results.html", found=found, ticket=params.arg_id("ticket"))


@bp.route("/citizens/<int:citizen_id>")
def citizen(citizen_id):
    """Everything about one citizen the person may see: requests (paged), visitor tickets, payouts, messages and
    corrections of their details."""
    person = (Citizen.select(Citizen, Governorate).join(Governorate).where(Citizen.id == citizen_id).first()
              or abort(404))
    if not permissions.can_see_citizen(current_user, person):
        abort(403)
    requests, next_after = queries.citizen_requests(current_user, person, params.arg_id("after"))
    return render("lookup/citizen.html", citizen=person, requests=requests, next_after=next_after,
                  tickets=queries.visitor_tickets(person),
                  payouts=(queries.payouts(person, permissions.visible_payouts(current_user))
                           if permissions.can_see_payouts(current_user) else None),
                  messages=queries.messages(current_user, person), corrections=queries.corrections(person),
                  **(_card(person) if permissions.can_manage_cards(current_user) else {}))


def _card(person) -> dict:
    """The citizen's beneficiary card and its history, for those who issue and revoke cards."""
    return {"card": cards.live_card(person), "card_history": cards.history(person)}
