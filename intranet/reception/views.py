"""Reception desk pages: find or register the citizen, then record a walk-in request for them."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from intranet.i18n import gettext as _
from flask_login import current_user

from intranet import params, workflow
from intranet.auth import guard, permissions
from intranet.cards import service as cards
from intranet.i18n import locale_code, ltr
from intranet.models import Citizen, RequestType
from intranet.htmx import render
from intranet.reception import services, walk_in
from intranet.reception.forms import CitizenDetailsForm, CitizenForm, DeskInquiryForm, FindCitizenForm
from intranet.reception.inquiries import SubjectRefused, checked_subject, inquiry_form

bp = Blueprint("reception", __name__, url_prefix="/reception")


guard.only(bp, permissions.can_enter_requests)


@bp.route("/")
def index():
    """Find a citizen by national ID (or by phone or name); offer registration when there is none."""
    ticket = services.ticket_in_service(params.arg_id("ticket"))
    if q := params.arg_text("q"):
        return render_template("reception/index.html", form=FindCitizenForm(formdata=None), citizen=None,
                               register=None, matches=services.search_citizens(q), q=q,
                               numbered=services.request_numbered(q), ticket=ticket)
    form = FindCitizenForm(request.args)
    citizen, register = None, None
    if (card := cards.scan(request.args.get("national_id"))) is not None:  # a beneficiary card scanned into the box
        if card.valid:  # the citizen is known for sure: straight to their request
            return redirect(url_for("reception.new_request", citizen_id=card.card.citizen_id,
                                    ticket=ticket.id if ticket else None), 303)
        form.national_id.errors = [card.message]
    elif request.args.get("national_id") is not None and form.validate():
        citizen = services.find_citizen(form.national_id.data)
        if citizen is None:
            register = CitizenForm(formdata=None, national_id=form.national_id.data)
            register.governorate.choices = services.governorate_choices(locale_code())
    status = 422 if form.errors else 200
    return render_template("reception/index.html", form=form, citizen=citizen, register=register,
                           inquiry_form=inquiry_form(DeskInquiryForm, locale_code(), formdata=None), ticket=ticket), status


@bp.route("/citizens", methods=["POST"])
def register_citizen():
    """Register a new citizen, then go on to their request."""
    form = CitizenForm()
    form.governorate.choices = services.governorate_choices(locale_code())
    if form.validate_on_submit():
        try:
            citizen = services.register_citizen(form.full_name.data, form.national_id.data, form.phone.data,
                                                form.governorate.data, form.preferred_language.data, form.iban.data,
                                                form.email.data)
        except services.DuplicateCitizen as duplicate:
            form.national_id.errors.append(str(duplicate))
        else:
            return redirect(url_for("reception.new_request", citizen_id=citizen.id,
                                    ticket=params.arg_id("ticket")), 303)
    return render_template("reception/index.html", form=FindCitizenForm(formdata=None), citizen=None,
                           register=form), 422


@bp.route("/citizens/<int:citizen_id>/edit", methods=["GET", "POST"])
def edit_citizen(citizen_id):
    """Correct the citizen's details needed for intake; every change is recorded with who and when."""
    citizen = Citizen.get_or_none(Citizen.id == citizen_id) or abort(404)
    form = CitizenDetailsForm(obj=citizen, governorate=citizen.governorate_id)
    form.governorate.choices = services.governorate_choices(locale_code())
    if form.validate_on_submit():
        changed = services.update_citizen(current_user, citizen, **{name: form[name].data for name in services.EDITABLE})
        if changed.pop("iban_pending", None):
            flash(_("The new IBAN waits for a supervisor's confirmation: this citizen has payouts under way."), "info")
        flash(_("Saved.") if changed else _("Nothing was changed."), "success")
        return redirect(url_for("reception.index", national_id=citizen.national_id), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("reception/edit_citizen.html", form=form, citizen=citizen), status


@bp.route("/citizens/<int:citizen_id>/requests/new", methods=["GET", "POST"])
def new_request(citizen_id):
    """Record a walk-in request on the citizen's behalf, with the type's own fields and documents."""
    citizen = Citizen.get_or_none(Citizen.id == citizen_id) or abort(404)
    ticket = services.ticket_in_service(params.arg_id("ticket"))
    request_type = services.chosen_request_type(params.arg_id("request_type", request.form)
                                                or params.arg_id("request_type"))
    form = walk_in.intake_form(request_type, locale_code(), submitted=request.method == "POST")
    found, error = [], None
    if form.validate_on_submit() and (done := walk_in.previous_submission(form.submission_token.data)):
        return redirect(url_for("queues.request_page", tracking_number=done.tracking_number), 303)
    if form.validate_on_submit():
        found = walk_in.duplicates(citizen, request_type)
        if found and not (form.override_reason.data or "").strip():
            error = _("This citizen already has a request of this type. Open it, or give the reason to submit anyway.")
        else:
            try:
                outcome = walk_in.submit_walk_in(current_user, citizen, request_type, form, found, ticket)
            except workflow.WorkflowError as refused:
                error = refused.message
            else:
                flash(_("Request recorded. Tracking number: %(number)s", number=ltr(outcome.request.tracking_number)),
                      "success")
                return redirect(url_for("queues.request_page", tracking_number=outcome.request.tracking_number), 303)
    elif request.method == "GET":
        found = walk_in.duplicates(citizen, request_type)
    status = 422 if request.method == "POST" else 200
    return render("reception/new_request.html", "reception/_intake_form.html", status=status, form=form,
                  citizen=citizen, request_type=request_type, duplicates=found, error=error, ticket=ticket,
                  request_types=services.request_type_choices(locale_code()))


@bp.route("/citizens/<int:citizen_id>/inquiries", methods=["POST"])
def desk_inquiry(citizen_id):
    """A question at the desk: answered and closed on the spot, or routed to the department its subject names
    (Citizens Affairs when no subject is chosen)."""
    citizen = Citizen.get_or_none(Citizen.id == citizen_id) or abort(404)
    form = inquiry_form(DeskInquiryForm, locale_code())
    inquiry = RequestType.get(RequestType.code == "inquiry")
    route = request.form.get("route") == "1"
    if form.validate_on_submit():
        try:
            subject = checked_subject(inquiry, form.subject.data)
            if route:
                outcome = workflow.submit(current_user, citizen, inquiry, "walk_in", form.question.data[:300],
                                          form.question.data, inquiry_subject=subject)
            else:
                outcome = workflow.answer_at_desk(current_user, citizen, inquiry, form.question.data, form.answer.data,
                                                  inquiry_subject=subject)
        except SubjectRefused as refused:
            form.subject.errors.append(refused.message)
        except workflow.WorkflowError as refused:
            form.answer.errors.append(str(refused.message))
        else:
            flash(_("Inquiry %(number)s recorded.", number=ltr(outcome.request.tracking_number)), "success")
            return redirect(url_for("queues.request_page", tracking_number=outcome.request.tracking_number), 303)
    return render_template("reception/index.html", form=FindCitizenForm(formdata=None), citizen=citizen,
                           register=None, inquiry_form=form), 422
