"""Visitor queue pages: the kiosk at the door, the printed ticket, the desk that calls numbers, and the
waiting-room display."""
from flask import Blueprint, abort, flash, make_response, redirect, request, session, url_for
from intranet.i18n import gettext as _
from flask_login import current_user

from intranet.auth import guard, permissions
from intranet.htmx import render, wants_fragment
from intranet.i18n import ltr
from intranet.models.tickets import SERVICES, VisitorTicket
from intranet.reception import tickets

bp = Blueprint("ticket", __name__, url_prefix="/tickets")


# The kiosk, the desk and the display run on reception's sessions; clerks have no business here.
guard.only(bp, permissions.can_enter_requests)


@bp.route("/kiosk")
def kiosk():
    """Big buttons at the door: the visitor picks a service and gets a numbered ticket."""
    return render("tickets/kiosk.html", waiting=tickets.waiting_counts())


@bp.route("/", methods=["POST"])
def issue():
    """Give the next number of the chosen service, then show the ticket to print."""
    source = "desk" if request.form.get("source") == "desk" else "kiosk"
    try:
        ticket = tickets.issue_ticket(request.form.get("service", ""))
    except tickets.TicketError as refused:
        return render("tickets/kiosk.html", status=422, error=refused.message, waiting=tickets.waiting_counts())
    return redirect(url_for("ticket.ticket", ticket_id=ticket.id, source=source), 303)


@bp.route("/<int:ticket_id>")
def ticket(ticket_id):
    """The ticket laid out for the 80 mm receipt printer: number, service, time, and how many are ahead."""
    ticket = VisitorTicket.get_or_none(VisitorTicket.id == ticket_id) or abort(404)
    return render("tickets/ticket.html", ticket=ticket, ahead=tickets.people_ahead(ticket),
                  from_kiosk=request.args.get("source") != "desk")


DESK_COOKIE = "diwan_desk"
DESK_COOKIE_DAYS = 400  # the longest a browser keeps a cookie


def _remembered_desk() -> dict:
    """The desk and services this person called from last (their own row, issue 19), else this computer (a
    long-lived cookie, "4:inquiry.follow_up"), so the choice outlives signing out and in; only known values."""
    return tickets.desk_choice(current_user.desk_choice) or tickets.desk_choice(request.cookies.get(DESK_COOKIE))


def _desk_choice():
    """The desk and services chosen last in this session, else by this person, else on this computer, or none."""
    chosen = session.get("ticket_desk") or _remembered_desk()
    return chosen.get("desk", ""), chosen.get("services") or list(SERVICES)


def _remember_desk(response, desk, services):
    response = make_response(response)
    response.set_cookie(DESK_COOKIE, f"{desk}:{'.'.join(services)}", max_age=DESK_COOKIE_DAYS * 86400,
                        httponly=True, samesite="Lax", secure=request.is_secure)
    return response


def _desk(desk, services, refused=None, status=200, fragment="tickets/_desk_panel.html"):
    """The desk page (or, for htmx, its panel or figures) for this desk, with what was refused, if anything."""
    current = tickets.current_ticket(desk) if desk in tickets.desks() else None
    return render("tickets/desk.html", fragment, status=status, desk=desk, services=services, current=current,
                  refused=refused, desks=tickets.desks(), figures=tickets.statistics(),
                  waiting=tickets.waiting_counts())


def _after_change(desk, services):
    """htmx swaps the desk panel in place; a plain form goes back to the desk page."""
    return _desk(desk, services) if wants_fragment() else redirect(url_for("ticket.desk"), 303)


@bp.route("/desk")
def desk():
    """The facilitator's desk: which desk and services, call the next number, serve the current ticket."""
    return _desk(*_desk_choice())


@bp.route("/desk/call", methods=["POST"])
def call_next():
    """Call the oldest waiting ticket among the services this desk serves."""
    desk, services = request.form.get("desk", ""), request.form.getlist("services")
    try:
        called = tickets.call_next(current_user, desk, services)
    except tickets.NotAllowed:
        abort(403)
    except tickets.TicketError as refused:
        return _desk(desk, services, refused, 422)
    session["ticket_desk"] = {"desk": desk, "services": services}
    tickets.remember_desk(current_user, desk, services)
    if called is None:
        flash(_("Nobody is waiting for the services of this desk."), "info")
    else:
        flash(_("Ticket %(ticket)s is called to desk %(desk)s.", ticket=ltr(called.label), desk=ltr(desk)), "success")
    return _remember_desk(_after_change(desk, services), desk, services)


@bp.route("/<int:ticket_id>/act", methods=["POST"])
def act(ticket_id):
    """Recall, start serving, finish, or mark a no-show: the desk's current ticket moves on."""
    ticket = VisitorTicket.get_or_none(VisitorTicket.id == ticket_id) or abort(404)
    action, (desk, services) = request.form.get("action", ""), _desk_choice()
    try:
        ticket = tickets.act(current_user, ticket, action)
    except tickets.NotAllowed:
        abort(403)
    except tickets.TicketError as refused:
        status = 409 if isinstance(refused, tickets.StaleTicket) else 422
        return _desk(ticket.desk or desk, services, refused, status)
    flash(_("%(ticket)s: %(action)s.", ticket=ltr(ticket.label), action=tickets.ACTION_LABELS[action]), "success")
    return _after_change(ticket.desk or desk, services)


@bp.route("/stats")
def stats():
    """Today's figures alone, polled by the desk page."""
    return _desk(*_desk_choice(), fragment="tickets/_ticket_stats.html")


@bp.route("/display")
def display():
    """The waiting-room screen: numbers at the desks and the queue per service, refreshed every 5 seconds."""
    return render("tickets/display.html", "tickets/_ticket_board.html", board=tickets.board())
