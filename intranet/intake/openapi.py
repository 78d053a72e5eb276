"""The OpenAPI 3.1 document of /api/v1, built from the pydantic models that validate the requests."""
from functools import cache

from pydantic.json_schema import models_json_schema

from intranet.intake.schemas import Problem, ReceiptOut, ResubmissionIn, StatusOut, SubmissionIn, WebhookEventOut
from intranet.models.bookings import BOOKING_STATUSES

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
SLOT_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$"  # the office's wall clock (INTRANET_TIMEZONE)

# the booking API's bodies (issue 19, intranet/reception/booking_api.py), written out: its views read plain JSON
BOOKING_SCHEMAS = {
    "BookingServiceOut": {"type": "object", "required": ["code", "name_ar", "name_en", "opens", "closes", "weekdays",
                                                         "slot_minutes", "capacity"], "properties": {
        "code": {"type": "string"}, "name_ar": {"type": "string"}, "name_en": {"type": "string"},
        "opens": {"type": "string", "pattern": r"^\d{2}:\d{2}$"},
        "closes": {"type": "string", "pattern": r"^\d{2}:\d{2}$"},
        "weekdays": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 6},
                     "description": "Open days, Monday = 0 ... Sunday = 6."},
        "slot_minutes": {"type": "integer", "minimum": 5, "maximum": 240},
        "capacity": {"type": "integer", "minimum": 1, "description": "Visitors per slot."}}},
    "BookingServicesOut": {"type": "object", "required": ["services"], "properties": {
        "services": {"type": "array", "items": {"$ref": "#/components/schemas/BookingServiceOut"}}}},
    "SlotsOut": {"type": "object", "required": ["service", "date", "slots"], "properties": {
        "service": {"type": "string"}, "date": {"type": "string", "format": "date"},
        "slots": {"type": "array", "items": {"type": "object", "required": ["slot", "free"], "properties": {
            "slot": {"type": "string", "pattern": SLOT_PATTERN}, "free": {"type": "integer", "minimum": 0}}}}}},
    "BookingIn": {"type": "object", "required": ["national_id", "service", "slot"], "properties": {
        "national_id": {"type": "string", "maxLength": 100}, "service": {"type": "string", "maxLength": 100},
        "slot": {"type": "string", "pattern": SLOT_PATTERN, "description": "One of the service's free slots."}}},
    "ConfirmationIn": {"type": "object", "required": ["code"], "properties": {
        "code": {"type": "string", "maxLength": 100, "description": "The code sent to the citizen by SMS."}}},
    "BookingOut": {"type": "object", "required": ["booking", "service", "slot", "status", "code_expires_at"],
                   "properties": {
        "booking": {"type": "integer"}, "service": {"type": "string"},
        "slot": {"type": "string", "pattern": SLOT_PATTERN},
        "status": {"type": "string", "enum": list(BOOKING_STATUSES)},
        "code_expires_at": {"type": ["string", "null"], "format": "date-time",
                            "description": "While pending: when the SMS code expires (UTC)."}}},
}


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


def _json(name, description):
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _booking_paths() -> dict:
    """The booking API (scope bookings:write): a client sees only the bookings it made."""
    errors = {"400": _problem("The address or the query holds a character that cannot be used."), **COMMON_ERRORS}
    booking_id = {"name": "booking_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
    unknown = _problem("No booking of this client has this number.")
    return {
        "/bookings/services": {"get": {
            "operationId": "listBookingServices", "summary": "The services offered for booking, with their hours.",
            "responses": {"200": _json("BookingServicesOut", "The services offered now."), **errors},
        }},
        "/bookings/services/{code}/slots": {"get": {
            "operationId": "listBookingSlots", "summary": "A service's slots on a day, with the seats still free.",
            "parameters": [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "date", "in": "query", "required": True,
                            "schema": {"type": "string", "format": "date"}}],
            "responses": {"200": _json("SlotsOut", "The day's slots."),
                          "404": _problem("No service offered with this code."),
                          "422": _problem("The date is not YYYY-MM-DD."), **errors},
        }},
        "/bookings": {"post": {
            "operationId": "book", "summary": "Book a slot for a citizen: pending until the code sent to the "
                                              "citizen's mobile by SMS is confirmed; unconfirmed, it expires.",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("BookingIn")}}},
            "responses": {"201": _json("BookingOut", "Booked, pending its confirmation."),
                          "403": _problem("Online booking is closed for this citizen (missed appointments), or "
                                          "the token lacks the scope."),
                          "404": _problem("No service offered with this code."),
                          "409": _problem("The slot is full, or the citizen already has an active booking for "
                                          "this service."),
                          "422": _problem("The body, the national ID or the slot is not valid, or no mobile "
                                          "number is on record."),
                          **{k: v for k, v in errors.items() if k != "403"}},
        }},
        "/bookings/{booking_id}": {
            "get": {"operationId": "getBooking", "summary": "A booking this client made.",
                    "parameters": [booking_id],
                    "responses": {"200": _json("BookingOut", "The booking now."), "404": unknown, **errors}},
            "delete": {"operationId": "cancelBooking", "summary": "Cancel a booking this client made.",
                       "parameters": [booking_id],
                       "responses": {"200": _json("BookingOut", "Cancelled."), "404": unknown,
                                     "410": _problem("The booking expired, was cancelled or was already used."),
                                     **errors}},
        },
        "/bookings/{booking_id}/confirmation": {"post": {
            "operationId": "confirmBooking", "summary": "Confirm a pending booking with the code the citizen "
                                                        "received; five wrong codes cancel it.",
            "parameters": [booking_id],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ConfirmationIn")}}},
            "responses": {"200": _json("BookingOut", "Confirmed."), "404": unknown,
                          "410": _problem("The booking expired, was cancelled or was already used."),
                          "422": _problem("The code is not right; the detail says how many tries are left."),
                          **errors},
        }},
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
                 "description": "Requests and inquiries submitted by the national e-services portal, and "
                                "appointments it books at reception. Errors are RFC 9457 problem details in the "
                                "language of Accept-Language (ar or en)."},
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
            **_booking_paths(),
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
            "schemas": {**schemas["$defs"], **BOOKING_SCHEMAS},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
