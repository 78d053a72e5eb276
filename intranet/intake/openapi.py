"""The OpenAPI 3.1 document of /api/v1, built from the pydantic models that validate the requests."""
from functools import cache

from pydantic.json_schema import models_json_schema

from intranet.intake.schemas import Problem, ReceiptOut, ResubmissionIn, StatusOut, SubmissionIn, WebhookEventOut

PROBLEM_TYPES = {
    "unauthorized": "No token, an unknown token or a revoked one.",
    "bad-signature": "The client signs its bodies and the X-Diwan-Signature header does not match this body.",
    "forbidden": "The token lacks the scope the operation needs.",
    "not-found": "Nothing here, or a request this client did not submit.",
    "validation-error": "The body breaks the schema or the request type's rules; `errors` lists each field.",
    "duplicate-request": "The citizen has a request of this type open or closed recently; `duplicates` lists it.",
    "reference-reused": "The portal reference made an earlier request from another body: a retry sends the same body.",
    "not-awaiting-correction": "The request is not returned to the citizen for a correction now: nothing was changed.",
    "key-reused": "The Idempotency-Key came earlier with another body or for another request: use a new key.",
    "rate-limited": "The client sent more requests this minute than allowed; see Retry-After.",
    "citizen-limit": "The citizen made too many electronic submissions in 24 hours; see Retry-After.",
    "unsupported-media-type": "Send application/json or multipart/form-data.",
    "payload-too-large": "The body is larger than the server accepts.",
    "method-not-allowed": "This address does not take this method.",
    "server-error": "Something failed on our side; the submission is in the inbox or was not received.",
    # the booking API (issue 19, /api/v1/bookings)
    "slot-unavailable": "The service does not offer this slot (closed then, past, or too far ahead).",
    "slot-full": "Every seat of this slot is booked: choose another time.",
    "already-booked": "The citizen already has an active booking for this service.",
    "booking-blocked": "Online booking is closed for this citizen after missed appointments; the desk can help.",
    "no-phone": "No mobile number is on record for this national ID, so no code can be sent.",
    "wrong-code": "The confirmation code is not right; the detail says how many tries are left.",
    "booking-gone": "The booking expired, was cancelled or was already used.",
}

TRACKING_PATTERN = r"^\d{2}-\d{7}-\d$"


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _problem(description, headers=None):
    answer = {"description": description, "content": {"application/problem+json": {"schema": _ref("Problem")}}}
    if headers:
        answer["headers"] = headers
    return answer


RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer", "minimum": 1}}}

COMMON_ERRORS = {
    "401": _problem("Not authenticated, or a bad body signature."),
    "403": _problem("The token lacks the scope."),
    "405": _problem("Method not allowed."),
    "429": _problem("Too many requests from this client.", RETRY_AFTER),
}


@cache
def document() -> dict:
    _, schemas = models_json_schema(
        [(SubmissionIn, "validation"), (ResubmissionIn, "validation"), (ReceiptOut, "serialization"), (StatusOut, "serialization"),
         (Problem, "serialization"), (WebhookEventOut, "serialization")], ref_template="#/components/schemas/{model}")
    submit_body = {
        "application/json": {"schema": _ref("SubmissionIn")},
        "multipart/form-data": {
            "schema": {"type": "object", "required": ["payload"], "properties": {
                "payload": {"type": "string", "description": "The SubmissionIn JSON (documents may come as files)."},
                "documents": {"type": "array", "maxItems": 10,
                              "items": {"type": "string", "contentMediaType": "application/octet-stream"}}}},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Diwan electronic intake", "version": "1.0.0",
                 "description": "Requests and inquiries submitted by the national e-services portal. Errors are "
                                "RFC 9457 problem details in the language of Accept-Language (ar or en)."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/requests": {"post": {
                "operationId": "submitRequest",
                "summary": "Submit a request or an inquiry for a citizen; exactly once per portal_reference.",
                "parameters": [
                    {"name": "Idempotency-Key", "in": "header", "required": False,
                     "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                     "description": "Retries with the same key replay the first answer."},
                    {"name": "X-Diwan-Signature", "in": "header", "required": False,
                     "schema": {"type": "string"}, "description": "sha256=<hex HMAC of the body>, for signing clients."},
                ],
                "requestBody": {"required": True, "content": submit_body},
                "responses": {
                    "201": {"description": "Received (or replayed: header Idempotent-Replayed).",
                            "headers": {"Location": {"schema": {"type": "string"}}},
                            "content": {"application/json": {"schema": _ref("ReceiptOut")}}},
                    "409": _problem("A duplicate of an open or recent request of the citizen, or a portal reference "
                                    "reused with another body."),
                    "413": _problem("The body is too large."),
                    "415": _problem("Neither JSON nor multipart."),
                    "422": _problem("The submission is not valid; errors lists each field."),
                    **COMMON_ERRORS,
                },
            }},
            "/requests/{tracking}": {"get": {
                "operationId": "getRequestStatus",
                "summary": "Status and public history of a request this client submitted.",
                "parameters": [{"name": "tracking", "in": "path", "required": True,
                                "schema": {"type": "string", "pattern": TRACKING_PATTERN}}],
                "responses": {
                    "200": {"description": "The request as the citizen may see it.",
                            "content": {"application/json": {"schema": _ref("StatusOut")}}},
                    "404": _problem("No request of this client with this number."),
                    **COMMON_ERRORS,
                },
            }},
            "/requests/{tracking}/resubmission": {"post": {
                "operationId": "resubmitRequest",
                "summary": "Resubmit a request returned to the citizen for correction: the corrected fields and the "
                           "documents that were missing. The difference is shown to the clerk.",
                "parameters": [
                    {"name": "tracking", "in": "path", "required": True,
                     "schema": {"type": "string", "pattern": TRACKING_PATTERN}},
                    {"name": "Idempotency-Key", "in": "header", "required": False,
                     "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                     "description": "Retries with the same key and body replay the first answer; another body is a 409."},
                    {"name": "X-Diwan-Signature", "in": "header", "required": False,
                     "schema": {"type": "string"}, "description": "sha256=<hex HMAC of the body>, for signing clients."},
                ],
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": _ref("ResubmissionIn")}}},
                "responses": {
                    "200": {"description": "Resubmitted (or replayed: header Idempotent-Replayed); the request now.",
                            "content": {"application/json": {"schema": _ref("StatusOut")}}},
                    "404": _problem("No request of this client with this number."),
                    "409": _problem("The request is not awaiting a correction, or the Idempotency-Key was used "
                                    "with another body."),
                    "413": _problem("The body is too large."),
                    "415": _problem("Not JSON."),
                    "422": _problem("The correction is not valid; errors lists each field."),
                    **COMMON_ERRORS,
                },
            }},
            "/openapi.json": {"get": {
                "operationId": "getOpenApi", "security": [], "summary": "This document.",
                "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}},
            }},
        },
        "webhooks": {
            "requestStatusChanged": {"post": {
                "summary": "Sent to the client's webhook URL at each status change of a request it submitted, and when "
                           "an interview is scheduled for it; signed: X-Diwan-Signature: t=<unix time>,v1=<hex "
                           "HMAC-SHA256 of '<t>.<body>'>; deduplicate on X-Diwan-Delivery; answer 2xx.",
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": _ref("WebhookEventOut")}}},
                "responses": {"200": {"description": "Received."}},
            }},
        },
        "components": {
            "schemas": schemas["$defs"],
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
