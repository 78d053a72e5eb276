"""Load reference data and request types with their stages from the readable definition file (TOML), and write
the same file back (`dump`): the file is an import and export of the same data, so an institution can keep its
procedures under version control (`diwan load-definitions`, `diwan export-definitions`, the request types page)."""
import json
import tomllib
from pathlib import Path

from intranet.i18n import lazy_gettext as _l

from intranet import reference
from intranet.admin import changes, types
from intranet.db import transaction
from intranet.models import Department, Governorate, InquirySubject, RequestType


class DefinitionError(ValueError):
    """The definition file is inconsistent; nothing was loaded."""


SUBJECTS = {Department: "department", Governorate: "governorate", InquirySubject: "inquiry_subject"}


def _plain(values: dict) -> dict:
    return {key: value.code if hasattr(value, "code") else value for key, value in values.items()}


def _upsert(model, code, actor=None, **values):
    """Insert or update by code; a change is recorded on the administration history (who: `actor`, None for the
    command), nothing when the row already says the same."""
    row = model.get_or_none(model.code == code)
    if row is None:
        created = model.create(code=code, **values)
        changes.record(actor, SUBJECTS[model], code, None, _plain(values))
        return created
    before = _plain({key: getattr(row, key) for key in values})
    if before != _plain(values):
        model.update(**values).where(model.id == row.id).execute()
        changes.record(actor, SUBJECTS[model], code, before, _plain(values))
    return model.get_by_id(row.id)


def _load_type(spec, actor=None):
    """One request type, checked and written by the one rule the administration pages use (admin/types.py): a
    changed definition is a new version, and a stage dropped from the file is closed, so no work is routed to it."""
    try:
        types.save(actor, spec, check_holders=actor is not None)
    except types.Refused as refused:
        raise DefinitionError(f"{spec.get('code')}: " + "; ".join(str(m) for m in refused.messages)) from None


def _load_subject(spec, departments, actor=None):
    """An inquiry subject and the department that answers it (inserted or updated by code)."""
    department = departments.get(spec.pop("department", None))
    if department is None:
        raise DefinitionError(f"inquiry subject {spec['code']} names an unknown department")
    _upsert(InquirySubject, spec.pop("code"), actor, department=department, active=spec.pop("active", True), **spec)


def load(path: Path) -> dict:
    """Insert or update everything in the file, all or nothing; returns counts for the command to print."""
    return load_text(Path(path).read_text(encoding="utf-8"))


def load_text(text: str, actor=None) -> dict:
    """`load` of the file's text; `actor`: the administrator who uploaded it on the request types page (a required
    role must then be held by someone), None for the command. Raises DefinitionError, nothing loaded."""
    reference.forget()  # this process's cached request types, stages and governorates
    try:
        spec = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise DefinitionError(_l("The file is not a readable TOML file: %(error)s", error=str(error))) from None
    for listed in ("departments", "governorates", "request_types"):
        if not isinstance(spec.get(listed), list):
            raise DefinitionError(_l("The file has no [[%(table)s]] tables.", table=listed))
    with transaction():
        departments = {d["code"]: _upsert(Department, d.pop("code"), actor, **d) for d in spec["departments"]}
        for g in spec["governorates"]:
            _upsert(Governorate, g.pop("code"), actor, **g)
        codes = [t.get("code") for t in spec["request_types"]]
        if len(set(codes)) != len(codes):
            raise DefinitionError(_l("A request type code is listed twice: %(codes)s.", codes=", ".join(
                sorted({str(code) for code in codes if codes.count(code) > 1}))))
        for t in spec["request_types"]:
            _load_type(t, actor)
        for subject in spec.get("inquiry_subjects", []):
            _load_subject(subject, departments, actor)
    return {"departments": len(spec["departments"]), "governorates": len(spec["governorates"]),
            "request_types": len(spec["request_types"]), "inquiry_subjects": len(spec.get("inquiry_subjects", []))}


# --- the file written back ----------------------------------------------------------------------------------

def _toml_value(value) -> str:
    if value is None:
        raise ValueError("TOML has no null")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[]" if not value else "[\n" + "".join(f"  {_toml_value(item)},\n" for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key} = {_toml_value(item)}" for key, item in value.items()
                                if item is not None) + " }"
    raise ValueError(f"no TOML form for {value!r}")


def _table(name: str, row: dict) -> str:
    lines = [f"[[{name}]]"]
    lines += [f"{key} = {_toml_value(value)}" for key, value in row.items() if value is not None]
    return "\n".join(lines) + "\n"


def _type_row(rtype) -> dict:
    spec = types.spec_of(rtype)
    months = spec.pop("renewal_months", None)
    row = {key: value for key, value in spec.items() if key not in ("fields", "documents", "stages")}
    if row.get("active") is True:
        row.pop("active")  # the default
    for flag in ("is_money", "working_days"):
        if row.get(flag) is False:
            row.pop(flag)
    if months is not None:
        row["renewal"] = {"every_months": months}
    row["fields"], row["documents"] = spec["fields"], spec["documents"]
    row["stages"] = [{key: value for key, value in stage.items() if value is not None} for stage in spec["stages"]]
    return row


def dump() -> str:
    """The definitions in the database as the file `load` reads: departments, governorates, request types (their
    current version; a retired one with `active = false`) and inquiry subjects."""
    parts = ["# Diwan's definitions, exported from the database (diwan export-definitions); load them with\n"
             "# `diwan load-definitions --file` or the request types page.\n"]
    for model, name in ((Department, "departments"), (Governorate, "governorates")):
        parts += [_table(name, {"code": row.code, "name_ar": row.name_ar, "name_en": row.name_en})
                  for row in model.select().order_by(model.id)]
    parts += [_table("request_types", _type_row(rtype)) for rtype in RequestType.select().order_by(RequestType.id)]
    subjects = InquirySubject.select(InquirySubject, Department).join(Department).order_by(InquirySubject.id)
    parts += [_table("inquiry_subjects", {"code": row.code, "name_ar": row.name_ar, "name_en": row.name_en,
                                          "department": row.department.code,
                                          **({} if row.active else {"active": False})}) for row in subjects]
    return "\n".join(parts)
