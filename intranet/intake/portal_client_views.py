"""Administrators' pages for portal clients: create (token shown once), revoke, and inspect inbox and webhooks."""
from flask import Blueprint, abort, flash, make_response, redirect, render_template, session, url_for
from intranet.i18n import gettext as _
from flask_login import current_user

from intranet import downloads, params
from intranet.auth import guard, permissions
from intranet.htmx import render
from intranet.intake import clients, webhooks
from intranet.intake.portal_client_forms import (ClientForm,
                                          RevokeForm)
from intranet.models import ApiClient
from intranet.models.intake import INBOX_STATUSES, InboxEntry, WebhookDelivery

bp = Blueprint("portal_client", __name__, url_prefix="/admin/portal-clients")

PAGE_SIZE = 25
PAYLOAD_SHOWN = 64 * 1024  # bytes of a payload shown on the page; the whole of it is downloadable
CREATED = "api_clients_created"  # session: form nonce -> id of the client it created


guard.only(bp, permissions.can_manage_api_clients)


def _index_page(form, status=200):
    rows, next_after = clients.clients_page(params.arg_id("after"), PAGE_SIZE)
    return render("api_clients/index.html", status=status, clients=rows, next_after=next_after, form=form)


@bp.get("/")
def index():
    """The portal clients, newest first, and the form to add one."""
    return _index_page(ClientForm(formdata=None))


@bp.post("/")
def create():
    """Create a client and show its token and secrets, this once; a resent form shows the client without them."""
    form = ClientForm()
    if not form.validate_on_submit():
        return _index_page(form, 422)
    if earlier := session.get(CREATED, {}).get(form.nonce.data or ""):
        flash(_("This client was already created. Its token is shown only once, when it is created."), "info")
        return redirect(url_for("portal_client.detail", client_id=earlier), 303)
    new = clients.create_client(current_user, form.name.data, form.scopes.data, form.webhook_url.data or None,
                                form.rate_per_minute.data, form.sign_requests.data)
    if form.nonce.data:
        created = dict(session.get(CREATED, {}), **{form.nonce.data: new.client.id})
        session[CREATED] = dict(list(created.items())[-10:])
    response = make_response(render_template("api_clients/created.html", new=new, client=new.client), 201)
    response.headers["Cache-Control"] = "no-store"  # the token must not be kept by the browser or a proxy
    return response


def _client_or_404(client_id) -> ApiClient:
    return ApiClient.get_or_none(ApiClient.id == client_id) or abort(404)


def _detail_page(client, revoke_form, status=200):
    inbox_status = params.arg_choice("status", INBOX_STATUSES)
    inbox, inbox_next = clients.inbox_page(client, inbox_status, params.arg_id("inbox_after"), PAGE_SIZE)
    deliveries, deliveries_next = clients.deliveries_page(client, params.arg_id("deliveries_after"), PAGE_SIZE)
    return render("api_clients/detail.html", status=status, client=client, revoke_form=revoke_form, inbox=inbox,
                  inbox_next=inbox_next, inbox_status=inbox_status, statuses=INBOX_STATUSES,
                  deliveries=deliveries, deliveries_next=deliveries_next)


@bp.get("/<int:client_id>")
def detail(client_id):
    """A client's settings, its recent submissions (filtered by outcome) and its webhook deliveries."""
    return _detail_page(_client_or_404(client_id), RevokeForm(formdata=None))


@bp.post("/<int:client_id>/revoke")
def revoke(client_id):
    """Revoke the client's token for good: its next call is refused."""
    client = _client_or_404(client_id)
    form = RevokeForm()
    if not form.validate_on_submit():
        return _detail_page(client, form, 422)
    if clients.revoke(current_user, client):
        flash(_("The client's token is revoked: the client is refused from now on."), "success")
    else:
        flash(_("This client's token was already revoked."), "info")
    return redirect(url_for("portal_client.detail", client_id=client.id), 303)


@bp.post("/<int:client_id>/deliveries/<int:delivery_id>/redeliver")
def redeliver(client_id, delivery_id):
    """Send a failed webhook delivery again (e.g. the portal was down longer than the retries lasted)."""
    delivery = WebhookDelivery.get_or_none((WebhookDelivery.id == delivery_id)
                                           & (WebhookDelivery.client == client_id))
    if delivery is None:
        abort(404)
    if webhooks.redeliver(delivery):
        flash(_("The delivery will be sent again in a moment, with the same id: the portal drops it if it had it."),
              "success")
    else:
        flash(_("Only a failed delivery can be sent again."), "info")
    return redirect(url_for("portal_client.detail", client_id=client_id) + "#client-deliveries", 303)


def _entry_or_404(entry_id) -> InboxEntry:
    return InboxEntry.get_or_none(InboxEntry.id == entry_id) or abort(404)


def shown_payload(raw: bytes) -> tuple[str, bool]:
    """The start of a payload as text (bytes that are not UTF-8 become U+FFFD), and whether it is valid UTF-8."""
    try:
        raw.decode("utf-8")
        valid = True
    except UnicodeDecodeError:
        valid = False
    return raw[:PAYLOAD_SHOWN].decode("utf-8", "replace"), valid


@bp.get("/inbox/<int:entry_id>")
def inbox_entry(entry_id):
    """One submission exactly as it arrived: its outcome, its field errors, its payload, the request it created."""
    entry = _entry_or_404(entry_id)
    raw = bytes(entry.payload or b"")
    text, valid_utf8 = shown_payload(raw)
    return render("api_clients/inbox_entry.html", entry=entry, payload=text, payload_size=len(raw),
                  truncated=len(raw) > PAYLOAD_SHOWN, valid_utf8=valid_utf8, shown_bytes=PAYLOAD_SHOWN)


@bp.get("/inbox/<int:entry_id>/payload")
def inbox_payload(entry_id):
    """The payload's bytes as received, as a download (never rendered by the browser)."""
    entry = _entry_or_404(entry_id)
    return downloads.download(bytes(entry.payload or b""), "bin", f"inbox-{entry.id}.bin")
