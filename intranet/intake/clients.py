"""Portal clients: tokens shown once and kept hashed, scopes, revocation, optional HMAC-signed bodies; and the
administrators' lists of them, of a client's submissions and of its webhook deliveries, newest first."""
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from peewee import JOIN

from intranet import paging
from intranet.db import fetch_one, transaction
from intranet.models import ApiClient, Request, Staff, utcnow
from intranet.models.intake import SCOPES, InboxEntry, WebhookDelivery

TOKEN_PREFIX = "dwn_"
SIGNATURE_HEADER = "X-Diwan-Signature"


@dataclass
class NewClient:
    """A client just created: the only moment its token and secrets are known in clear."""
    client: ApiClient
    token: str


def token_hash(token: str) -> str:
    # tokens are 256 random bits: a plain SHA-256 is enough (no dictionary to guess from), and fast per call
    return hashlib.sha256(token.encode()).hexdigest()


def create_client(actor, name, scopes, webhook_url=None, rate_per_minute=600, sign_requests=False,
                  token=None) -> NewClient:
    """A new client with a random token (`token` is for the demo's well-known one only)."""
    unknown = set(scopes) - set(SCOPES)
    if unknown or not scopes:
        raise ValueError(f"scopes must be among {SCOPES}")
    token = token or TOKEN_PREFIX + secrets.token_urlsafe(32)
    client = ApiClient.create(
        name=name.strip(), token_hash=token_hash(token), token_hint=token[:10], scopes=" ".join(sorted(scopes)),
        signing_secret=secrets.token_hex(32) if sign_requests else None, webhook_url=webhook_url or None,
        webhook_secret=secrets.token_hex(32) if webhook_url else None, rate_per_minute=rate_per_minute,
        created_by=actor)
    return NewClient(client, token)


def revoke(actor, client: ApiClient) -> bool:
    """Stop a token working at once; False when it was already revoked."""
    with transaction():
        return ApiClient.update(revoked_at=utcnow(), revoked_by=actor.id).where(
            (ApiClient.id == client.id) & ApiClient.revoked_at.is_null()).execute() == 1


def authenticate(authorization: str | None) -> ApiClient | None:
    """The active client whose bearer token this is, or None (missing, unknown or revoked)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return fetch_one(ApiClient, "api_client_by_token", lambda digest: ApiClient.select().where(
        (ApiClient.token_hash == digest) & ApiClient.revoked_at.is_null()), token_hash(token.strip()))


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(client: ApiClient, body: bytes, header: str | None) -> bool:
    """True when the client does not sign its bodies, or the signature header matches the body."""
    if not client.signing_secret:
        return True
    return bool(header) and hmac.compare_digest(sign(client.signing_secret, body), header.strip())


# --- the administrators' lists, newest first, a page at a time ---------------------------------------------------

def clients_page(after, size: int):
    """The clients with who created them: (rows, the key of the next page or None)."""
    return paging.page(ApiClient.select(ApiClient, Staff).join(Staff, JOIN.LEFT_OUTER, on=ApiClient.created_by),
                       ApiClient.id, after, size, descending=True)


def inbox_page(client: ApiClient, status: str | None, after, size: int):
    """The client's submissions (only those with this outcome, if one is given), each with the request it made."""
    query = (InboxEntry.select(InboxEntry.id, InboxEntry.received_at, InboxEntry.portal_reference,
                               InboxEntry.status, InboxEntry.errors, InboxEntry.response_status, Request.id,
                               Request.tracking_number)
             .join(Request, JOIN.LEFT_OUTER, on=InboxEntry.request).where(InboxEntry.client == client.id))
    if status:
        query = query.where(InboxEntry.status == status)
    return paging.page(query, InboxEntry.id, after, size, descending=True)


def deliveries_page(client: ApiClient, after, size: int):
    """The webhook deliveries to the client, each with its request's tracking number."""
    query = (WebhookDelivery.select(WebhookDelivery.id, WebhookDelivery.event, WebhookDelivery.status,
                                    WebhookDelivery.attempts, WebhookDelivery.last_error,
                                    WebhookDelivery.created_at, WebhookDelivery.delivered_at,
                                    Request.id, Request.tracking_number)
             .join(Request, on=WebhookDelivery.request).where(WebhookDelivery.client == client.id))
    return paging.page(query, WebhookDelivery.id, after, size, descending=True)
