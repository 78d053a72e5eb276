"""Load reference data and request types with their stages from the readable definition file (TOML)."""
import json
import tomllib
from pathlib import Path

from intranet import reference
from intranet.db import transaction
from intranet.models import ROLES, Department, Governorate, InquirySubject, RequestType, Stage


class DefinitionError(ValueError):
    """The definition file is inconsistent; nothing was loaded."""


def _upsert(model, code, **values):
    row = model.get_or_none(model.code == code)
    if row is None:
        return model.create(code=code, **values)
    model.update(**values).where(model.id == row.id).execute()
    return model.get_by_id(row.id)


def _renewal_months(spec):
    """`renewal = { every_months = N }`: a periodic benefit renewed every N months (1 to 120); None without it."""
    renewal = spec.pop("renewal", None)
    if renewal is None:
        return None
    months = renewal.get("every_months") if isinstance(renewal, dict) else None
    if not isinstance(months, int) or isinstance(months, bool) or not 1 <= months <= 120:
        raise DefinitionError(f"{spec['code']}: renewal.every_months must be a whole number of months from 1 to 120")
    return months


def _load_type(spec, departments):
    stages = spec.pop("stages")
    total = sum(stage["budget_days"] for stage in stages)
    if total != spec.get("sla_days", 45):
        raise DefinitionError(f"{spec['code']}: stage budgets add up to {total}, not {spec.get('sla_days', 45)}")
    for listed in ("documents", "fields"):
        spec[listed] = json.dumps(spec.get(listed, []), ensure_ascii=False)
    spec["renewal_months"] = _renewal_months(spec)
    rtype = _upsert(RequestType, spec.pop("code"), **spec)
    for position, stage in enumerate(stages, start=1):
        department = departments.get(stage.pop("department"))
        if department is None:
            raise DefinitionError(f"{rtype.code}: stage {stage['code']} names an unknown department")
        if stage.get("role") not in (None, *ROLES):
            raise DefinitionError(f"{rtype.code}: stage {stage['code']} requires an unknown role")
        # a stage without `role` is any clerk's of its department: a role removed from the file is removed here
        values = dict({"role": None}, **stage, department=department, request_type=rtype)
        existing = Stage.get_or_none((Stage.request_type == rtype) & (Stage.position == position))
        if existing is None:
            Stage.create(position=position, **values)
        else:
            Stage.update(**values).where(Stage.id == existing.id).execute()


def _load_subject(spec, departments):
    """An inquiry subject and the department that answers it (inserted or updated by code)."""
    department = departments.get(spec.pop("department", None))
    if department is None:
        raise DefinitionError(f"inquiry subject {spec['code']} names an unknown department")
    _upsert(InquirySubject, spec.pop("code"), department=department, active=spec.pop("active", True), **spec)


def load(path: Path) -> dict:
    """Insert or update everything in the file, all or nothing; returns counts for the command to print."""
    reference.forget()  # this process's cached request types, stages and governorates
    spec = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    with transaction():
        departments = {d["code"]: _upsert(Department, d.pop("code"), **d) for d in spec["departments"]}
        for g in spec["governorates"]:
            _upsert(Governorate, g.pop("code"), **g)
        for t in spec["request_types"]:
            _load_type(t, departments)
        for subject in spec.get("inquiry_subjects", []):
            _load_subject(subject, departments)
    return {"departments": len(spec["departments"]), "governorates": len(spec["governorates"]),
            "request_types": len(spec["request_types"]), "inquiry_subjects": len(spec.get("inquiry_subjects", []))}
