"""Electronic submissions, exactly once: the raw payload goes into the inbox first, then it is validated
against the schema and the request type, then the workflow records the request; the inbox row gets the
outcome in the same transaction, so a payload is never lost and never half-applied.

Exactly once: the portal's reference makes the request's submission token (unique in the database), so a
retry, even one arriving concurrently, finds the first request instead of making a second; an
Idempotency-Key header, when sent, replays the first answer for that key.
"""
import base64
import binascii
import datetime as dt
import io
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from flask import current_app
from intranet.i18n import gettext as _
from pydantic import ValidationError
from werkzeug.datastructures import FileStorage

from intranet import files, reference, request_substance, workflow
from intranet.auth import permissions
from intranet.db import fetch_one, insert_row, is_sqlite, transaction
from intranet.i18n import search_text
from intranet.intake import public
from intranet.intake.schemas import ResubmissionIn, SubmissionIn, errors_of
from intranet.models import Citizen, Governorate, InboxEntry, Request, RequestType, utcnow
from intranet.models.inquiries import InquirySubject
from intranet.reception.inquiries import SubjectRefused, checked_subject
from intranet.reception.walk_in import duplicates


@dataclass
class Outcome:
    """What the submission came to: `status` is the inbox status; `http` the answer's status code."""
    status: str  # accepted, replayed, rejected, duplicate, limited
    http: int
    request: Request | None = None
    errors: list = field(default_factory=list)
    duplicates: list = field(default_factory=list)
    retry_after: int | None = None
    reference: str | None = None

    @property
    def body(self) -> dict | None:
        return public.receipt(self.request, self.reference) if self.request is not None else None


class Invalid(Exception):
    def __init__(self, errors):
        super().__init__(errors)
        self.errors = errors


def _error(path, message):
    return {"field": path, "message": str(message)}


# --- parsing and validation --------------------------------------------------------------------------

def parse(raw: bytes) -> SubmissionIn:
    """The JSON body as a SubmissionIn, or Invalid with every field's error."""
    try:
        return SubmissionIn.model_validate_json(raw)
    except ValidationError as failure:
        raise Invalid(errors_of(failure)) from None


def parse_dict(data: dict) -> SubmissionIn:
    try:
        return SubmissionIn.model_validate(data)
    except ValidationError as failure:
        raise Invalid(errors_of(failure)) from None


def _type_fields(request_type: RequestType, given: dict, errors: list) -> dict:
    """The type's own fields checked by kind (the same bounds as the reception form)."""
    specs = {spec["name"]: spec for spec in request_type.field_list()}
    data = {}
    for name in given:
        if name not in specs:
            errors.append(_error(f"fields.{name}", _("This request type has no field of this name.")))
    for name, spec in specs.items():
        value = given.get(name)
        path = f"fields.{name}"
        if value is None or value == "":
            if spec["required"]:
                errors.append(_error(path, _("This field is required.")))
            continue
        try:
            data[name] = _checked(spec, value)
        except ValueError as error:
            errors.append(_error(path, error.args[0]))
    return data


def _checked(spec: dict, value):
    """A value of one of the type's fields: of its kind, within the bounds the administrator set (issue 20: `min`,
    `max`; a text's `max` is its length), a choice one of its options; the reception form's rules (walk_in.field_for)."""
    if spec["kind"] == "choice":
        if not isinstance(value, str) or value not in {c["value"] for c in spec.get("choices") or []}:
            raise ValueError(_("Choose one of the options."))
        return value
    checked = _field_value(spec["kind"], value)
    if spec["kind"] == "text" and "max" in spec and len(checked) > spec["max"]:
        raise ValueError(_("At most %(max_length)s characters.", max_length=spec["max"]))
    if spec["kind"] in ("integer", "decimal") and ("min" in spec or "max" in spec):
        low, high = spec.get("min", 0), spec.get("max", 100000 if spec["kind"] == "integer" else 10000000)
        if not low <= Decimal(str(checked)) <= high:
            raise ValueError(_("Enter a value from %(low)s to %(high)s.", low=low, high=high))
    return checked


def _field_value(kind, value):
    if isinstance(value, bool):
        raise ValueError(_("Must be a value of the field's kind, not true or false."))
    if kind == "text":
        return str(value)
    if kind == "integer":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        elif isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if not isinstance(value, int) or not 0 <= value <= 100000:
            raise ValueError(_("Enter a whole number from 0 to 100,000."))
        return value
    if kind == "decimal":
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise ValueError(_("Enter an amount above 0 and up to 10,000,000.")) from None
        if not amount.is_finite() or not Decimal("0.001") <= amount <= Decimal("10000000") \
                or amount != amount.quantize(Decimal("0.001")):
            raise ValueError(_("Enter an amount above 0 and up to 10,000,000, with at most 3 decimals."))
        return str(amount)
    if kind == "date":
        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise ValueError(_("Enter a date as YYYY-MM-DD.")) from None
    raise ValueError(_("Unknown field kind."))


def _documents(request_type, documents, uploads, errors) -> tuple[list[tuple[bytes, str, str | None]], list[str]]:
    """Every document decoded and checked like a reception upload; returns [(content, name, document code or
    None)] and the codes received."""
    codes = {d["code"] for d in request_type.document_list()}
    checked, received = [], []
    items = [(f"documents[{i}]", doc.name, doc.content_base64, doc.code) for i, doc in enumerate(documents)]
    items += [(f"documents[{len(documents) + i}]", up.filename, up, None) for i, up in enumerate(uploads)]
    if len(items) > current_app.config["API_MAX_DOCUMENTS"]:
        errors.append(_error("documents", _("At most %(n)d documents.", n=current_app.config["API_MAX_DOCUMENTS"])))
        return [], []
    for path, name, content, code in items:
        if isinstance(content, str):
            try:
                content = base64.b64decode(content, validate=True)
            except (binascii.Error, ValueError):
                errors.append(_error(f"{path}.content_base64", _("This is not valid base64.")))
                continue
        else:
            content = content.read(current_app.config["ATTACHMENT_MAX_BYTES"] + 1)
        try:
            files.check_upload(FileStorage(io.BytesIO(content), filename=name or "document"))
        except files.UploadRefused as refused:
            errors.append(_error(path, refused))
            continue
        if code is not None and code not in codes:
            errors.append(_error(f"{path}.code", _("This request type needs no document of this code.")))
            continue
        checked.append((content, name or "document", code or None))
        if code:
            received.append(code)
    return checked, received


@dataclass
class Checked:
    submission: SubmissionIn
    request_type: RequestType
    governorate: Governorate
    data: dict
    documents: list
    inquiry_subject: InquirySubject | None = None


def _inquiry_subject(submission, request_type, errors) -> InquirySubject | None:
    """An inquiry's subject by code, by the one rule of every way in (`reception.inquiries.checked_subject`)."""
    if request_type is None:
        return None
    try:
        return checked_subject(request_type, submission.inquiry_subject)
    except SubjectRefused as refused:
        errors.append(_error("inquiry_subject", refused.message))
        return None


def check(submission: SubmissionIn, uploads=()) -> Checked:
    """What the schema cannot know: the request type, the governorate, the type's fields and documents."""
    errors = []
    request_type = reference.cached("open_type", submission.request_type, lambda code: RequestType.get_or_none(
        (RequestType.code == code) & (RequestType.active == True)))  # noqa: E712
    if request_type is None:
        errors.append(_error("request_type", _("There is no open request type with this code.")))
    governorate = reference.cached("governorate", submission.citizen.governorate,
                                   lambda code: Governorate.get_or_none(Governorate.code == code))
    if governorate is None:
        errors.append(_error("citizen.governorate", _("There is no governorate with this code.")))
    data, documents = {}, []
    inquiry_subject = _inquiry_subject(submission, request_type, errors)
    if request_type is not None:
        data = _type_fields(request_type, submission.fields, errors)
        documents, received = _documents(request_type, submission.documents, list(uploads), errors)
        data["documents_received"] = received
    if errors:
        raise Invalid(errors)
    return Checked(submission, request_type, governorate, data, documents, inquiry_subject)


# --- recording ---------------------------------------------------------------------------------------

def _citizen(checked: Checked) -> tuple[Citizen, bool]:
    """The citizen by national ID, registered if new (then True); an empty IBAN on file is filled from the
    portal (and an empty e-mail). Details already on file are not overwritten here: corrections go through the desk, with history."""
    person = checked.submission.citizen
    values = {"full_name": person.full_name, "name_search": search_text(person.full_name),
              "national_id": person.national_id, "phone": person.phone, "governorate": checked.governorate.id,
              "preferred_language": checked.submission.language, "iban": person.iban, "email": person.email}
    # one statement: registered now, or already there (also when a concurrent submission registered them first:
    # on PostgreSQL the insert waits for that transaction, then does nothing)
    new_id = insert_row(Citizen, values, ignore_conflict=True)
    if new_id is not None:
        return Citizen(id=new_id, **values), True
    found = Citizen.get(Citizen.national_id == person.national_id)
    blanks = {name: getattr(person, name) for name in ("iban", "email") if getattr(person, name) and not getattr(found, name)}
    if blanks:  # filling what is empty on file is not a correction: no desk history needed
        Citizen.update(updated_at=utcnow(), **blanks).where(Citizen.id == found.id).execute()
    return found, False


def _limited(citizen: Citizen) -> int | None:
    """Seconds until this citizen may submit again electronically, or None (seed 003: fake bookings)."""
    limit = current_app.config["CITIZEN_DAILY_SUBMISSIONS"]
    since = utcnow() - dt.timedelta(days=1)
    recent = (Request.select(Request.received_at)
              .where((Request.citizen == citizen.id) & (Request.received_at >= since)
                     & (Request.channel == "electronic"))
              .order_by(Request.received_at.desc()).limit(limit))
    times = [row.received_at for row in recent]
    if len(times) < limit:
        return None
    return max(1, int((min(times) + dt.timedelta(days=1) - utcnow()).total_seconds()) + 1)


def token_for(source: str, reference: str) -> str:
    """The request's submission token: unique in the database, so one request per portal reference."""
    return f"{source}:{reference}"[:64]


def record(checked: Checked, token: str, extra_note=None, entered_by=None) -> Outcome:
    """Record a checked submission: the same token again finds the first request (a replay); a citizen over
    the daily limit or a duplicate of an open request is refused. Call inside a transaction. `entered_by`: the
    member of staff who brought it in (a file import's uploader), kept on the request as its maker."""
    reference = checked.submission.portal_reference
    first = Request.get_or_none(Request.submission_token == token)
    if first is not None and not _same_submission(first, checked):
        return Outcome("rejected", 409, reference=reference, errors=[_error("portal_reference", _(
            "This portal reference was used for another submission (request %(number)s): a retry must send the same "
            "body, a new submission needs a new reference.", number=first.tracking_number))])
    citizen, new = _citizen(checked)
    if not new:  # a citizen registered just now has no requests yet: no replay, limit or duplicate to find
        if not is_sqlite():
            # one submission per citizen at a time: a concurrent retry waits here, then finds the first request
            # below, and two different submissions cannot both pass the duplicate check (SQLite: the write lock)
            Citizen.select(Citizen.id).where(Citizen.id == citizen.id).for_update().execute()
        previous = Request.get_or_none(Request.submission_token == token)
        if previous is not None:
            return Outcome("replayed", 201, previous, reference=reference)
        wait = _limited(citizen)
        if wait is not None:
            return Outcome("limited", 429, retry_after=wait, reference=reference, errors=[_error(
                "citizen.national_id", _("This citizen has made too many electronic submissions today."))])
        found = duplicates(citizen, checked.request_type)
        if found:
            return Outcome("duplicate", 409, duplicates=[r.tracking_number for r in found], reference=reference)
    sub = checked.submission
    uploads = _uploads(checked.documents)
    data = dict(checked.data, portal_reference=reference)
    amount = Decimal(data["amount"]) if checked.request_type.is_money and data.get("amount") else None
    done = workflow.submit(None, citizen, checked.request_type, "electronic",
                           sub.subject or checked.request_type.name(citizen.preferred_language), sub.details,
                           data=data, uploads=uploads, amount=amount, submission_token=token, note=extra_note,
                           token_checked=True, extra={"entered_by": entered_by} if entered_by else None,
                           inquiry_subject=checked.inquiry_subject)
    # replayed: a concurrent retry made the request first, and workflow.submit found it
    return Outcome("replayed" if done.replayed else "accepted", 201, done.request, reference=reference)


def _uploads(documents) -> list:
    """Checked documents as the workflow takes them: (document code, file) pairs, None for another attachment."""
    return [(code, FileStorage(io.BytesIO(content), filename=name)) for content, name, code in documents]


def _same_submission(first: Request, checked: Checked) -> bool:
    """Whether `checked` is a retry of the submission that made `first`: same citizen, type, fields and texts.
    A reference reused for something else must not be answered with the first request's receipt."""
    sub = checked.submission
    data = json.loads(first.data or "{}")
    data.pop("portal_reference", None)
    return (first.citizen.national_id == sub.citizen.national_id and first.request_type_id == checked.request_type.id
            and data == checked.data and first.details == (sub.details or "")
            and (not sub.subject or first.subject == sub.subject)
            and first.inquiry_subject_id == (checked.inquiry_subject.id if checked.inquiry_subject else None))


def receive(client, raw: bytes, content_type: str, idempotency_key: str | None, payload: bytes | None = None,
            uploads=()) -> Outcome:
    """One API submission from `client`, from bytes to outcome, with its inbox row in the same transaction.
    `raw` is the body as it came (kept); `payload` the JSON to parse from it (the body, or a multipart part).

    Parsing and checking only read, so they run before the write transaction (on SQLite the write lock is
    the whole database's); the inbox row commits with the outcome, or alone (as received) when something
    unforeseen fails, so no payload is ever lost.
    """
    try:
        outcome = _replayed_by_key(client, idempotency_key, raw if payload is None else payload)
        if outcome is None:
            try:
                checked = check(parse(raw if payload is None else payload), uploads)
            except Invalid as invalid:
                outcome = Outcome("rejected", 422, errors=invalid.errors)
        with transaction():
            if outcome is None:
                outcome = record(checked, token_for(f"api{client.id}", checked.submission.portal_reference))
            _inbox(client, raw, content_type, idempotency_key, outcome)
    except Exception:
        with transaction():
            _inbox(client, raw, content_type, idempotency_key, None)
        raise
    return outcome


def _reference_in(payload: bytes):
    try:
        body = json.loads(payload)
    except ValueError:
        return None
    return body.get("portal_reference") if isinstance(body, dict) else None


def _replayed_by_key(client, idempotency_key, payload: bytes) -> Outcome | None:
    """The first answer for this Idempotency-Key, when a request came of it; the key sent again with another
    submission (another portal reference) is refused rather than answered with the first one's receipt."""
    if not idempotency_key:
        return None
    first = fetch_one(InboxEntry, "inbox_by_key", lambda client_id, key, source: (
        InboxEntry.select(InboxEntry.request, InboxEntry.portal_reference)
        .where((InboxEntry.client == client_id) & (InboxEntry.idempotency_key == key) & (InboxEntry.source == source)
               & InboxEntry.request.is_null(False)).order_by(InboxEntry.id)), client.id, idempotency_key, "api")
    if first is None:
        return None
    if _reference_in(payload) != first.portal_reference:
        return Outcome("rejected", 422, errors=[_error("Idempotency-Key", _(
            "This Idempotency-Key was used for another submission (portal reference %(reference)s): "
            "use a new key for a new submission.", reference=first.portal_reference))])
    return Outcome("replayed", 201, first.request, reference=first.portal_reference)


def refuse(client, raw: bytes, content_type: str, errors: list, http: int = 422) -> Outcome:
    """Keep a submission refused before parsing (bad headers, wrong media type) in the inbox, as rejected."""
    outcome = Outcome("rejected", http, errors=errors)
    with transaction():
        _inbox(client, raw, content_type, None, outcome)
    return outcome


def _inbox(client, raw, content_type, idempotency_key, outcome: Outcome | None, source="api"):
    """The submission as it came, with its outcome (None: still "received", something failed on our side)."""
    values = {}
    if outcome is not None:
        values = {"status": outcome.status, "response_status": outcome.http, "portal_reference": outcome.reference,
                  "request": outcome.request.id if outcome.request is not None else None,
                  "errors": json.dumps(outcome.errors, ensure_ascii=False)}
    insert_row(InboxEntry, {"client": client.id, "source": source, "idempotency_key": idempotency_key,
                            "content_type": (content_type or "")[:200], "payload": raw, **values})


# --- resubmissions: a returned request corrected by the portal ------------------------------------------------

RESUBMISSION = "resubmit"  # the inbox source of a resubmission


def _same_body(stored, payload: bytes) -> bool:
    try:
        return json.loads(bytes(stored)) == json.loads(payload)
    except ValueError:
        return False


def _resubmission_by_key(client, req, idempotency_key, payload: bytes) -> Outcome | None:
    """The first answer for this key (the request as it stands now, a replay), or a 409 when the key came with
    another body or for another request."""
    if not idempotency_key:
        return None
    first = (InboxEntry.select(InboxEntry.request, InboxEntry.payload)
             .where((InboxEntry.client == client.id) & (InboxEntry.idempotency_key == idempotency_key)
                    & (InboxEntry.source == RESUBMISSION) & (InboxEntry.status == "accepted"))
             .order_by(InboxEntry.id).first())
    if first is None:
        return None
    if first.request_id != req.id or not _same_body(first.payload, payload):
        return Outcome("rejected", 409, errors=[_error("Idempotency-Key", _(
            "This Idempotency-Key was used for another resubmission: use a new key for a new one."))])
    return Outcome("replayed", 200, req)


def _not_awaiting(req) -> Outcome | None:
    if "resubmit" in permissions.portal_actions(req):
        return None
    return Outcome("rejected", 409, errors=[_error("", _(
        "Request %(number)s is not waiting for a correction from the citizen.", number=req.tracking_number))])


def check_resubmission(req, payload: bytes) -> tuple[ResubmissionIn, dict, list]:
    """The correction checked like a submission: the schema, then the type's fields (the corrected ones over the
    request's, so a required field stays given) and documents. Returns it, the fields and the tagged uploads."""
    try:
        correction = ResubmissionIn.model_validate_json(payload)
    except ValidationError as failure:
        raise Invalid(errors_of(failure)) from None
    request_type, errors = req.definition, []  # the version it started with
    current = request_substance.type_values(request_type, request_substance.data_of(req))
    data = _type_fields(request_type, {**current, **correction.fields}, errors)
    for name in current:  # a field the correction empties is emptied (the workflow keeps what is not named)
        data.setdefault(name, None)
    documents, _received = _documents(request_type, correction.documents, [], errors)
    if errors:
        raise Invalid(errors)
    return correction, data, _uploads(documents)


def resubmit(client, req: Request, raw: bytes, content_type: str, idempotency_key: str | None) -> Outcome:
    """One API resubmission of `req` (the client's own request), with its inbox row in the same transaction as
    the workflow's resubmission; a key sent again replays the first answer."""
    try:
        outcome = _resubmission_by_key(client, req, idempotency_key, raw) or _not_awaiting(req)
        if outcome is None:
            try:
                correction, data, uploads = check_resubmission(req, raw)
            except Invalid as invalid:
                outcome = Outcome("rejected", 422, errors=invalid.errors)
        with transaction():
            if outcome is None:
                try:
                    done = workflow.resubmit(None, req, req.version, correction.comment, uploads, data)
                except workflow.WorkflowError as refused:  # returned again, or moved on, meanwhile
                    outcome = Outcome("rejected", 409, errors=[_error("", refused.message)])
                else:
                    outcome = Outcome("accepted", 200, done.request)
            _inbox(client, raw, content_type, idempotency_key, outcome, source=RESUBMISSION)
    except Exception:
        with transaction():
            _inbox(client, raw, content_type, idempotency_key, None, source=RESUBMISSION)
        raise
    return outcome
