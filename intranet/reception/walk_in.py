"""Walk-in intake: the request form built from the type's own fields and documents, the duplicate check,
and the submission itself (idempotent by a token the form carries). The correction of a returned request
(the request page's resubmission) is built and checked by the same rules: one form builder per type."""
import datetime as dt
import secrets
from decimal import Decimal

from flask import current_app
from intranet.i18n import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (DateField, DecimalField, HiddenField, IntegerField, SelectField, SelectMultipleField, StringField,
                     TextAreaField)
from wtforms.validators import AnyOf, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from intranet import request_substance, workflow
from intranet.models.inquiries import INQUIRY_TYPE
from intranet.reception import tickets
from intranet.reception.inquiries import SubjectRefused, checked_subject, subject_choices
from intranet.models import OPEN_STATUSES, Request, utcnow

FIELD_PREFIX = "field_"
DOCUMENT_PREFIX = "document_"  # one file input per document of the type's checklist
KINDS = {
    "text": lambda label, required: StringField(label, validators=[_required(required), Length(max=300)]),
    "integer": lambda label, required: IntegerField(label, validators=[
        _required(required), NumberRange(min=0, max=100000, message=_l("Enter a whole number from 0 to 100,000."))]),
    "decimal": lambda label, required: DecimalField(label, places=3, validators=[
        _required(required), NumberRange(min=Decimal("0.001"), max=Decimal("10000000"),
                                         message=_l("Enter an amount above 0 and up to 10,000,000."))]),
    "date": lambda label, required: DateField(label, validators=[_required(required)]),
}


def field_for(spec: dict, locale: str):
    """The form field of one of the type's fields: its kind's bounds, or the narrower ones the administrator set
    (issue 20: `min`, `max`; a text's `max` is its length), a choice among its options."""
    label, required = spec[f"label_{locale}"], spec["required"]
    if spec["kind"] == "choice":
        options = [(c["value"], c[f"label_{locale}"]) for c in spec.get("choices") or []]
        return SelectField(label, choices=[("", "")] + options, default="", validators=[
            _required(required), AnyOf([""] + [value for value, _ in options], message=_l("Choose one of the options."))])
    if "min" not in spec and "max" not in spec:
        return KINDS[spec["kind"]](label, required)
    if spec["kind"] == "text":
        return StringField(label, validators=[_required(required), Length(max=spec["max"])])
    low, high = spec.get("min", 0), spec.get("max", 100000 if spec["kind"] == "integer" else 10000000)
    message = _l("Enter a value from %(low)s to %(high)s.", low=low, high=high)
    if spec["kind"] == "integer":
        return IntegerField(label, validators=[_required(required), NumberRange(min=low, max=high, message=message)])
    return DecimalField(label, places=3, validators=[
        _required(required), NumberRange(min=max(Decimal(low), Decimal("0.001")), max=Decimal(high), message=message)])


def _required(required):
    return InputRequired(_l("This field is required.")) if required else Optional()


class TypeForm(FlaskForm):
    """The type's own fields (`field_<name>`), the documents ticked received, and a file input per document."""
    documents_received = SelectMultipleField(_l("Documents received"), widget=ListWidget(prefix_label=False),
                                             option_widget=CheckboxInput())

    def type_fields(self):
        return [field for field in self if field.name.startswith(FIELD_PREFIX)]

    def document_fields(self):
        return [field for field in self if field.name.startswith(DOCUMENT_PREFIX)]


class IntakeForm(TypeForm):
    subject = StringField(_l("Subject (optional: the request type by default)"), validators=[Optional(), Length(max=300)])
    details = TextAreaField(_l("Details"), validators=[Length(max=5000)])
    attachments = MultipleFileField(_l("Other scanned documents (PDF, JPEG or PNG)"))
    submission_token = HiddenField()
    override_reason = TextAreaField(_l("Reason to submit anyway"), validators=[Length(max=1000)])


class InquiryIntakeForm(IntakeForm):
    """An inquiry's: what it asks about decides the department that answers (choices: the active subjects)."""
    inquiry_subject = SelectField(_l("Inquiry subject"), choices=[], default="", validate_choice=True)


class CorrectionForm(TypeForm):
    """The correction of a returned request, inside the request page's action form (which carries the comment,
    the other attachments and the CSRF token)."""
    class Meta:
        csrf = False  # the action form around it is checked


def _built(base, request_type, locale):
    """`base` with the type's own fields (validated by kind, the same bounds as the API) and a file input per
    required document."""
    class Form(base):
        pass

    for spec in request_type.field_list():
        setattr(Form, FIELD_PREFIX + spec["name"], field_for(spec, locale))
    for doc in request_type.document_list():
        setattr(Form, DOCUMENT_PREFIX + doc["code"], MultipleFileField(doc[f"name_{locale}"]))
    return Form


def intake_form(request_type, locale, submitted=False):
    """The intake form for one request type: common fields (an inquiry's subject, which routes it, as at the desk),
    then the type's own, then its documents."""
    Form = _built(InquiryIntakeForm if request_type.code == INQUIRY_TYPE else IntakeForm, request_type, locale)
    form = Form() if submitted else Form(formdata=None)  # Flask-WTF reads request.form and request.files
    form.documents_received.choices = [(d["code"], d[f"name_{locale}"]) for d in request_type.document_list()]
    if isinstance(form, InquiryIntakeForm):
        form.inquiry_subject.choices = subject_choices(locale)
    if not form.submission_token.data:
        form.submission_token.data = secrets.token_urlsafe(24)
    return form


def correction_form(req, locale, submitted=False):
    """The returned request's fields as they stand (or as sent), to correct; its documents to tick or attach."""
    request_type = req.definition  # the fields and documents of the version it started with
    Form = _built(CorrectionForm, request_type, locale)
    if submitted:
        form = Form()
    else:
        data = request_substance.data_of(req)
        current = {FIELD_PREFIX + spec["name"]: request_substance.typed(spec["kind"], data.get(spec["name"]))
                   for spec in request_type.field_list()}
        ticked = data.get(request_substance.RECEIVED_KEY)
        current["documents_received"] = ticked if isinstance(ticked, list) else []
        form = Form(formdata=None, data=current)
    form.documents_received.choices = [(d["code"], d[f"name_{locale}"]) for d in request_type.document_list()]
    return form


def document_uploads(form) -> list:
    """The files sent for each document, as (code, file) pairs, for the workflow to tag."""
    return [(field.name.removeprefix(DOCUMENT_PREFIX), upload) for field in form.document_fields()
            for upload in (field.data or []) if upload and getattr(upload, "filename", "")]


def corrected_data(form) -> dict:
    """The correction as the request keeps it (the same shape as at intake)."""
    return _data(form)


def previous_submission(token):
    """The request this very form already created (a resent or double-clicked form), or None."""
    return Request.get_or_none(Request.submission_token == token) if token else None


def duplicates(citizen, request_type):
    """The citizen's requests of the same type that are open, or closed within the configured days (seed 003)."""
    since = utcnow() - dt.timedelta(days=current_app.config["DUPLICATE_WINDOW_DAYS"])
    return list(Request.select().where(
        (Request.citizen == citizen.id) & (Request.request_type == request_type.id)
        & (Request.status.in_(OPEN_STATUSES) | (Request.closed_at >= since))).order_by(Request.id.desc()).limit(10))


def _data(form):
    values = {field.name.removeprefix(FIELD_PREFIX): field.data for field in form.type_fields()}
    data = {name: (str(value) if isinstance(value, (Decimal, dt.date)) else value) for name, value in values.items()}
    data["documents_received"] = list(form.documents_received.data or [])
    return data


def submit_walk_in(actor, citizen, request_type, form, found_duplicates, ticket=None):
    """Record the request; a duplicate warning overridden keeps its reason and the requests it was warned of;
    a request made while serving a visitor ticket is linked to it, and the ticket to the citizen."""
    if ticket is not None:
        tickets.link_citizen(ticket, citizen)
    note = None
    if found_duplicates:
        note = {"duplicate_override": (form.override_reason.data or "").strip(),
                "duplicates": [r.tracking_number for r in found_duplicates]}
    amount = getattr(form, FIELD_PREFIX + "amount", None)
    subject = (form.subject.data or "").strip() or request_type.name(citizen.preferred_language)
    try:  # the choices offered are the active subjects; one withdrawn since the form was shown is refused here
        inquiry_subject = checked_subject(
            request_type, form.inquiry_subject.data if isinstance(form, InquiryIntakeForm) else None)
    except SubjectRefused as refused:
        raise workflow.WorkflowError(refused.message) from None
    return workflow.submit(actor, citizen, request_type, "walk_in", subject, form.details.data,
                           data=_data(form), uploads=document_uploads(form) + list(form.attachments.data or []),
                           amount=amount.data if amount is not None and request_type.is_money else None,
                           submission_token=form.submission_token.data or None, note=note,
                           extra={"visitor_ticket": ticket.id} if ticket is not None else None,
                           inquiry_subject=inquiry_subject)
