"""Request types edited by administrators (issue 20): refusals (nothing saved), versions (requests in flight keep
theirs, new ones get the current one), migrating them explicitly, retiring a type, the definitions file exported
and imported as the same data, the loader's dropped stage, and the editor's pages (administrators only)."""
import io
import tomllib

import pytest
from click.testing import CliRunner
from flask_babel import force_locale

from intranet import definitions, workflow
from intranet.admin import types
from intranet.cli import main
from intranet.models import AdminChange, HistoryEntry, Request, RequestType, Staff, Stage
from tests.conftest import csrf_token
from tests.factories import make_citizen, make_staff


def _admin():
    return Staff.get_or_none(Staff.username == "typeadmin") or make_staff("typeadmin", "admin", None)


def _definition(code="permit", stages=None, fields=None, **overrides) -> dict:
    stages = stages if stages is not None else [
        {"code": "check", "name_ar": "التدقيق", "name_en": "Check", "department": "health", "budget_days": 20},
        {"code": "approve", "name_ar": "الاعتماد", "name_en": "Approval", "department": "compensation",
         "budget_days": 25},
    ]
    fields = fields if fields is not None else [
        {"name": "permit_no", "kind": "text", "required": True, "label_ar": "رقم التصريح", "label_en": "Permit number"}]
    return {"code": code, "name_ar": "تصريح", "name_en": "Permit", "sla_days": sum(s["budget_days"] for s in stages),
            "fields": fields, "documents": [{"code": "id_copy", "name_ar": "صورة الهوية", "name_en": "ID copy"}],
            "stages": stages, **overrides}


def _submit(rtype, data=None):
    desk = Staff.get_or_none(Staff.username == "desk") or make_staff("desk", "reception", "reception")
    return workflow.submit(desk, make_citizen(), RequestType.get_by_id(rtype.id), "walk_in", "طلب",
                           data=data or {"permit_no": "P-1"}).request


def _accept(req, actor):
    fresh = Request.get_by_id(req.id)
    return workflow.accept(actor, fresh, fresh.version).request


# --- the loader's defect: a stage dropped from the file was never removed -------------------------------------

FILE = """
[[departments]]
code = "health"
name_ar = "الشؤون الصحية"
name_en = "Health Affairs"

[[departments]]
code = "compensation"
name_ar = "التعويضات"
name_en = "Compensation"

[[governorates]]
code = "doha"
name_ar = "الدوحة"
name_en = "Doha"

[[request_types]]
code = "filed_permit"
name_ar = "تصريح"
name_en = "Permit"
sla_days = {sla}
stages = [
{stages}
]
"""
STAGE_ROWS = [
    '{ code = "one", name_ar = "أولى", name_en = "One", department = "health", budget_days = 10 },',
    '{ code = "two", name_ar = "ثانية", name_en = "Two", department = "health", budget_days = 10 },',
    '{ code = "three", name_ar = "ثالثة", name_en = "Three", department = "compensation", budget_days = 10 },',
]


def test_a_stage_dropped_from_the_file_is_never_routed_to_again(ctx):
    definitions.load_text(FILE.format(sla=30, stages="\n".join(STAGE_ROWS)))
    definitions.load_text(FILE.format(sla=20, stages="\n".join(STAGE_ROWS[:2])))
    rtype = RequestType.get(RequestType.code == "filed_permit")
    clerk = make_staff("h1", "clerk", "health")
    req = _accept(_submit(rtype, {}), clerk)
    assert req.stage.code == "two"
    done = _accept(req, clerk)
    assert done.status == "completed"  # before the fix: routed on to the dropped stage "three"
    dropped = Stage.get((Stage.request_type == rtype.id) & (Stage.code == "three"))
    assert dropped.last_version == 1 and rtype.version == 2


# --- refusals: a clear message and nothing saved --------------------------------------------------------------

def _refused(raw, creating=False):
    before = (AdminChange.select().count(), RequestType.select().count(), Stage.select().count())
    with pytest.raises(types.Refused) as refused:
        types.save(_admin(), raw, creating=creating)
    assert (AdminChange.select().count(), RequestType.select().count(), Stage.select().count()) == before
    with force_locale("en"):
        return " ".join(str(m) for m in refused.value.messages)


def test_a_stage_without_a_department_is_refused(ctx):
    spec = _definition()
    spec["stages"][0]["department"] = ""
    assert "The stage check has no department." in _refused(spec, creating=True)


def test_a_required_role_nobody_holds_is_refused(ctx):
    spec = _definition()
    spec["stages"][1]["role"] = "head"
    assert "No active member of staff holds the role head" in _refused(spec, creating=True)
    make_staff("thehead", "head", None)
    assert types.save(_admin(), spec, creating=True).code == "permit"


def test_a_duplicate_code_is_refused(ctx):
    assert "A request type with the code health_care already exists." in _refused(
        _definition(code="health_care"), creating=True)
    spec = _definition()
    spec["stages"][1]["code"] = "check"
    assert "Two stages have the code check." in _refused(spec, creating=True)


def test_a_field_that_open_requests_still_need_cannot_be_removed(ctx):
    rtype = types.save(_admin(), _definition(), creating=True)
    req = _submit(rtype)
    message = _refused(_definition(fields=[]))
    assert "The field permit_no cannot be removed: 1 open requests still need it." in message
    workflow.reject(make_staff("h1", "clerk", "health"), req, req.version, "لا يستوفي الشروط")
    assert types.save(_admin(), _definition(fields=[])).version == 2  # none open: removed


def test_budgets_that_do_not_add_up_are_refused(ctx):
    assert "add up to 45 days, not the target of 30" in _refused(_definition(sla_days=30), creating=True)


# --- versions --------------------------------------------------------------------------------------------------

def test_a_new_version_leaves_requests_in_flight_on_their_own(ctx):
    admin, clerk, comp = _admin(), make_staff("h1", "clerk", "health"), make_staff("c1", "clerk", "compensation")
    rtype = types.save(admin, _definition(), creating=True)
    old = _submit(rtype)
    fields = _definition()["fields"] + [
        {"name": "reason", "kind": "text", "required": False, "label_ar": "السبب", "label_en": "Reason"}]
    stages = [dict(_definition()["stages"][0], budget_days=5), _definition()["stages"][1],
              {"code": "archive", "name_ar": "الحفظ", "name_en": "Filing", "department": "health", "budget_days": 15}]
    rtype = types.save(admin, _definition(stages=stages, fields=fields))
    assert rtype.version == 2
    new = _submit(rtype, {"permit_no": "P-2", "reason": "سفر"})
    assert (Request.get_by_id(old.id).type_version, new.type_version) == (1, 2)
    assert [f["name"] for f in Request.get_by_id(old.id).definition.field_list()] == ["permit_no"]
    assert [f["name"] for f in new.definition.field_list()] == ["permit_no", "reason"]
    assert (old.stage_due_at - old.received_at).days == 20 and (new.stage_due_at - new.received_at).days == 5
    # the old request finishes on its two stages; the new one goes through three
    assert _accept(_accept(old, clerk), comp).status == "completed"
    after_two = _accept(_accept(new, clerk), comp)
    assert after_two.status == "open" and after_two.stage.code == "archive"
    assert _accept(after_two, clerk).status == "completed"
    change = AdminChange.select().where(AdminChange.key == "permit").order_by(AdminChange.id.desc()).first()
    assert len(change.before_value["stages"]) == 2 and len(change.after_value["stages"]) == 3


def test_an_administrator_migrates_requests_explicitly_with_a_history_entry(ctx):
    admin, clerk = _admin(), make_staff("h1", "clerk", "health")
    rtype = types.save(admin, _definition(), creating=True)
    kept, gone = _submit(rtype), _submit(rtype)
    _accept(gone, clerk)  # at "approve", which version 2 drops
    stages = [dict(_definition()["stages"][0], department="retirement", budget_days=45)]
    rtype = types.save(admin, _definition(stages=stages))
    assert types.open_by_version(rtype) == {1: 2}
    with pytest.raises(workflow.NotAllowed):
        workflow.migrate_version(clerk, kept, kept.version)
    moved, refused = types.migrate(admin, rtype, 1)
    assert moved == 1 and [number for number, _ in refused] == [gone.tracking_number]
    kept = Request.get_by_id(kept.id)
    assert kept.type_version == 2 and kept.stage.last_version is None and kept.department.code == "retirement"
    entry = HistoryEntry.select().where(HistoryEntry.request == kept.id).order_by(HistoryEntry.id.desc()).first()
    assert entry.action == "migrate" and entry.info == {"from_version": 1, "to_version": 2}
    assert Request.get_by_id(gone.id).type_version == 1


def test_a_retired_type_takes_no_new_request_and_its_open_ones_go_on(ctx):
    admin, clerk = _admin(), make_staff("h1", "clerk", "health")
    rtype = types.save(admin, _definition(), creating=True)
    req = _submit(rtype)
    rtype = types.set_active(admin, rtype, False)
    with pytest.raises(workflow.WorkflowError):
        _submit(rtype)  # walk-in, the portal API and file imports all submit through workflow.submit
    assert _accept(req, clerk).stage.code == "approve"
    change = AdminChange.select().where(AdminChange.key == "permit").order_by(AdminChange.id.desc()).first()
    assert (change.before_value, change.after_value) == ({"active": True}, {"active": False})


# --- the definitions file: export and import of the same data -------------------------------------------------

def test_the_definitions_file_round_trips(ctx, app):
    types.save(_admin(), _definition(currency="USD", is_money=True, department="health"), creating=True)
    exported = definitions.dump()
    changes_before = AdminChange.select().count()
    definitions.load_text(exported)
    assert definitions.dump() == exported
    assert AdminChange.select().count() == changes_before  # nothing changed, nothing recorded, no new version
    assert RequestType.get(RequestType.code == "permit").version == 1
    original = tomllib.loads(open(app.config["REQUEST_TYPES_FILE"], encoding="utf-8").read())
    written = {t["code"]: t for t in tomllib.loads(exported)["request_types"]}
    for spec in original["request_types"]:
        assert types.normalized(written[spec["code"]]) == types.normalized(spec), spec["code"]
    assert types.normalized(written["permit"]) == types.spec_of(RequestType.get(RequestType.code == "permit"))


def test_the_export_command_writes_the_file(app, tmp_path, monkeypatch):
    monkeypatch.setenv("INTRANET_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("INTRANET_INSTANCE_DIR", str(tmp_path))
    target = tmp_path / "out.toml"
    result = CliRunner().invoke(main, ["export-definitions", "--file", str(target)])
    assert result.exit_code == 0, result.output
    assert {t["code"] for t in tomllib.loads(target.read_text(encoding="utf-8"))["request_types"]} >= {"health_care"}


# --- the editor's pages -----------------------------------------------------------------------------------------

def test_only_administrators_reach_the_editor(client, auth):
    auth.login("supervisor1")  # every role but the administrator: the table in tests/test_permissions.py
    for path in ("/admin/request-types", "/admin/request-types/new", "/admin/request-types/1",
                 "/admin/request-types/definitions.toml"):
        assert client.get(path).status_code == 403, path
    token = csrf_token(client, "/")
    for path in ("/admin/request-types/1/active", "/admin/request-types/1/migrate", "/admin/request-types/definitions"):
        assert client.post(path, data={"csrf_token": token}).status_code == 403, path


def _form(**overrides):
    data = {"code": "walk_permit", "name_ar": "تصريح مرور", "name_en": "Passage permit", "sla_days": "30",
            "department": "health", "field_rows": "2", "document_rows": "0", "stage_rows": "2",
            "field-1-name": "lane", "field-1-kind": "choice", "field-1-label_ar": "المسار", "field-1-label_en": "Lane",
            "field-1-choices": "north|الشمال|North; south|الجنوب|South",
            "field-0-name": "plate", "field-0-kind": "text", "field-0-required": "1", "field-0-label_ar": "رقم اللوحة",
            "field-0-label_en": "Plate number",
            "stage-0-order": "1", "stage-0-code": "review", "stage-0-name_ar": "المراجعة", "stage-0-name_en": "Review",
            "stage-0-department": "health", "stage-0-budget_days": "10",
            "stage-1-order": "2", "stage-1-code": "sign", "stage-1-name_ar": "التوقيع", "stage-1-name_en": "Signature",
            "stage-1-department": "compensation", "stage-1-budget_days": "20", "action": "save"}
    data.update(overrides)
    return data


def test_the_editor_previews_refuses_and_saves(client, auth, data):
    auth.login("admin1")
    token = csrf_token(client, "/admin/request-types/new")
    preview = client.post("/admin/request-types/new", data=_form(action="preview", csrf_token=token))
    assert preview.status_code == 200 and 'id="preview-diagram"' in preview.text and "رقم اللوحة" in preview.text
    assert "الشمال، الجنوب" in preview.text
    with data():
        assert RequestType.get_or_none(RequestType.code == "walk_permit") is None  # a preview saves nothing
    refused = client.post("/admin/request-types/new", data=_form(**{"stage-1-department": "", "csrf_token": token}))
    assert refused.status_code == 422 and "لا قسم للمرحلة sign" in refused.text
    saved = client.post("/admin/request-types/new", data=_form(csrf_token=token))
    assert saved.status_code == 302
    with data():
        rtype = RequestType.get(RequestType.code == "walk_permit")
        assert [s.code for s in rtype.stages.order_by(Stage.position)] == ["review", "sign"]
        assert types.spec_of(rtype)["fields"][1]["choices"][1] == {"value": "south", "label_ar": "الجنوب",
                                                                   "label_en": "South"}
    page = client.get(f"/admin/request-types/{rtype.id}")
    assert page.status_code == 200 and "walk_permit" in page.text
    download = client.get("/admin/request-types/definitions.toml")
    assert download.mimetype == "application/toml" and b'code = "walk_permit"' in download.data
    history = client.get("/admin/changes?subject=request_type")
    assert "walk_permit" in history.text


def test_every_type_of_the_file_opens_in_the_editor(client, auth, data):
    auth.login("admin1")
    with data():
        ids = [t.id for t in RequestType.select()]
    for type_id in ids:
        page = client.get(f"/admin/request-types/{type_id}")
        assert page.status_code == 200 and 'id="type-form"' in page.text, type_id
    for bad in ({"from_version": "x"}, {"from_version": "0"}):
        assert client.post(f"/admin/request-types/{ids[0]}/migrate",
                           data={"csrf_token": csrf_token(client, "/"), **bad}).status_code == 302
    assert client.get("/admin/request-types/999999").status_code == 404


def test_an_uploaded_file_that_cannot_work_changes_nothing_and_a_good_one_is_recorded(client, auth, data, app):
    auth.login("admin1")
    text = open(app.config["REQUEST_TYPES_FILE"], encoding="utf-8").read()
    with data():
        before = (definitions.dump(), AdminChange.select().count())
    broken = text.replace('department = "health", budget_days = 15 }', 'department = "nowhere", budget_days = 15 }', 1)
    token = csrf_token(client, "/admin/request-types")
    answer = client.post("/admin/request-types/definitions", follow_redirects=True, content_type="multipart/form-data",
                         data={"csrf_token": token, "file": (io.BytesIO(broken.encode()), "types.toml")})
    assert "لم يُحمَّل شيء" in answer.text and "nowhere" in answer.text
    with data():
        assert (definitions.dump(), AdminChange.select().count()) == before
    renamed = text.replace('name_en = "Health Affairs"', 'name_en = "Health"', 1)
    client.post("/admin/request-types/definitions", content_type="multipart/form-data",
                data={"csrf_token": token, "file": (io.BytesIO(renamed.encode()), "types.toml")})
    with data():
        change = AdminChange.select().order_by(AdminChange.id.desc()).first()
        assert (change.subject, change.key, change.actor.username) == ("department", "health", "admin1")
        assert (change.before_value["name_en"], change.after_value["name_en"]) == ("Health Affairs", "Health")
        definitions.load(app.config["REQUEST_TYPES_FILE"])  # the department's name back for the next tests


# --- a field's kind and validation: a choice, bounds -----------------------------------------------------------

CHOICE = {"name": "purpose", "kind": "choice", "required": True, "label_ar": "الغرض", "label_en": "Purpose",
          "choices": [{"value": "travel", "label_ar": "سفر", "label_en": "Travel"},
                      {"value": "work", "label_ar": "عمل", "label_en": "Work"}]}
COUNT = {"name": "people", "kind": "integer", "required": False, "label_ar": "عدد الأشخاص", "label_en": "People",
         "min": 1, "max": 12}


def test_choices_and_bounds_are_checked_when_defined_and_on_every_intake_path(ctx):
    from intranet.intake.submissions import _checked
    from intranet.reception.walk_in import field_for

    no_options = dict(CHOICE, choices=[])
    assert "The choice purpose needs its options" in _refused(_definition(fields=[no_options]), creating=True)
    wide = dict(COUNT, max=200000)
    assert "its bounds must be whole numbers from 0 to 100000" in _refused(_definition(fields=[wide]), creating=True)
    dated = {"name": "day", "kind": "date", "required": False, "label_ar": "اليوم", "label_en": "Day", "max": 3}
    assert "only a number, an amount or a text has bounds" in _refused(_definition(fields=[dated]), creating=True)
    rtype = types.save(_admin(), _definition(fields=[CHOICE, COUNT]), creating=True)
    assert types.spec_of(rtype)["fields"] == [CHOICE, COUNT]  # kept as defined, and exported so (round trip)
    assert _checked(CHOICE, "work") == "work" and _checked(COUNT, "12") == 12
    for spec, value in ((CHOICE, "holiday"), (COUNT, 13), (COUNT, 0)):
        with pytest.raises(ValueError):
            _checked(spec, value)  # the portal's API and the file imports
    choice, count = field_for(CHOICE, "ar"), field_for(COUNT, "ar")
    assert [label for _value, label in choice.kwargs["choices"]] == ["", "سفر", "عمل"]  # the desk's form
    assert count.kwargs["validators"][1].max == 12
    req = _submit(rtype, {"purpose": "travel", "people": 3})
    from intranet import request_substance
    rows = {row.name: row.value for row in request_substance.field_rows(req.definition, {"purpose": "travel"}, "ar")}
    assert rows["purpose"] == "سفر"
