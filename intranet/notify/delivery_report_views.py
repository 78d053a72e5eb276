"""Delivery reports from the SMS gateway: POST /notify/receipts/sms.

The gateway calls back with `{"reference": "<our notification id>", "status": "delivered"}` (or `"message_id"`,
its own id, instead of the reference; `"error"` optionally says why a message failed) and
`Authorization: Bearer <SMS_RECEIPT_TOKEN>`. Answers are JSON:

- 200 `{"ok": true, "status": ...}`: recorded, or already recorded (a gateway repeats callbacks until it gets a
  2xx; a repeated or late receipt changes nothing);
- 401: token missing or wrong, or no token configured (receipts are then refused, never accepted unchecked);
- 404: no SMS has this reference or message id;
- 422: not a JSON object, no reference or message id, or a status we do not know.

Machine-facing: the answers are in English and not translated. No session, no CSRF (the token authenticates).
"""
import hmac

from flask import Blueprint, current_app, jsonify, request

from intranet.extensions import csrf
from intranet.notify import delivery_reports

bp = Blueprint("delivery_report", __name__, url_prefix="/notify/receipts")
csrf.exempt(bp)


def _answer(code: int, **body):
    response = jsonify(body)
    response.status_code = code
    response.headers["Cache-Control"] = "no-store"
    if code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="diwan-sms-receipts"'
    return response


def _authorised() -> bool:
    expected = current_app.config["SMS_RECEIPT_TOKEN"] or ""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not expected or scheme.lower() != "bearer" or not token.strip():
        return False
    return hmac.compare_digest(token.strip().encode(), expected.encode())


def _text(value, limit):
    if value is None or isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    value = str(value).strip()
    return value[:limit] if value else None


@bp.post("/sms")
def sms():
    if not _authorised():
        return _answer(401, ok=False, error="unauthorised: send Authorization: Bearer <receipt token>")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _answer(422, ok=False, error="send a JSON object: {reference or message_id, status}")
    reference, message_id = _text(body.get("reference"), 40), _text(body.get("message_id"), 100)
    status = _text(body.get("status"), 40)
    if not reference and not message_id:
        return _answer(422, ok=False, error="reference or message_id is required")
    if reference and not reference.isdigit():
        return _answer(422, ok=False, error="reference must be the notification number we sent")
    if not status or delivery_reports.report_status(status) is None:
        return _answer(422, ok=False, error="status must be delivered or failed (or an intermediate state)")
    known = delivery_reports.apply_report(message_id, status, reference=reference, error=_text(body.get("error"), 500) or "")
    if not known:
        return _answer(404, ok=False, error="no SMS has this reference")
    row = delivery_reports.find_for_report(message_id, reference)
    return _answer(200, ok=True, reference=str(row.id), status=row.status)
