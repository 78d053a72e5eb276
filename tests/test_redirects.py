"""No open redirect: sign-in, re-authentication and the language switch go back to a local path only, through one
function (intranet/auth/redirects.safe_next); the bypass forms browsers are known to follow are refused."""
import pytest

from intranet.auth.redirects import safe_next
from tests.conftest import csrf_token

BYPASSES = [
    "//evil.example", "//evil.example/", "/\\evil.example", "\\\\evil.example", "\\/evil.example",
    "/%09/evil.example", "/%2F/evil.example", "/%2f/evil.example", "/%5Cevil.example", "/%5c%5cevil.example",
    "/%252F/evil.example", "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "/queues/\r\nSet-Cookie: x=1",
    "/queues/%0d%0aSet-Cookie:%20x=1", "/queues/%0a", "/queues/\x00", "/queues/%00", "/\x7f/evil.example",
    "https:evil.example", "https://evil.example/", "http:/evil.example", "javascript:alert(1)", "JavaScript:alert(1)",
    "data:text/html,x", "evil.example", " //evil.example", "/ /evil.example ", "\t/queues/", "/queues/ ",
    "///evil.example", "/" + "a" * 3000, "", None,
]

LOCAL = ["/queues/", "/queues/?x=1", "/queues/health?sla=on_track&type=health_care", "/requests/H-2026-000001",
         "/queues/?q=%D9%85%D8%AD%D9%85%D8%AF", "/payouts/?status=pending#row-3", "/"]


@pytest.mark.parametrize("target", BYPASSES)
def test_bypass_forms_are_refused(target):
    assert safe_next(target) is None


@pytest.mark.parametrize("target", LOCAL)
def test_local_paths_are_kept_as_given(target):
    assert safe_next(target) == target


# the routes: each sends an unsafe target to its default page and never answers 500 (a newline used to)
ROUTE_CASES = ["//evil.example", "/%09/evil.example", "/\\evil.example", "/%2F/evil.example", "https:evil.example",
               "javascript:alert(1)", "\\\\evil.example", "/\t/evil.example", "/queues/\r\nX-Evil: 1", "/queues/%00",
               "/" + "a" * 5000]


@pytest.mark.parametrize("target", ROUTE_CASES)
def test_sign_in_goes_home_for_an_unsafe_next(client, target):
    page = client.get("/login", query_string={"next": target})
    assert page.status_code == 200 and 'name="next" type="hidden" value=""' in page.text
    answer = client.post("/login", data={"username": "health1", "password": "demo", "next": target,
                                         "csrf_token": csrf_token(client)})
    assert answer.status_code == 302 and answer.headers["Location"] == "/queues/"


@pytest.mark.parametrize("target", ROUTE_CASES)
def test_language_switch_goes_home_for_an_unsafe_next(client, target):
    answer = client.post("/language", data={"lang": "en", "next": target, "csrf_token": csrf_token(client)})
    assert answer.status_code == 302 and answer.headers["Location"] == "/"


@pytest.mark.parametrize("target", ROUTE_CASES)
def test_reauthentication_goes_home_for_an_unsafe_next(auth, client, target):
    auth.login("supervisor1")
    page = client.get("/reauth/", query_string={"next": target})
    assert page.status_code == 200 and 'name="next" type="hidden" value=""' in page.text
    answer = client.post("/reauth/", data={"password": "demo", "next": target,
                                           "csrf_token": csrf_token(client, "/reauth/")})
    assert answer.status_code == 303 and answer.headers["Location"] == "/"


def test_each_route_keeps_a_local_next(auth, client):
    token = csrf_token(client)
    signed_in = client.post("/login", data={"username": "supervisor1", "password": "demo", "csrf_token": token,
                                            "next": "/queues/health?sla=on_track"})
    assert signed_in.headers["Location"] == "/queues/health?sla=on_track"
    switched = client.post("/language", data={"lang": "en", "next": "/payouts/?status=pending",
                                              "csrf_token": csrf_token(client, "/queues/")})
    assert switched.headers["Location"] == "/payouts/?status=pending"
    confirmed = client.post("/reauth/", data={"password": "demo", "next": "/payouts/?status=pending&ids=3",
                                              "csrf_token": csrf_token(client, "/reauth/")})
    assert confirmed.status_code == 303 and confirmed.headers["Location"] == "/payouts/?status=pending&ids=3"


def test_a_nul_in_next_is_refused_not_a_server_error(auth, client):
    for path in ("/login", "/language"):
        answer = client.post(path, data={"username": "health1", "password": "demo", "lang": "en",
                                         "next": "/queues/\x00//evil.example", "csrf_token": csrf_token(client)})
        assert answer.status_code in (302, 400) and "evil" not in answer.headers.get("Location", "")


def test_one_function_decides():
    """The three routes ask auth/redirects.safe_next and nothing else: no second copy of the rule anywhere."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "intranet"
    defining = [str(p.relative_to(root)) for p in root.rglob("*.py") if "def safe_next(" in p.read_text("utf-8")]
    assert defining == ["auth/redirects.py"]
