"""Appointments at the desk (issue 19): the day's bookings, booking by phone (over capacity with a reason), the
SMS code read back by the citizen, cancelling; check-in at the kiosk with the national ID; the urgent call of a
ticket ahead of the queue; and the administrators' page of bookable services and the desks they belong to."""
from flask import Blueprint, abort, flash, redirect, request, url_for
from intranet.i18n import gettext as _
from flask_login import current_user, login_required

from intranet import params
from intranet.auth import permissions
from intranet.htmx import render
from intranet.i18n import ltr
from intranet.models.bookings import Booking, BookingService
from intranet.reception import bookings, tickets

bp = Blueprint("booking", __name__, url_prefix="/bookings")


@bp.before_request
@login_required
def signed_in():
    return None


def _desk_only():
    if not permissions.can_enter_requests(current_user):
        abort(403)


def _admin_only():
    if not permissions.can_administer(current_user):
        abort(403)


def _index(refused=None, status=200, form=None):
    day, next_after = bookings.day_page(request.args.get("after"))
    return render("bookings/index.html", status=status, refused=refused, form=form or {},
                  services=bookings.active_services(), day=day, next_after=next_after,
                  overrides=bookings.day_overrides())


@bp.get("/")
def index():
    """Today's bookings and the form to book by phone."""
    _desk_only()
    return _index()


@bp.post("/")
def book():
    _desk_only()
    form = request.form
    over = form.get("over_capacity") == "y"
    try:
        service = bookings.service_by_code(form.get("service"))
        booking, _code = bookings.book(service, form.get("national_id"), form.get("slot"), "desk",
                                       staff=current_user, over_capacity_reason=form.get("reason") if over else None)
    except bookings.NotAllowed:
        abort(403)
    except bookings.BookingError as refused:
        return _index(refused, 422, form)
    flash(_("Booked: a code was sent by SMS to the citizen's phone. Ask the citizen to read it to you."), "success")
    return redirect(url_for("booking.detail", booking_id=booking.id), 303)


def _detail(booking, refused=None, status=200):
    return render("bookings/detail.html", status=status, booking=booking, refused=refused)


@bp.get("/<int:booking_id>")
def detail(booking_id):
    _desk_only()
    return _detail(Booking.get_or_none(Booking.id == booking_id) or abort(404))


@bp.post("/<int:booking_id>/confirm")
def confirm(booking_id):
    _desk_only()
    booking = Booking.get_or_none(Booking.id == booking_id) or abort(404)
    try:
        bookings.confirm(booking, request.form.get("code"))
    except bookings.BookingError as refused:
        return _detail(Booking.get_by_id(booking.id), refused, 422)
    flash(_("The booking is confirmed."), "success")
    return redirect(url_for("booking.detail", booking_id=booking.id), 303)


@bp.post("/<int:booking_id>/cancel")
def cancel(booking_id):
    _desk_only()
    booking = Booking.get_or_none(Booking.id == booking_id) or abort(404)
    try:
        bookings.cancel(booking)
    except bookings.BookingError as refused:
        return _detail(booking, refused, 409)
    flash(_("The booking is cancelled and its place given back."), "success")
    return redirect(url_for("booking.detail", booking_id=booking.id), 303)


@bp.post("/check-in")
def check_in():
    """The kiosk: a booked citizen types the national ID and gets the ticket of the booking."""
    _desk_only()
    try:
        ticket = bookings.check_in_national_id(request.form.get("national_id"))
    except bookings.BookingError as refused:
        return render("tickets/kiosk.html", status=422, check_in_error=refused.message,
                      waiting=tickets.waiting_counts())
    return redirect(url_for("ticket.ticket", ticket_id=ticket.id, source="kiosk"), 303)


@bp.post("/ahead")
def ahead():
    """The urgent path at the desk: call a waiting ticket ahead of the queue, with a reason."""
    _desk_only()
    try:
        ticket = bookings.serve_ahead(current_user, request.form.get("desk"), request.form.get("label"),
                                      request.form.get("reason"))
    except bookings.NotAllowed:
        abort(403)
    except bookings.BookingError as refused:
        return render("bookings/ahead.html", status=422, refused=refused, form=request.form, desks=tickets.desks())
    flash(_("Ticket %(ticket)s is called to desk %(desk)s ahead of the queue.", ticket=ltr(ticket.label),
            desk=ltr(ticket.desk)), "success")
    return redirect(url_for("ticket.desk"), 303)


# --- administrators ---------------------------------------------------------------------------------------------------

def _services_page(refused=None, status=200, form=None, editing=None):
    return render("bookings/services.html", status=status, refused=refused, form=form, editing=editing,
                  services=bookings.all_services(), desks=bookings.desk_rows(),
                  departments=bookings.departments(), nobody_calls=bookings.services_nobody_calls())


@bp.get("/services")
def services():
    _admin_only()
    editing = BookingService.get_or_none(BookingService.id == params.arg_id("edit")) if params.arg_id("edit") else None
    return _services_page(editing=editing)


@bp.post("/services")
def save_service():
    _admin_only()
    service = None
    if request.form.get("id"):
        service = BookingService.get_or_none(BookingService.id == params.to_id(request.form["id"])) or abort(404)
    try:
        bookings.save_service(current_user, request.form, service)
    except bookings.NotAllowed:
        abort(403)
    except bookings.BookingError as refused:
        return _services_page(refused, 422, request.form, service)
    flash(_("The service is saved."), "success")
    return redirect(url_for("booking.services"), 303)


@bp.post("/desks")
def save_desk():
    _admin_only()
    try:
        bookings.save_desk(current_user, request.form.get("desk", ""), request.form.get("department"),
                           request.form.get("service"))
    except bookings.NotAllowed:
        abort(403)
    except bookings.BookingError as refused:
        return _services_page(refused, 422)
    flash(_("Desk %(desk)s is saved.", desk=ltr(request.form.get("desk", ""))), "success")
    return redirect(url_for("booking.services"), 303)
