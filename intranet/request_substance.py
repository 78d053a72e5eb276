"""What a request says (issue 16): its type's own fields as values of their kind, the documents its type needs
(received or missing, with the files that satisfy them), who brought it in for whom, and the difference a
correction made. The request page shows these; `workflow.resubmit` records the difference with the same rules.

A field's value is kept in `Request.data` (JSON) as the intake wrote it: a decimal and a date as text, an integer
as a number, text as text. `typed` reads it back by the field's kind, so "1500" and "1500.000" are one amount and
a correction that leaves a value as it was is no change. A document is received when the desk ticked it
(`documents_received`) or a file tagged with its code is attached.
"""
import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from intranet.db import select_tuples
from intranet.models import ApiClient, Attachment, InboxEntry, Request, RequestType

RECEIVED_KEY = "documents_received"


def typed(kind: str, value):
    """A stored value as its kind's Python value (Decimal, date, int, str); None when empty; what does not read
    as its kind (a definition changed since) stays text."""
    if value is None or value == "":
        return None
    try:
        if kind == "decimal":
            amount = Decimal(str(value))
            return amount if amount.is_finite() else str(value)
        if kind == "integer":
            return int(value)
        if kind == "date":
            return dt.date.fromisoformat(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return str(value)
    return str(value)


def data_of(req: Request) -> dict:
    try:
        data = json.loads(req.data or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


@dataclass
class FieldRow:
    name: str
    label: str
    kind: str
    value: object  # typed: Decimal, date, int, str or None


def _label(spec: dict, locale: str) -> str:
    return spec.get(f"label_{locale}") or spec.get("label_en") or spec["name"]


def field_rows(request_type: RequestType, data: dict, locale: str) -> list[FieldRow]:
    """The type's own fields in the type's order, labelled in the reader's language (a choice: its option's label)."""
    return [FieldRow(spec["name"], _label(spec, locale), spec["kind"],
                     _option_label(spec, typed(spec["kind"], data.get(spec["name"])), locale))
            for spec in request_type.field_list()]


def _option_label(spec: dict, value, locale: str):
    """A choice's value as its option's label in `locale` (issue 20); any other value, or an option no longer
    offered, as it is."""
    for option in spec.get("choices") or [] if spec["kind"] == "choice" else []:
        if option.get("value") == value:
            return option.get(f"label_{locale}") or value
    return value


def type_values(request_type: RequestType, data: dict) -> dict:
    """Only the type's own fields of `data` (not the documents ticked, nor the portal's reference)."""
    return {spec["name"]: data.get(spec["name"]) for spec in request_type.field_list() if spec["name"] in data}


def changes(request_type: RequestType, before: dict, after: dict) -> list[dict]:
    """[{"field", "before", "after"}] for each of the type's fields whose value differs by its kind."""
    found = []
    for spec in request_type.field_list():
        name, kind = spec["name"], spec["kind"]
        if typed(kind, before.get(name)) != typed(kind, after.get(name)):
            found.append({"field": name, "before": before.get(name), "after": after.get(name)})
    return found


@dataclass
class ChangeRow:
    label: str
    kind: str
    before: object
    after: object


def change_rows(request_type: RequestType, recorded: list, locale: str) -> list[ChangeRow]:
    """A recorded difference (history details) labelled and typed for the page; a field the type no longer has
    keeps its name."""
    specs = {spec["name"]: spec for spec in request_type.field_list()}
    rows = []
    for item in recorded or []:
        spec = specs.get(item.get("field"), {"name": str(item.get("field")), "kind": "text"})
        rows.append(ChangeRow(_label(spec, locale), spec["kind"], typed(spec["kind"], item.get("before")),
                              typed(spec["kind"], item.get("after"))))
    return rows


def received_codes(request_type: RequestType, data: dict, attached_codes) -> set[str]:
    """The type's documents received: ticked at the desk (or sent by the portal) or attached with their code."""
    wanted = {doc["code"] for doc in request_type.document_list()}
    ticked = data.get(RECEIVED_KEY) or []
    return wanted & (set(ticked if isinstance(ticked, list) else []) | set(attached_codes))


def attached_codes(req_id: int) -> set[str]:
    return {row.document for row in Attachment.select(Attachment.document)
            .where((Attachment.request == req_id) & Attachment.document.is_null(False))}


def arrived(request_type: RequestType, before: set, after: set) -> list[str]:
    """The type's documents received now that were not before, in the type's order."""
    return [doc["code"] for doc in request_type.document_list() if doc["code"] in after and doc["code"] not in before]


@dataclass
class DocumentRow:
    code: str
    name: str
    received: bool
    files: list = field(default_factory=list)


def documents(req: Request, attachments: list, locale: str) -> tuple[list[DocumentRow], list]:
    """The type's documents, each received or missing with its files, and the other attachments (untagged, or
    tagged with a code the type no longer needs)."""
    request_type = req.definition  # the version of its type it started with
    rows = {doc["code"]: DocumentRow(doc["code"], doc.get(f"name_{locale}") or doc["code"], False)
            for doc in request_type.document_list()}
    others = []
    for item in attachments:
        row = rows.get(item.document) if item.document else None
        (row.files if row is not None else others).append(item)
    received = received_codes(request_type, data_of(req), {item.document for item in attachments if item.document})
    for code in received:
        rows[code].received = True
    return list(rows.values()), others


def attachments_of(req: Request) -> list:
    return list(Attachment.select().where(Attachment.request == req.id).order_by(Attachment.id))


@dataclass
class Origin:
    """Who brought the request in: `kind` desk (entered at the desk by `staff`), portal (sent by the portal
    client `client`), imported (an electronic request in a file imported by `staff`), or electronic (no record
    of the client)."""
    kind: str
    staff: str = ""
    client: str = ""


def _entered_by(req: Request) -> str:
    """Who entered the request: queues/services.find_request reads the name with the request."""
    held = req.__dict__.get("entered_by_name")
    return held if held is not None else req.entered_by.full_name


def portal_client(request_id=Request.id):
    """The name of the portal client that sent the request (its first accepted inbox entry's), a subquery: as a
    column of the request's own row (queues/services.find_request reads it as `portal_client`), or for one id."""
    return (ApiClient.select(ApiClient.name).join(InboxEntry, on=(InboxEntry.client == ApiClient.id))
            .where((InboxEntry.request == request_id) & (InboxEntry.status == "accepted"))
            .order_by(InboxEntry.id).limit(1))


def origin(req: Request) -> Origin:
    if req.channel != "electronic":
        return Origin("desk", staff=_entered_by(req) if req.entered_by_id else "")
    if "portal_client" in req.__dict__:  # read with the request (find_request)
        client = req.portal_client
    else:
        found = select_tuples("request_origin", lambda request_id: portal_client(request_id).tuples(), req.id)
        client = found[0][0] if found else None
    if client is not None:
        return Origin("portal", client=client)
    if req.entered_by_id:
        return Origin("imported", staff=_entered_by(req))
    return Origin("electronic")
