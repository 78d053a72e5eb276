"""Directory sign-on against a real slapd: roles and departments from the directory, bad input refused."""
import pytest

from intranet.models import Staff
from tests.conftest import csrf_token


@pytest.mark.parametrize("username, role, department, start", [
    ("reception1", "reception", "reception", "/reception/"),
    ("health1", "clerk", "health", "/queues/"),
    ("comp1", "clerk", "compensation", "/queues/"),
    ("pension1", "clerk", "retirement", "/queues/"),
    ("citizens1", "clerk", "citizens", "/queues/"),
    ("supervisor1", "supervisor", None, "/queues/"),
    ("admin1", "admin", None, "/queues/"),
])
def test_demo_accounts_sign_in_with_role_and_department_from_directory(auth, ctx, username, role, department, start):
    response = auth.login(username)
    assert response.status_code == 302 and response.headers["Location"] == start
    staff = Staff.get(Staff.username == username)
    assert staff.role == role
    assert (staff.department.code if staff.department else None) == department


def test_role_change_in_directory_follows_at_next_sign_in(auth, ctx):
    Staff.create(username="health1", full_name="x", role="admin")  # stale copy from an earlier sign-in
    auth.login("health1")
    assert Staff.get(Staff.username == "health1").role == "clerk"


@pytest.mark.parametrize("username, password", [
    ("health1", "wrong"), ("nobody", "demo"), ("*", "demo"), ("*)(uid=*", "demo"), ("health1)(|(uid=*", "demo"),
    ("\\", "demo"), ("health*", "demo"), ("health1\\2a", "demo"), ("health1\x00", "demo"),
])
def test_wrong_credentials_and_filter_metacharacters_are_refused(auth, ctx, username, password):
    response = auth.login(username, password)
    if "\x00" in username:  # a NUL is refused as unreadable input before sign-in is tried
        assert response.status_code == 400
    else:
        assert response.status_code == 401
        assert "اسم المستخدم أو كلمة المرور غير صحيحة" in response.text
    assert Staff.select().count() == 0


def test_empty_password_never_reaches_the_directory(auth, ctx):
    response = auth.login("health1", "")
    assert response.status_code == 400
    assert "أدخل كلمة المرور" in response.text
    assert Staff.select().count() == 0


def test_account_without_group_is_refused(auth, ctx):
    response = auth.login("nogroup1")
    assert response.status_code == 401 and "ليس لحسابك في الدليل دور" in response.text


def test_directory_down_gives_a_clear_page(app, auth, ctx):
    app.config["LDAP_URL"] = "ldap://127.0.0.1:1"
    response = auth.login("health1")
    assert response.status_code == 503
    assert "دليل الموظفين لا يستجيب" in response.text


def test_login_without_csrf_token_changes_nothing(client, ctx):
    response = client.post("/login", data={"username": "health1", "password": "demo"})
    assert response.status_code == 400
    assert Staff.select().count() == 0


def test_next_parameter_only_redirects_on_site(auth, client):
    token = csrf_token(client, "/login?next=//evil.example/")
    response = client.post("/login", data={"username": "health1", "password": "demo", "csrf_token": token,
                                           "next": "//evil.example/"})
    assert response.headers["Location"] == "/queues/"


def test_pages_need_sign_in(client):
    response = client.get("/queues/health")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    htmx = client.get("/queues/health", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/login")


def test_language_switch(auth, client):
    auth.login("health1")
    assert 'dir="rtl"' in client.get("/queues/health").text
    client.post("/language", data={"lang": "en", "next": "/queues/health", "csrf_token": csrf_token(client, "/queues/health")})
    page = client.get("/queues/health").text
    assert 'dir="ltr"' in page and 'lang="en"' in page and "Health Affairs" in page


def test_sign_out(auth, client):
    auth.login("health1")
    auth.logout()
    assert client.get("/queues/health").status_code == 302
