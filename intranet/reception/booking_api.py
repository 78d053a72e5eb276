"""The portal's booking API (issue 19, /api/v1/bookings): the services and their free slots, a booking made for a
national ID (confirmed by the code the citizen receives by SMS), its state, its confirmation and its cancellation.
The same bearer tokens, rate limit and problem details as the intake API (intranet.intake.api); a client needs the
`bookings:write` scope and sees only the bookings it made."""
import datetime as dt

from flask import Blueprint, g, jsonify, request
from intranet.i18n import gettext as _

from intranet.extensions import csrf
from intranet.intake import api
from intranet.intake.problems import problem
from intranet.models.bookings import Booking
from intranet.reception import bookings

bp = Blueprint("booking_api", __name__, url_prefix="/api/v1/bookings")
csrf.exempt(bp)
bp.before_request(api.authenticate)
bp.after_request(api.as_attachment)

SCOPE = "bookings:write"
# the service's refusal -> the HTTP status and the problem type (documented in intranet/intake/openapi.py)
PROBLEMS = {"invalid": (422, "validation-error"), "unknown-service": (404, "not-found"),
            "slot-unavailable": (422, "slot-unavailable"), "slot-full": (409, "slot-full"),
            "already-booked": (409, "already-booked"), "blocked": (403, "booking-blocked"),
            "no-phone": (422, "no-phone"), "wrong-code": (422, "wrong-code"), "gone": (410, "booking-gone")}


@bp.before_request
def needs_scope():
    if getattr(g, "api_client", None) is not None and SCOPE not in g.api_client.scope_list:
        return problem(403, "forbidden", _("Not allowed"),
                       _("This client's token does not carry the scope %(scope)s.", scope=SCOPE))
    return None


def _refused(error: bookings.BookingError):
    """The refusal as a problem; `errors` names the field at fault, as the intake API's answers do."""
    status, kind = PROBLEMS.get(error.kind, (422, "validation-error"))
    return problem(status, kind, _("Not booked"), error.message,
                   errors=[{"field": error.field or "", "message": str(error.message)}])


def _invalid(detail):
    return problem(422, "validation-error", _("Invalid booking"), detail,
                   errors=[{"field": "", "message": str(detail)}])


def _text_fields(*names):
    """The JSON object's text fields, or None when the body is not an object of short texts."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return None
    values = {name: body.get(name) for name in names}
    if not all(isinstance(value, str) and len(value) <= 100 for value in values.values()):
        return None
    return values


def _shown(booking: Booking) -> dict:
    return {"booking": booking.id, "service": booking.service.code, "slot": bookings.local_time(booking.slot_at),
            "status": booking.status,
            "code_expires_at": booking.code_expires_at.isoformat() + "Z" if booking.status == "pending" else None}


def _own(booking_id):
    return bookings.of_client(g.api_client, booking_id)


def _not_found():
    return problem(404, "not-found", _("Not found"), _("No booking of this client has this number."))


@bp.get("/services")
def services():
    return jsonify({"services": [
        {"code": s.code, "name_ar": s.name_ar, "name_en": s.name_en, "opens": s.opens, "closes": s.closes,
         "weekdays": s.weekday_list, "slot_minutes": s.slot_minutes, "capacity": s.capacity}
        for s in bookings.active_services()]})


@bp.get("/services/<code>/slots")
def slots(code):
    try:
        service = bookings.service_by_code(code)
        day = dt.date.fromisoformat(request.args.get("date", "")[:10])
    except bookings.BookingError as refused:
        return _refused(refused)
    except ValueError:
        return _invalid(_("Give the date as YYYY-MM-DD."))
    return jsonify({"service": service.code, "date": day.isoformat(),
                    "slots": [{"slot": slot.value, "free": slot.free} for slot in bookings.slots(service, day)]})


@bp.post("")
def book():
    values = _text_fields("national_id", "service", "slot")
    if values is None:
        return _invalid(_("Send a JSON object with national_id, service and slot as texts."))
    try:
        service = bookings.service_by_code(values["service"])
        booking, _code = bookings.book(service, values["national_id"], values["slot"], "portal", client=g.api_client)
    except bookings.BookingError as refused:
        return _refused(refused)
    response = jsonify(_shown(booking))
    response.status_code = 201
    return response


@bp.get("/<int:booking_id>")
def status(booking_id):
    booking = _own(booking_id)
    return jsonify(_shown(booking)) if booking is not None else _not_found()


@bp.post("/<int:booking_id>/confirmation")
def confirmation(booking_id):
    booking = _own(booking_id)
    if booking is None:
        return _not_found()
    values = _text_fields("code")
    if values is None:
        return _invalid(_("Send a JSON object with the code as a text."))
    try:
        return jsonify(_shown(bookings.confirm(booking, values["code"])))
    except bookings.BookingError as refused:
        return _refused(refused)


@bp.delete("/<int:booking_id>")
def cancel(booking_id):
    booking = _own(booking_id)
    if booking is None:
        return _not_found()
    try:
        return jsonify(_shown(bookings.cancel(booking)))
    except bookings.BookingError as refused:
        return _refused(refused)
