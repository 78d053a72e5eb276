"""The banks' file layouts as data (issue 20): imported from INTRANET_PAYOUT_BANK_PROFILES by the upgrade, edited by
administrators with the one rule that checked the setting, every change recorded, bad input refused with nothing
changed, a layout a batch was made with retired instead of deleted, and the export reading its layout from the
database."""
import json

import pytest
from flask_babel import force_locale

from intranet import db
from intranet.admin import bank_layouts
from intranet.admin.reference import Refused
from intranet.models import AdminChange, BankLayout
from intranet.models.payouts import ExportFile, PayoutBatch
from intranet.payouts import bank_profiles, batches
from intranet.seed import seed_payouts
from tests.conftest import csrf_token
from tests.factories import make_staff


@pytest.fixture
def admin(ctx):
    return make_staff("layout-admin", role="admin", department=None)


def _form(**values):
    return {"code": "acme", "label": "مصرف أكمي", "columns": "iban, amount، national_id", "delimiter": "pipe",
            "encoding": "utf-8", "header": "1", "active": "1", **values}


def _state():
    return ([(r.code, r.label, r.columns, r.delimiter, r.encoding, r.header, r.active)
             for r in BankLayout.select().order_by(BankLayout.id)], AdminChange.select().count())


def test_a_layout_is_added_edited_and_deleted_with_each_change_recorded(admin):
    made = bank_layouts.create(admin, _form())
    assert bank_profiles.offered()["acme"] == bank_profiles.BankProfile(
        "acme", "مصرف أكمي", ("iban", "amount", "national_id"), "|", "utf-8", True)
    bank_layouts.update(admin, made, _form(code="ignored", columns="iban amount", delimiter="tab", header=""))
    assert bank_profiles.get("acme") == bank_profiles.BankProfile("acme", "مصرف أكمي", ("iban", "amount"), "\t",
                                                                  "utf-8", False)
    bank_layouts.update(admin, made, _form(code="ignored", columns="iban amount", delimiter="tab", header=""))
    bank_layouts.delete(admin, BankLayout.get_by_id(made.id))
    assert bank_profiles.get("acme") is None
    recorded = list(AdminChange.select().where(AdminChange.subject == "bank_profile").order_by(AdminChange.id))
    assert [(c.key, c.actor_id) for c in recorded] == [("acme", admin.id)] * 3  # saving it unchanged records nothing
    assert recorded[0].before is None and json.loads(recorded[0].after)["columns"] == ["iban", "amount", "national_id"]
    before, after = json.loads(recorded[1].before), json.loads(recorded[1].after)
    assert (before["delimiter"], after["delimiter"], before["header"], after["header"]) == ("|", "\t", True, False)
    assert json.loads(recorded[2].before)["code"] == "acme" and recorded[2].after is None


BAD_INPUT = [
    ({"label": "Acme\u202e Bank"}, "label"),  # a bidirectional control
    ({"label": "Acme\x07"}, "label"),
    ({"label": "x" * 201}, "label"),
    ({"label": "  "}, "label"),
    ({"code": "acme bank"}, "code"),
    ({"code": "a" * 31}, "code"),
    ({"code": "generic"}, "code"),  # already used
    ({"columns": ""}, "columns"),
    ({"columns": "iban, swift"}, "columns"),
    ({"columns": "iban, amount, iban"}, "columns"),
    ({"columns": "iban," * 5000}, "columns"),
    ({"delimiter": "::"}, "delimiter"),
    ({"encoding": "latin-1"}, "encoding"),
]


def test_bad_input_is_refused_by_field_and_changes_nothing(admin):
    generic = BankLayout.get(BankLayout.code == "generic")
    before = _state()
    for changes, field in BAD_INPUT:
        with pytest.raises(Refused) as refused:
            bank_layouts.create(admin, _form(**changes))
        assert field in refused.value.errors, changes
        if field != "code":
            with pytest.raises(Refused) as refused:
                bank_layouts.update(admin, generic, _form(**changes))
            assert field in refused.value.errors, changes
    assert _state() == before


def test_the_refusals_are_translated(admin):
    with force_locale("ar"), pytest.raises(Refused) as refused:
        bank_layouts.create(admin, _form(columns="iban, swift", encoding="latin-1"))
    assert "عمود" in str(refused.value.errors["columns"]) and "الترميز" in str(refused.value.errors["encoding"])


def test_a_layout_a_batch_was_made_with_is_retired_not_deleted_and_still_exports(admin, app):
    boss = make_staff("layout-boss", "supervisor", None)
    acme = bank_layouts.create(admin, _form(label="Acme", columns="iban, amount"))
    batch = batches.create(boss, seed_payouts(3), "acme")
    before = _state()
    with pytest.raises(Refused) as refused:
        bank_layouts.delete(admin, acme)
    with force_locale("en"):
        assert "Retire it instead" in str(refused.value.errors[""]) and _state() == before
    bank_layouts.update(admin, acme, _form(label="Acme", columns="iban, amount", active=""))  # retired
    assert "acme" not in bank_profiles.offered() and "acme" not in batches.profiles()
    assert batches.start_export(boss, batch.id, PayoutBatch.get_by_id(batch.id).version, True)
    assert batches.export(batch.id) == "released"
    csv_file = ExportFile.get((ExportFile.batch == batch.id) & (ExportFile.kind == "csv"))
    lines = batches.file_path(csv_file).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "iban|amount" and len(lines) == 4


def test_the_last_offered_layout_stays_offered(admin):
    for row in BankLayout.select().where(BankLayout.code != "generic"):
        bank_layouts.update(admin, row, {**bank_layouts.typed(row), "active": ""})
    generic = BankLayout.get(BankLayout.code == "generic")
    before = _state()
    with pytest.raises(Refused) as refused:
        bank_layouts.update(admin, generic, {**bank_layouts.typed(generic), "active": ""})
    assert "active" in refused.value.errors
    with pytest.raises(Refused):
        bank_layouts.delete(admin, generic)
    assert _state() == before


def test_the_pages_for_an_administrator(client, auth, data):
    auth.login("admin1")
    assert "generic" in client.get("/admin/reference/").text
    page = client.get("/admin/reference/bank-profiles/")
    assert page.status_code == 200 and "bulk-semicolon" in page.text
    token = csrf_token(client, "/admin/reference/bank-profiles/")
    added = client.post("/admin/reference/bank-profiles/", data={"csrf_token": token, **_form()})
    assert added.status_code == 303
    again = client.post("/admin/reference/bank-profiles/", data={"csrf_token": token, **_form(label="x\x07y")})
    assert again.status_code == 422 and "مستعمل" in again.text and 'aria-invalid="true"' in again.text
    with data():
        acme = BankLayout.get(BankLayout.code == "acme").id
        generic = BankLayout.get(BankLayout.code == "generic")
        PayoutBatch.create(reference="LAYOUT-USED", bank="generic", pain_version="pain.001.001.09", currency="QAR",
                           created_by=make_staff("layout-boss2", "supervisor", None).id)
    assert "مصرف أكمي" in client.get(f"/admin/reference/bank-profiles/{acme}").text
    refused = client.post(f"/admin/reference/bank-profiles/{generic.id}/delete", data={"csrf_token": token})
    assert refused.status_code == 409 and "لا يمكن حذف" in refused.text
    assert client.post(f"/admin/reference/bank-profiles/{acme}/delete", data={"csrf_token": token}).status_code == 303
    assert client.get("/admin/reference/bank-profiles/999999").status_code == 404


def test_the_upgrade_imports_the_configured_layouts(tmp_path, monkeypatch):
    raw = '{"qnb": {"label": "QNB bulk", "columns": ["iban", "amount"], "delimiter": ";"}}'
    monkeypatch.setenv("INTRANET_PAYOUT_BANK_PROFILES", raw)
    database = db.init_database(f"sqlite:///{tmp_path / 'layouts.db'}")
    with database.connection_context():
        db.upgrade()
        assert list(bank_profiles.offered().values()) == list(bank_profiles.parse(raw).values())


def test_check_config_says_the_setting_is_read_once_and_a_wrong_one_stops_the_start(tmp_path):
    from intranet import config
    from intranet.ops.check_config import findings

    base = {"INSTANCE_DIR": tmp_path, "SECRET_KEY": "x"}
    assert not [f for f in findings(config.load(base)) if f.setting == "PAYOUT_BANK_PROFILES"]
    found = findings(config.load({**base, "PAYOUT_BANK_PROFILES": '{"qnb": {"columns": ["iban"]}}'}))
    assert [f.refused for f in found if f.setting == "PAYOUT_BANK_PROFILES"] == [False]
    with pytest.raises(ValueError, match="bank profile 'qnb': label must not hold control characters"):
        config.load({**base, "PAYOUT_BANK_PROFILES": '{"qnb": {"label": "QNB\\u0007", "columns": ["iban"]}}'})
