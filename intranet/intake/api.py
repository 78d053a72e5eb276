"""The electronic intake API (/api/v1): thin views over intranet.intake.submissions and .public.

Every call but the OpenAPI document needs a client's bearer token; a client's requests per minute are
limited; errors are problem details (intranet.intake.problems)."""
import datetime as dt

from flask import Blueprint, g, jsonify, request, url_for
from intranet.i18n import gettext as _

from intranet.extensions import csrf
from intranet.intake import clients, openapi, public, ratelimit, submissions
from intranet.intake.problems import problem
from intranet.models import ApiClient, InboxEntry, Request, utcnow

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

PUBLIC_ENDPOINTS = ("api.openapi_document",)
IDEMPOTENCY_HEADER = "Idempotency-Key"


@bp.before_request
def authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    client = clients.authenticate(request.headers.get("Authorization"))
    if client is None:
        return problem(401, "unauthorized", _("Not authenticated"),
                       _("Send a valid, unrevoked client token: Authorization: Bearer <token>."),
                       headers={"WWW-Authenticate": 'Bearer realm="diwan"'})
    wait = ratelimit.wait_seconds(client)
    if wait is not None:
        return problem(429, "rate-limited", _("Too many requests"),
                       _("This client has sent more than %(n)d requests this minute. Retry after %(s)d seconds.",
                         n=client.rate_per_minute, s=wait), headers={"Retry-After": str(wait)})
    if client.last_used_at is None or utcnow() - client.last_used_at > dt.timedelta(minutes=1):
        ApiClient.update(last_used_at=utcnow()).where(ApiClient.id == client.id).execute()
    g.api_client = client
    return None


def _scope_refused(scope):
    if scope in g.api_client.scope_list:
        return None
    return problem(403, "forbidden", _("Not allowed"),
                   _("This client's token does not carry the scope %(scope)s.", scope=scope))


def _body():
    """(raw bytes kept in the inbox, JSON bytes to parse, uploaded files) from a JSON or multipart body."""
    raw = request.get_data(cache=True)
    if request.mimetype == "multipart/form-data":
        payload = request.form.get("payload", "")
        return raw, payload.encode("utf-8", "surrogateescape"), request.files.getlist("documents")
    return raw, raw, []


def _header_errors() -> list[dict]:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not (0 < len(key) <= 200 and key.isascii() and key.isprintable()):
        return [{"field": IDEMPOTENCY_HEADER, "message": _("At most 200 printable ASCII characters.")}]
    return []


@bp.post("/requests")
def submit_request():
    if (refused := _scope_refused("requests:write")) is not None:
        return refused
    raw, payload, uploads = _body()
    if not clients.signature_valid(g.api_client, raw, request.headers.get(clients.SIGNATURE_HEADER)):
        return problem(401, "bad-signature", _("Bad signature"),
                       _("This client signs its requests: send X-Diwan-Signature: sha256=<HMAC-SHA256 of the body>."))
    if request.mimetype not in ("application/json", "multipart/form-data"):
        outcome = submissions.refuse(g.api_client, raw, request.content_type, [{"field": "", "message": _(
            "Send application/json, or multipart/form-data with a JSON part named payload.")}], http=415)
        return problem(415, "unsupported-media-type", _("Unsupported media type"), outcome.errors[0]["message"])
    if errors := _header_errors():
        outcome = submissions.refuse(g.api_client, raw, request.content_type, errors)
    else:
        outcome = submissions.receive(g.api_client, raw, request.content_type,
                                      request.headers.get(IDEMPOTENCY_HEADER), payload=payload, uploads=uploads)
    return _answer(outcome)


def _answer(outcome: submissions.Outcome):
    if outcome.request is not None:
        response = jsonify(outcome.body)
        response.status_code = 201
        response.headers["Location"] = url_for("api.request_status", tracking=outcome.request.tracking_number)
        if outcome.status == "replayed":
            response.headers["Idempotent-Replayed"] = "true"
        return response
    if outcome.status == "duplicate":
        return problem(409, "duplicate-request", _("Duplicate request"),
                       _("This citizen already has a request of this type open or recently closed: "
                         "follow that one instead."), duplicates=outcome.duplicates)
    if outcome.status == "limited":
        return problem(429, "citizen-limit", _("Too many submissions"), outcome.errors[0]["message"],
                       headers={"Retry-After": str(outcome.retry_after)}, errors=outcome.errors)
    if outcome.http == 409:
        return problem(409, "reference-reused", _("Portal reference reused"), outcome.errors[0]["message"],
                       errors=outcome.errors)
    return problem(outcome.http, "validation-error", _("Invalid submission"),
                   _("%(n)d field(s) are not valid; see errors.", n=len(outcome.errors)), errors=outcome.errors)


def _own_request(tracking):
    """The request with this tracking number if this client submitted it; another client's or a walk-in request
    is not this client's to see, and answers as if there were none."""
    req = Request.get_or_none(Request.tracking_number == tracking[:20])
    submitted_here = req is not None and InboxEntry.select().where(
        (InboxEntry.request == req.id) & (InboxEntry.client == g.api_client.id) & (InboxEntry.source == "api")).exists()
    return req if submitted_here else None


def _not_found(tracking):
    return problem(404, "not-found", _("Not found"),
                   _("This client submitted no request with tracking number %(number)s.", number=tracking[:20]))


@bp.get("/requests/<tracking>")
def request_status(tracking):
    if (refused := _scope_refused("requests:read")) is not None:
        return refused
    req = _own_request(tracking)
    if req is None:
        return _not_found(tracking)
    return jsonify(public.status(req))


@bp.post("/requests/<tracking>/resubmission")
def resubmit_request(tracking):
    """The citizen's correction of a request returned to them, exactly once per Idempotency-Key."""
    if (refused := _scope_refused("requests:write")) is not None:
        return refused
    raw = request.get_data(cache=True)
    if not clients.signature_valid(g.api_client, raw, request.headers.get(clients.SIGNATURE_HEADER)):
        return problem(401, "bad-signature", _("Bad signature"),
                       _("This client signs its requests: send X-Diwan-Signature: sha256=<HMAC-SHA256 of the body>."))
    req = _own_request(tracking)
    if req is None:
        return _not_found(tracking)
    if request.mimetype != "application/json":
        return problem(415, "unsupported-media-type", _("Unsupported media type"),
                       _("Send the correction as application/json (documents in base64)."))
    if errors := _header_errors():
        outcome = submissions.Outcome("rejected", 422, errors=errors)
    else:
        outcome = submissions.resubmit(g.api_client, req, raw, request.content_type,
                                       request.headers.get(IDEMPOTENCY_HEADER))
    if outcome.request is not None:
        response = jsonify(public.status(Request.get_by_id(req.id)))
        if outcome.status == "replayed":
            response.headers["Idempotent-Replayed"] = "true"
        return response
    if outcome.http == 409 and outcome.errors and outcome.errors[0]["field"] == IDEMPOTENCY_HEADER:
        return problem(409, "key-reused", _("Idempotency-Key reused"), outcome.errors[0]["message"],
                       errors=outcome.errors)
    if outcome.http == 409:
        return problem(409, "not-awaiting-correction", _("Not awaiting a correction"), outcome.errors[0]["message"])
    return problem(outcome.http, "validation-error", _("Invalid resubmission"),
                   _("%(n)d field(s) are not valid; see errors.", n=len(outcome.errors)), errors=outcome.errors)


@bp.get("/openapi.json")
def openapi_document():
    response = jsonify(openapi.document())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/problems/<kind>")
def problem_type(kind):
    """What a problem type means, for humans following the `type` link."""
    text = openapi.PROBLEM_TYPES.get(kind)
    if text is None:
        return problem(404, "not-found", _("Not found"), _("There is no problem type of this name."))
    return jsonify({"type": f"/api/v1/problems/{kind}", "description": text})


@bp.after_request
def as_attachment(response):
    """An API answer is data, never a page: a browser that opens one saves it (ASVS 14.4.2)."""
    response.headers.setdefault("Content-Disposition", 'attachment; filename="api.json"')
    return response


def init_app(app):
    ratelimit.init_app(app)
    app.json.ensure_ascii = False  # the API answers in UTF-8: Arabic names stay readable
