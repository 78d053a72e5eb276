"""Reception desk pages: find or register the citizen, then record a walk-in request for them."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from intranet import workflow
from intranet.auth import permissions
from intranet.i18n import locale_code
from intranet.models import Citizen, RequestType
from intranet.reception import services
from intranet.reception.forms import CitizenForm, FindCitizenForm, NewRequestForm

bp = Blueprint("reception", __name__, url_prefix="/reception")


@bp.before_request
@login_required
def desk_staff_only():
    if not permissions.can_enter_requests(current_user):
        abort(403)


@bp.route("/")
def index():
    """Find a citizen by national ID; offer registration when there is none."""
    form = FindCitizenForm(request.args)
    citizen, register = None, None
    if request.args and form.validate():
        citizen = services.find_citizen(form.national_id.data)
        if citizen is None:
            register = CitizenForm(formdata=None, national_id=form.national_id.data)
            register.governorate.choices = services.governorate_choices(locale_code())
    status = 422 if request.args and form.errors else 200
    return render_template("reception/index.html", form=form, citizen=citizen, register=register), status


@bp.route("/citizens", methods=["POST"])
def register_citizen():
    """Register a new citizen, then go on to their request."""
    form = CitizenForm()
    form.governorate.choices = services.governorate_choices(locale_code())
    if form.validate_on_submit():
        try:
            citizen = services.register_citizen(form.full_name.data, form.national_id.data, form.phone.data,
                                                form.governorate.data, form.preferred_language.data)
        except services.DuplicateCitizen as duplicate:
            form.national_id.errors.append(str(duplicate))
        else:
            return redirect(url_for("reception.new_request", citizen_id=citizen.id), 303)
    return render_template("reception/index.html", form=FindCitizenForm(formdata=None), citizen=None,
                           register=form), 422


@bp.route("/citizens/<int:citizen_id>/requests/new", methods=["GET", "POST"])
def new_request(citizen_id):
    """Record a walk-in request on the citizen's behalf; it gets its tracking number on submit."""
    citizen = Citizen.get_or_none(Citizen.id == citizen_id) or abort(404)
    form = NewRequestForm()
    form.request_type.choices = services.request_type_choices(locale_code())
    error = None
    if form.validate_on_submit():
        try:
            outcome = workflow.submit(current_user, citizen, RequestType.get_by_id(form.request_type.data),
                                      "walk_in", form.subject.data, form.details.data,
                                      uploads=form.attachments.data)
        except workflow.WorkflowError as refused:
            error = refused.message
        else:
            flash(_("Request recorded. Tracking number: %(number)s", number=outcome.request.tracking_number),
                  "success")
            return redirect(url_for("queues.request_page", tracking_number=outcome.request.tracking_number), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("reception/new_request.html", form=form, citizen=citizen, error=error), status
