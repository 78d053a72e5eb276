"""The administration record (issue 20): `changes.record` writes in the caller's transaction (a change rolled back
leaves no record), and the administration history page shows who, when, what before and after, filtered by subject
and paged by key, to administrators only."""
import pytest

from intranet import db
from intranet.admin import changes
from intranet.models import AdminChange, Staff
from tests.factories import make_staff


def test_a_record_belongs_to_the_callers_transaction(ctx):
    admin = make_staff("recorder", "admin", None)
    with pytest.raises(RuntimeError), db.transaction():
        changes.record(admin, "holiday", "2026-12-18", None, {"name_ar": "اليوم الوطني"})
        raise RuntimeError("the change failed")
    assert not AdminChange.select().where(AdminChange.key == "2026-12-18").exists()
    with db.transaction():
        row = changes.record(admin, "holiday", "2026-12-18", None, {"name_ar": "اليوم الوطني", "day": "2026-12-18"})
    assert (row.actor_id, row.subject, row.before_value, row.after_value["name_ar"]) == (
        admin.id, "holiday", None, "اليوم الوطني")
    assert changes.differences(AdminChange.get_by_id(row.id)) == [
        ("day", None, "2026-12-18"), ("name_ar", None, "اليوم الوطني")]


def test_the_history_page_filters_by_subject_and_pages_by_key(client, auth, data):
    auth.login("admin1")
    with data():
        admin = Staff.get(Staff.username == "admin1")
        for n in range(changes.PAGE_SIZE + 1):
            changes.record(admin, "department", f"dept{n}", {"name_en": f"Old {n}"}, {"name_en": f"New {n}"})
        changes.record(None, "governorate", "doha", {"name_ar": "الدوحة"}, {"name_ar": "مدينة الدوحة"})
    everything = client.get("/admin/changes")
    assert everything.status_code == 200 and "مدينة الدوحة" in everything.text and "dept50" in everything.text
    first = client.get("/admin/changes?subject=department")
    assert "مدينة الدوحة" not in first.text and "dept50" in first.text and "dept0<" not in first.text
    assert "<del><bdi>Old 50</bdi></del>" in first.text and "<ins><bdi>New 50</bdi></ins>" in first.text
    with data():
        oldest_shown = AdminChange.get(AdminChange.key == "dept1").id
    following = client.get(f"/admin/changes?subject=department&after={oldest_shown}")
    assert "dept0<" in following.text and "dept1<" not in following.text
    assert client.get("/admin/changes?subject=nonsense&after=zz").status_code == 200  # never an error page


def test_only_administrators_see_the_history(client, auth):
    assert client.get("/admin/changes").status_code == 302  # signed out: to the sign-in page
    auth.login("head1")  # every other role: the table in tests/test_permissions.py
    assert client.get("/admin/changes").status_code == 403
