"""The API's schemas: one source of truth. The same pydantic models validate what arrives (API and file
imports) and produce the OpenAPI document's JSON Schemas (intranet.intake.openapi)."""
from typing import Annotated, Any, Literal

from intranet.i18n import gettext as _
from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError, WithJsonSchema,
                      field_validator)

from intranet import validation

REFERENCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,49}$"
Text = Annotated[str, StringConstraints(strip_whitespace=True)]


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, hide_input_in_errors=True)


def _cleaned(clean, value):
    """Run an intranet.validation clean_* function; its message (already translated) becomes the error."""
    try:
        return clean(value)
    except ValueError as error:
        raise ValueError(str(error.args[0])) from None


class CitizenIn(Schema):
    national_id: Annotated[Text, Field(min_length=1, max_length=20, description="The national ID number.")]
    full_name: Annotated[Text, Field(min_length=3, max_length=200)]
    phone: Annotated[Text, Field(min_length=1, max_length=30, description="Mobile number; local or +country.")]
    governorate: Annotated[Text, Field(min_length=1, max_length=40, description="Governorate code.")]
    iban: Annotated[Text | None, Field(default=None, max_length=42)] = None
    email: Annotated[Text | None, Field(default=None, max_length=200,
                                        description="Messages go by e-mail too when given.")] = None

    @field_validator("national_id")
    @classmethod
    def _national_id(cls, value):
        return _cleaned(validation.clean_national_id, value)

    @field_validator("full_name")
    @classmethod
    def _full_name(cls, value):
        return _cleaned(validation.clean_name, value)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value):
        return _cleaned(validation.clean_phone, value)

    @field_validator("email")
    @classmethod
    def _email(cls, value):
        return _cleaned(validation.clean_email, value) if value else None

    @field_validator("iban")
    @classmethod
    def _iban(cls, value):
        return _cleaned(validation.clean_iban, value) if value else None


class DocumentIn(Schema):
    name: Annotated[Text, Field(min_length=1, max_length=255, description="File name as the citizen uploaded it.")]
    content_base64: Annotated[str, Field(min_length=4, max_length=14_000_000,
                                         description="The file, base64; PDF, JPEG or PNG, at most 10 MB.")]
    code: Annotated[Text | None, Field(default=None, max_length=40,
                                       description="Which required document this is (the type's checklist code).")]


def _scalar(value):
    """A type field's value: text up to 300 characters, a finite number, true/false or null."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if len(value) > 300:
            raise ValueError(_("At most %(max_length)s characters.", max_length=300))
        return value.strip()
    if isinstance(value, (int, float)) and abs(value) <= 10**12:  # False for inf and nan too
        return value
    raise ValueError(_("Must be text, a number up to 10^12, true, false or null."))


FieldValue = Annotated[Any, BeforeValidator(_scalar), WithJsonSchema({
    "anyOf": [{"type": "string", "maxLength": 300}, {"type": "number", "minimum": -10**12, "maximum": 10**12},
              {"type": "boolean"}, {"type": "null"}]})]


class SubmissionIn(Schema):
    """A request or an inquiry submitted on a citizen's behalf by the portal."""

    portal_reference: Annotated[str, Field(pattern=REFERENCE_PATTERN,
                                           description="The portal's own reference; a retry with it is a replay.")]
    request_type: Annotated[Text, Field(min_length=1, max_length=40, description="Request type code.")]
    language: Literal["ar", "en"] = "ar"
    citizen: CitizenIn
    subject: Annotated[Text | None, Field(default=None, max_length=300)] = None
    inquiry_subject: Annotated[Text | None, Field(default=None, max_length=40, description=(
        "For an inquiry: the code of what it asks about (an inquiry subject); it decides the department that "
        "answers. Without it the inquiry goes to Citizens Affairs."))] = None
    details: Annotated[str, Field(max_length=5000)] = ""
    fields: Annotated[dict[Annotated[str, Field(max_length=40)], FieldValue],
                      Field(default_factory=dict, max_length=40,
                            description="The request type's own fields, by name.")]
    documents: Annotated[list[DocumentIn], Field(default_factory=list, max_length=10)]


class ResubmissionIn(Schema):
    """The citizen's correction of a request returned to them: the fields they corrected (the others stay as they
    were) and the documents they add, each with the code of the checklist item it is."""

    comment: Annotated[str, Field(max_length=2000, description="What the citizen says about the correction.")] = ""
    fields: Annotated[dict[Annotated[str, Field(max_length=40)], FieldValue],
                      Field(default_factory=dict, max_length=40,
                            description="The request type's own fields that change, by name.")]
    documents: Annotated[list[DocumentIn], Field(default_factory=list, max_length=10)]


class Links(Schema):
    status: str


class ReceiptOut(Schema):
    tracking_number: str
    portal_reference: str | None
    status: str
    received_at: str
    expected_answer_by: str = Field(description="The date the answer is due (45 days by default).")
    links: Links


class StageOut(Schema):
    code: str
    name_ar: str
    name_en: str


class EventOut(Schema):
    event: Literal["received", "moved_on", "returned", "resubmitted", "rejected", "completed"]
    at: str
    status: str | None
    stage: StageOut | None
    reason: str
    missing_documents: list[str] | None = None


class InterviewOut(Schema):
    at: str = Field(description="The interview's date and time (ISO 8601, UTC).")
    place: str


class WebhookEventOut(Schema):
    """The body of a webhook delivery: one public change of a request the client submitted."""
    id: str = Field(description="evt_<n>: the same in every retry of this event; deduplicate on it.")
    tracking_number: str
    portal_reference: str | None = Field(description="The client's own reference of the request.")
    event: Literal["moved_on", "returned", "resubmitted", "rejected", "completed", "interview_scheduled"]
    at: str
    status: str | None
    stage: StageOut | None
    reason: str = Field(description="Why it was returned or rejected; empty otherwise.")
    missing_documents: list[str] | None = Field(default=None, description="A return's missing documents (codes).")
    occurred_at: str
    answer: str | None = Field(default=None, description=(
        "An inquiry's answer (event completed of an inquiry): the text also sent to the citizen by SMS. Sent only "
        "to the client that submitted the inquiry."))
    interview: InterviewOut | None = Field(default=None, description=(
        "Event interview_scheduled: the interview set (or moved) for an interview request. Sent only to the client "
        "that submitted the request."))


class StatusOut(Schema):
    tracking_number: str
    request_type: str
    status: str
    stage: StageOut | None
    received_at: str
    expected_answer_by: str
    closed_at: str | None
    history: list[EventOut]


class FieldError(Schema):
    field: str = Field(description="Dotted path of the field, e.g. citizen.phone; empty for the whole body.")
    message: str


class Problem(Schema):
    """RFC 9457 problem details; `errors` lists each field's error, `duplicates` the requests it repeats."""
    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None
    duplicates: list[str] | None = None


# --- errors in the person's (or portal's) language ---------------------------------------------------

def _messages():
    return {
        "missing": _("This field is required."),
        "extra_forbidden": _("This field is not part of the schema."),
        "string_type": _("Must be text."),
        "int_type": _("Must be a whole number."),
        "int_parsing": _("Must be a whole number."),
        "float_type": _("Must be a number."),
        "bool_type": _("Must be true or false."),
        "dict_type": _("Must be an object."),
        "model_type": _("Must be an object."),
        "list_type": _("Must be a list."),
        "literal_error": _("Must be one of: %(expected)s."),
        "string_pattern_mismatch": _("Only letters, digits and . _ : / - are allowed, at most 50 characters."),
        "string_too_short": _("Must not be empty (at least %(min_length)s characters)."),
        "string_too_long": _("At most %(max_length)s characters."),
        "too_long": _("At most %(max_length)s items."),
        "greater_than_equal": _("Must be at least %(ge)s."),
        "less_than_equal": _("Must be at most %(le)s."),
        "finite_number": _("Must be a finite number."),
        "json_invalid": _("The body is not valid JSON."),
        "string_unicode": _("Must be valid UTF-8 text."),
    }


def field_path(loc) -> str:
    """('citizen', 'phone') -> 'citizen.phone'; ('documents', 0, 'name') -> 'documents[0].name'.
    The '[key]' marker pydantic adds for a bad dictionary key is left out."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part != "[key]":
            path += ("." if path else "") + part
    return path


def translate(error: dict) -> str:
    if error["type"] == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    template = _messages().get(error["type"])
    if template is None:
        return error["msg"]
    ctx = {key: ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else value
           for key, value in (error.get("ctx") or {}).items()}
    try:
        return template % ctx if "%(" in template else template
    except (KeyError, TypeError, ValueError):
        return template


def errors_of(failure: ValidationError) -> list[dict]:
    """Each field's first error, translated, in the order pydantic found them."""
    seen, found = set(), []
    for error in failure.errors(include_url=False):
        path = field_path(error["loc"])
        if path not in seen:
            seen.add(path)
            found.append({"field": path, "message": translate(error)})
    return found
