"""Request types as data an administrator edits (issue 20): one definition (`spec`, the file's form: names, owning
department, money and currency, the target in days, fields, documents, stages by code), checked by one function
(`refusals`) and written by one function (`save`) for the editor, the page's upload and `diwan load-definitions`.

Saving a changed definition makes a new version: the type's `version` goes up, the definition is kept as a
`RequestTypeVersion` row (its fields and documents are what the requests started under it keep), stages whose
position or values changed, or that were dropped, are closed (`last_version`) and new rows opened, so a request in
flight follows the stages and budgets of the version it started with until an administrator migrates it
(`migrate`, one history entry per request through the workflow). A type can be retired: no intake path submits a
new request of it (`workflow.submit` refuses), its open requests go on. Every change is recorded (`changes.record`).
"""
import json
import re

import peewee as pw
from peewee import JOIN

from intranet.i18n import lazy_gettext as _l

from intranet import reference, workflow
from intranet.admin import changes
from intranet.db import transaction
from intranet.models import (
    OPEN_STATUSES, ROLES, Department, Request, RequestType, RequestTypeVersion, Staff, Stage,
)

SUBJECT = "request_type"
# the kinds of field the intake form, the API and the imports know (reception/walk_in.py KINDS)
KINDS = ("text", "integer", "decimal", "date", "choice")
KIND_LABELS = {"text": _l("Text"), "integer": _l("Number"), "decimal": _l("Amount"), "date": _l("Date"),
               "choice": _l("Choice")}
# a field's own validation, within the bounds every intake path applies (reception/walk_in.py, intake/submissions.py):
# `min`/`max` of a number or an amount (whole numbers), `max` of a text's length; a choice's `choices`
BOUNDS = {"integer": (0, 100000), "decimal": (0, 10000000), "text": (1, 300)}
CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
DEFAULT_SLA_DAYS = 45
MAX_SLA_DAYS = 365
INVALID = -1  # a value given that is not a whole number, kept for `refusals` to name
NAME_MAX = 200
# the type's own columns a definition sets, besides names, fields, documents and stages; `working_days` (the
# calendar, issue 20) when the model has it
FLAGS = ("sla_days", "is_money", "currency", "renewal_months", "working_days")


class Refused(ValueError):
    """A definition that cannot work; `messages` say why (translated), nothing was saved."""

    def __init__(self, messages):
        super().__init__("; ".join(str(m) for m in messages))
        self.messages = list(messages)


def flags() -> tuple:
    return tuple(flag for flag in FLAGS if flag in RequestType._meta.fields)


# --- the definition as data -------------------------------------------------------------------------------------

def spec_of(rtype: RequestType) -> dict:
    """The type's current definition in the file's form (what is exported, compared and recorded)."""
    stages = (Stage.select(Stage, Department).join(Department)
              .where((Stage.request_type == rtype.id) & Stage.last_version.is_null()).order_by(Stage.position))
    owner = Department.get_or_none(Department.id == rtype.department_id) if rtype.department_id else None
    spec = {"code": rtype.code, "name_ar": rtype.name_ar, "name_en": rtype.name_en,
            "department": owner.code if owner else None, "active": bool(rtype.active)}
    for flag in flags():
        value = getattr(rtype, flag)
        spec[flag] = bool(value) if flag in ("is_money", "working_days") else value
    spec["fields"] = [_field(f) for f in rtype.field_list()]
    spec["documents"] = [_document(d) for d in rtype.document_list()]
    spec["stages"] = [{"code": s.code, "name_ar": s.name_ar, "name_en": s.name_en, "department": s.department.code,
                       "role": s.role, "budget_days": s.budget_days} for s in stages]
    return spec


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _whole(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _field(raw) -> dict:
    raw = raw if isinstance(raw, dict) else {}
    field = {"name": _text(raw.get("name")), "kind": _text(raw.get("kind")), "required": bool(raw.get("required")),
             "label_ar": _text(raw.get("label_ar")), "label_en": _text(raw.get("label_en"))}
    for bound in ("min", "max"):  # only when given: a field without them keeps the kind's own bounds
        if raw.get(bound) not in (None, ""):
            field[bound] = _whole(raw.get(bound)) if _whole(raw.get(bound)) is not None else INVALID
    if field["kind"] == "choice" or raw.get("choices"):
        choices = raw.get("choices")
        field["choices"] = [{"value": _text(c.get("value")), "label_ar": _text(c.get("label_ar")),
                             "label_en": _text(c.get("label_en"))} if isinstance(c, dict) else None
                            for c in choices] if isinstance(choices, list) else [None]
    return field


def _document(raw) -> dict:
    raw = raw if isinstance(raw, dict) else {}
    return {"code": _text(raw.get("code")), "name_ar": _text(raw.get("name_ar")), "name_en": _text(raw.get("name_en"))}


def _stage(raw) -> dict:
    raw = raw if isinstance(raw, dict) else {}
    return {"code": _text(raw.get("code")), "name_ar": _text(raw.get("name_ar")), "name_en": _text(raw.get("name_en")),
            "department": _text(raw.get("department")) or None, "role": _text(raw.get("role")) or None,
            "budget_days": _whole(raw.get("budget_days"))}


def normalized(raw: dict) -> dict:
    """A definition as the file or the form gives it, in the form `spec_of` returns (defaults filled in; what is
    not of its kind kept as None, for `refusals` to name)."""
    renewal = raw.get("renewal", None)
    months = raw.get("renewal_months")
    if "renewal" in raw:  # the file's `renewal = { every_months = N }`
        months = renewal.get("every_months", INVALID) if isinstance(renewal, dict) else INVALID
    spec = {"code": _text(raw.get("code")), "name_ar": _text(raw.get("name_ar")), "name_en": _text(raw.get("name_en")),
            "department": _text(raw.get("department")) or None, "active": raw.get("active", True) is not False}
    values = {"sla_days": _whole(raw.get("sla_days", DEFAULT_SLA_DAYS)), "is_money": bool(raw.get("is_money")),
              "currency": _text(raw.get("currency")).upper() or None,
              "renewal_months": None if months in (None, "") else _whole(months) or INVALID,
              "working_days": bool(raw.get("working_days"))}
    spec.update({flag: values[flag] for flag in flags()})
    for listed, shape in (("fields", _field), ("documents", _document), ("stages", _stage)):
        items = raw.get(listed, [])
        spec[listed] = [shape(item) for item in items] if isinstance(items, list) else [None]
    return spec


def _versioned(spec: dict) -> dict:
    """What makes a new version: everything but whether the type is open for new requests."""
    return {key: value for key, value in spec.items() if key != "active"}


# --- refusals ---------------------------------------------------------------------------------------------------

def _duplicates(values) -> list:
    seen, twice = set(), []
    for value in values:
        if value in seen and value not in twice:
            twice.append(value)
        seen.add(value)
    return twice


def _open_requests_holding(rtype: RequestType, name: str) -> int:
    """Open requests of the type whose data holds a value for the field `name` (they still need it)."""
    key = json.dumps(name, ensure_ascii=False) + ":"
    query = Request.select(Request.id, Request.data).where(
        (Request.request_type == rtype.id) & Request.status.in_(OPEN_STATUSES) & Request.data.contains(key))
    return sum(1 for req in query if json.loads(req.data or "{}").get(name) not in (None, ""))


def refusals(spec: dict, existing: RequestType | None = None, creating: bool = False,
             check_holders: bool = True) -> list:
    """Why the definition cannot work, in words (empty: it can). `existing`: the type it replaces; `creating`: a
    new type is being created (its code must be free); `check_holders`: a stage's required role must be held by an
    active member of staff (not when the file is loaded before anyone has signed in)."""
    found = []
    code = spec["code"]
    if not CODE.match(code):
        found.append(_l("The code must be lower-case Latin letters, digits or _ and start with a letter (at most "
                        "40)."))
    elif creating and RequestType.select().where(RequestType.code == code).exists():
        found.append(_l("A request type with the code %(code)s already exists.", code=code))
    for language in ("ar", "en"):
        if not spec[f"name_{language}"] or len(spec[f"name_{language}"]) > NAME_MAX:
            found.append(_l("Write the type's name in Arabic and in English (at most 200 characters each)."))
            break
    departments = {d.code: d for d in Department.select()}
    if spec["department"] is not None and spec["department"] not in departments:
        found.append(_l("The owning department %(code)s does not exist.", code=spec["department"]))
    sla = spec.get("sla_days")
    if sla is None or not 1 <= sla <= MAX_SLA_DAYS:
        found.append(_l("The answer target must be a whole number of days from 1 to 365."))
    currency = spec.get("currency")
    if currency is not None and not CURRENCY.match(currency):
        found.append(_l("The currency must be a three-letter code such as QAR."))
    if currency is not None and not spec.get("is_money"):
        found.append(_l("Only a money request has a currency."))
    months = spec.get("renewal_months", None)
    if "renewal_months" in spec and months is not None and not 1 <= months <= 120:
        found.append(_l("Renewal (renewal.every_months): a whole number of months from 1 to 120."))
    found += _field_refusals(spec, existing)
    found += _document_refusals(spec)
    found += _stage_refusals(spec, existing, departments, check_holders)
    return found


def _field_refusals(spec, existing) -> list:
    found = []
    if None in spec["fields"]:
        return [_l("The fields must be a list.")]
    for field in spec["fields"]:
        if not CODE.match(field["name"]):
            found.append(_l("A field's name must be lower-case Latin letters, digits or _ (%(name)s).",
                            name=field["name"] or "—"))
        if field["kind"] not in KINDS:
            found.append(_l("The field %(name)s has no kind: text, number, amount, date or choice.",
                            name=field["name"]))
        if not field["label_ar"] or not field["label_en"]:
            found.append(_l("The field %(name)s needs its label in Arabic and in English.", name=field["name"]))
        found += _validation_refusals(field)
    for name in _duplicates(f["name"] for f in spec["fields"]):
        found.append(_l("Two fields have the name %(name)s.", name=name))
    if existing is not None:
        kept = {f["name"] for f in spec["fields"]}
        for field in existing.field_list():
            if field["name"] not in kept and (count := _open_requests_holding(existing, field["name"])):
                found.append(_l("The field %(name)s cannot be removed: %(count)d open requests still need it.",
                                name=field["name"], count=count))
    return found


def _validation_refusals(field) -> list:
    """A field's own validation: bounds within its kind's, the lowest not above the highest; a choice's options."""
    found, name = [], field["name"]
    low, high = BOUNDS.get(field["kind"], (None, None))
    given = [field.get(bound) for bound in ("min", "max") if bound in field]
    if given and low is None:
        found.append(_l("The field %(name)s: only a number, an amount or a text has bounds.", name=name))
    elif given and field["kind"] == "text" and "min" in field:
        found.append(_l("The field %(name)s: a text has a maximum length only.", name=name))
    elif given and (any(value == INVALID or not low <= value <= high for value in given)
                    or field.get("min", low) > field.get("max", high)):
        found.append(_l("The field %(name)s: its bounds must be whole numbers from %(low)d to %(high)d, the lowest"
                        " first.", name=name, low=low, high=high))
    if field["kind"] == "choice":
        choices = field.get("choices") or []
        if not choices or None in choices or not all(
                CODE.match(c["value"]) and c["label_ar"] and c["label_en"] for c in choices):
            found.append(_l("The choice %(name)s needs its options: a Latin code and a label in Arabic and in "
                            "English each.", name=name))
        elif _duplicates(c["value"] for c in choices):
            found.append(_l("The choice %(name)s offers the same option twice.", name=name))
    elif field.get("choices"):
        found.append(_l("The field %(name)s: only a choice has options.", name=name))
    return found


def _document_refusals(spec) -> list:
    if None in spec["documents"]:
        return [_l("The documents must be a list.")]
    found = []
    for document in spec["documents"]:
        if not CODE.match(document["code"]):
            found.append(_l("A document's code must be lower-case Latin letters, digits or _ (%(code)s).",
                            code=document["code"] or "—"))
        if not document["name_ar"] or not document["name_en"]:
            found.append(_l("The document %(code)s needs its name in Arabic and in English.", code=document["code"]))
    for code in _duplicates(d["code"] for d in spec["documents"]):
        found.append(_l("Two documents have the code %(code)s.", code=code))
    return found


def _stage_refusals(spec, existing, departments, check_holders) -> list:
    if None in spec["stages"]:
        return [_l("The stages must be a list.")]
    if not spec["stages"]:
        return [_l("A request type needs at least one stage.")]
    found = []
    current_roles = {}
    if existing is not None:
        current_roles = {s.code: s.role for s in Stage.select().where(
            (Stage.request_type == existing.id) & Stage.last_version.is_null())}
    for stage in spec["stages"]:
        name = stage["code"] or "—"
        if not CODE.match(stage["code"]):
            found.append(_l("A stage's code must be lower-case Latin letters, digits or _ (%(code)s).", code=name))
        if not stage["name_ar"] or not stage["name_en"]:
            found.append(_l("The stage %(code)s needs its name in Arabic and in English.", code=name))
        if stage["department"] is None:
            found.append(_l("The stage %(code)s has no department.", code=name))
        elif stage["department"] not in departments:
            found.append(_l("The stage %(code)s names a department that does not exist (%(department)s).",
                            code=name, department=stage["department"]))
        role = stage["role"]
        if role is not None and role not in ROLES:
            found.append(_l("The stage %(code)s requires an unknown role (%(role)s).", code=name, role=role))
        elif (role is not None and check_holders and current_roles.get(stage["code"]) != role
              and not Staff.select().where((Staff.role == role) & Staff.active).exists()):
            found.append(_l("No active member of staff holds the role %(role)s that the stage %(code)s requires.",
                            role=role, code=name))
        if stage["budget_days"] is None or stage["budget_days"] < 1:
            found.append(_l("The stage %(code)s needs a budget of at least one day.", code=name))
    for code in _duplicates(s["code"] for s in spec["stages"]):
        found.append(_l("Two stages have the code %(code)s.", code=code))
    budgets = [s["budget_days"] for s in spec["stages"]]
    if spec.get("sla_days") and None not in budgets and sum(budgets) != spec["sla_days"]:
        found.append(_l("The stage budgets add up to %(total)d days, not the target of %(target)d.",
                        total=sum(budgets), target=spec["sla_days"]))
    return found


# --- saving -----------------------------------------------------------------------------------------------------

def save(actor, raw: dict, creating: bool = False, check_holders: bool = True) -> RequestType:
    """Check and write one definition, all or nothing; a new version when it changed. Raises Refused."""
    spec = normalized(raw)
    with transaction():
        existing = RequestType.get_or_none(RequestType.code == spec["code"]) if spec["code"] else None
        found = refusals(spec, None if creating else existing, creating, check_holders)
        if found:
            raise Refused(found)
        return _write(actor, spec, existing)


def _write(actor, spec: dict, existing: RequestType | None) -> RequestType:
    before = spec_of(existing) if existing is not None else None
    if before is not None and before == spec:
        _keep_version_row(existing, spec, actor)
        return existing
    departments = {d.code: d.id for d in Department.select()}
    columns = {"name_ar": spec["name_ar"], "name_en": spec["name_en"], "active": spec["active"],
               "department": departments.get(spec["department"]),
               "fields": json.dumps(spec["fields"], ensure_ascii=False),
               "documents": json.dumps(spec["documents"], ensure_ascii=False),
               **{flag: spec[flag] for flag in flags()}}
    if existing is None:
        rtype = RequestType.create(code=spec["code"], version=1, **columns)
    elif before is not None and _versioned(before) == _versioned(spec):  # only opened or retired: no new version
        RequestType.update(active=spec["active"]).where(RequestType.id == existing.id).execute()
        rtype = RequestType.get_by_id(existing.id)
    else:
        RequestType.update(version=existing.version + 1, **columns).where(RequestType.id == existing.id).execute()
        rtype = RequestType.get_by_id(existing.id)
    if before is None or _versioned(before) != _versioned(spec):
        _write_stages(rtype, spec["stages"], departments, existing is None)
    _keep_version_row(rtype, spec, actor)
    changes.record(actor, SUBJECT, rtype.code, before, spec)
    reference.forget()  # this process's cached types and stages
    return rtype


def _keep_version_row(rtype: RequestType, spec: dict, actor) -> None:
    """The version's definition, once per version (also for a type loaded before versions were kept)."""
    if not RequestTypeVersion.select().where((RequestTypeVersion.request_type == rtype.id)
                                             & (RequestTypeVersion.number == rtype.version)).exists():
        RequestTypeVersion.create(request_type=rtype.id, number=rtype.version, created_by=getattr(actor, "id", None),
                                  definition=json.dumps(_versioned(spec), ensure_ascii=False, sort_keys=True))


def _write_stages(rtype: RequestType, stages: list, departments: dict, new_type: bool) -> None:
    """The version's stages: a current stage that is unchanged at the same position carries on; one changed or
    dropped is closed at the previous version (never deleted, never routed to again); the rest are opened."""
    wanted = {}
    for position, stage in enumerate(stages, start=1):
        wanted[stage["code"]] = {"position": position, "code": stage["code"], "name_ar": stage["name_ar"],
                                 "name_en": stage["name_en"], "department": departments[stage["department"]],
                                 "role": stage["role"], "budget_days": stage["budget_days"]}
    carried = set()
    for current in Stage.select().where((Stage.request_type == rtype.id) & Stage.last_version.is_null()):
        now = {"position": current.position, "code": current.code, "name_ar": current.name_ar,
               "name_en": current.name_en, "department": current.department_id, "role": current.role,
               "budget_days": current.budget_days}
        if not new_type and wanted.get(current.code) == now:
            carried.add(current.code)
        else:
            Stage.update(last_version=rtype.version - 1).where(Stage.id == current.id).execute()
    for code, values in wanted.items():
        if code not in carried:
            Stage.create(request_type=rtype.id, first_version=rtype.version, **values)


def set_active(actor, rtype: RequestType, active: bool) -> RequestType:
    """Retire a type (no new request on any intake path; its open requests go on) or open it again."""
    with transaction():
        fresh = RequestType.get_by_id(rtype.id)
        if bool(fresh.active) == active:
            return fresh
        RequestType.update(active=active).where(RequestType.id == fresh.id).execute()
        changes.record(actor, SUBJECT, fresh.code, {"active": bool(fresh.active)}, {"active": active})
    reference.forget()
    return RequestType.get_by_id(rtype.id)


# --- versions and in-flight requests ------------------------------------------------------------------------

def versions(rtype: RequestType) -> list[RequestTypeVersion]:
    return list(RequestTypeVersion.select(RequestTypeVersion, Staff)
                .join(Staff, join_type=JOIN.LEFT_OUTER, on=(RequestTypeVersion.created_by == Staff.id))
                .where(RequestTypeVersion.request_type == rtype.id).order_by(RequestTypeVersion.number.desc()))


def open_by_version(rtype: RequestType) -> dict[int, int]:
    """How many open requests of the type each earlier version still carries."""
    query = (Request.select(Request.type_version, pw.fn.COUNT(Request.id).alias("n"))
             .where((Request.request_type == rtype.id) & Request.status.in_(OPEN_STATUSES)
                    & (Request.type_version != rtype.version))
             .group_by(Request.type_version).order_by(Request.type_version))
    return {row.type_version: row.n for row in query}


def migrate(actor, rtype: RequestType, from_version: int) -> tuple[int, list]:
    """Move the open requests of `from_version` to the current version, each through the workflow with its history
    entry; returns how many moved and the refusals of those that could not (their stage is gone)."""
    rtype = RequestType.get_by_id(rtype.id)
    moved, refused = 0, []
    ids = [r.id for r in Request.select(Request.id).where(
        (Request.request_type == rtype.id) & Request.status.in_(OPEN_STATUSES)
        & (Request.type_version == from_version)).order_by(Request.id)]
    for req_id in ids:
        req = Request.get_by_id(req_id)
        try:
            workflow.migrate_version(actor, req, req.version)
        except workflow.WorkflowError as error:
            refused.append((req.tracking_number, str(error)))
        else:
            moved += 1
    if moved:
        with transaction():
            changes.record(actor, SUBJECT, rtype.code, {"migrated_from": from_version},
                           {"migrated_to": rtype.version, "requests": moved})
    return moved, refused


# --- the editor's preview --------------------------------------------------------------------------------------

def diagram(spec: dict, rtl: bool = False) -> dict:
    """The workflow drawn as boxes on a line (an SVG the page renders): each stage's box with its department, role
    and budget, in order, then "completed"; read from the right in Arabic. The width fits the stages."""
    names = {d.code: d for d in Department.select()}
    stages = [stage for stage in spec.get("stages") or [] if stage is not None]
    step, count = 190, len(stages)
    boxes = []
    for n, stage in enumerate(stages):
        x = 10 + ((count - n) if rtl else n) * step
        # the arrow to the next box: from the box's trailing edge
        arrow = (x - 30, x) if rtl else (x + 160, x + step)
        boxes.append({"x": x, "arrow": arrow, "stage": stage, "department": names.get(stage["department"])})
    return {"boxes": boxes, "width": 10 + (count + 1) * step, "end_x": 10 if rtl else 10 + count * step}


def overview() -> list[RequestType]:
    return list(RequestType.select().order_by(RequestType.id))
