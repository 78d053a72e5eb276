"""No query value gives a 5xx.

The walk: every GET route of the app's url_map (existing ids in its <int:...> parts), signed in as each role and
anonymous, with hostile values (huge and negative integers, text, unicode, CR/LF, NUL, empty) for every parameter
any view reads, all at once and then one at a time; hostile path parts; and the POST routes with empty and garbage
forms. Which names a route reads is found twice over: the names read from `request.args` across intranet/ (a scan
of the source) and the names a view actually asked its arguments or form for (recorded at run time).

Then the one parser (`intranet.params`) itself: out-of-range or malformed values fall back to the default.
"""
import datetime as dt
import re
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import AnyConverter, IntegerConverter, PathConverter

from intranet import params, seed
from intranet.db import database
from intranet.intake import clients, imports
from intranet.models import Attachment, Request
from intranet.models.intake import ApiClient, ImportBatch, InboxEntry, WebhookDelivery
from intranet.models.payouts import BankReturn, IbanChange, PayoutBatch
from intranet.models.stats import ReportFile
from intranet.models.tickets import VisitorTicket
from intranet.payouts import batches
from intranet.reception import tickets
from tests.conftest import Auth, csrf_token
from tests.factories import make_request, make_staff, upload

HUGE = "99999999999999999999"
HOSTILE = [HUGE, "-1", "0", "9223372036854775808", "2147483648", "1.5", "abc", "مرحبا", "٣", "²",
           "é\u202e\u200f", "a\r\nb", "a\x00b", "", "<script>", "9999-99-99"]
INT_HOSTILE = [HUGE, "-1", "2147483648", "abc", "a\x00b", ""]
ROLES = [None, "reception1", "health1", "supervisor1", "admin1"]  # None: not signed in

# the language switch and sign-in pages read `next`: the redirect after sign-in is the auth work's, not walked here
# (owned by auth work)
SKIPPED = {("auth.login", "next"), ("reauth.confirm", "next"), ("auth.language", "next")}
# signing out (here or everywhere) would end the walk; sign-in's form is auth's
SKIPPED_POSTS = {"auth.logout", "auth.login", "session.end_mine"}
SLOW = {"reports.document_pdf", "receipt.receipt_pdf"}  # WeasyPrint: a PDF per request, so fewer values

INTRANET = Path(__file__).resolve().parent.parent / "intranet"
ARG_NAME = re.compile(r"""(?:args\s*(?:\.get\w*\(|\[)|params\.arg_\w+\()\s*["']([A-Za-z_]\w*)["']""")


def source_names() -> set[str]:
    """Every name the code reads from a query string, by a scan of the source."""
    names = set()
    for path in INTRANET.rglob("*.py"):
        names |= set(ARG_NAME.findall(path.read_text()))
    return names


SEEN: set[str] = set()


class Recording(ImmutableMultiDict):
    """Arguments and forms that remember each name a view asked them for."""

    def __getitem__(self, key):
        SEEN.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None, type=None):
        SEEN.add(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):
        SEEN.add(key)
        return super().getlist(key, type)

    def __contains__(self, key):
        SEEN.add(key)
        return super().__contains__(key)


@pytest.fixture
def walk(app):
    """Some of everything a path can name: requests with an attachment, payouts in a batch, a ticket, a portal client
    with an inbox entry, an import batch; returns {path part: value}."""
    app.request_class = type("Recording" + app.request_class.__name__, (app.request_class,),
                             {"parameter_storage_class": Recording})
    with app.test_request_context(), database.connection_context():
        seed.seed(30)
        payout_ids = seed.seed_payouts(4)
        boss = make_staff("walk-boss", "supervisor", None)
        batches.create(boss, payout_ids[:2], "generic")
        req = make_request("health_care", actor=make_staff("walk-desk", "reception", "reception"), uploads=[upload()])
        tickets.issue_ticket("inquiry")
        client = clients.create_client(make_staff("walk-admin", "admin", None), name="بوابة",
                                       scopes=["requests:write"]).client
        InboxEntry.create(client=client, payload=b"{}", content_type="application/json")
        imports.preview(boss, "walk.csv", (",".join(imports.columns()) + "\nP-1,inquiry\n").encode())

        def first(model, default=1):
            row = model.select(model.id).order_by(model.id).first()
            return row.id if row else default

        return {
            "client_id": first(ApiClient), "delivery_id": first(WebhookDelivery), "entry_id": first(InboxEntry),
            "attachment_id": first(Attachment), "return_id": first(BankReturn), "change_id": first(IbanChange),
            "citizen_id": req.citizen_id, "report_id": first(ReportFile), "ticket_id": first(VisitorTicket),
            "file_import.batch_id": first(ImportBatch), "batch_id": first(PayoutBatch),
            "tracking_number": req.tracking_number, "tracking": req.tracking_number, "department_code": "health",
            "event": "received", "channel": "sms", "language": "ar", "day": dt.date.today().isoformat(),
            "kind": "not-found", "filename": "css/app.css",
        }


def path_of(rule, values, hostile=None, huge_ints=False) -> str | None:
    """The rule's path with existing values; `hostile` in every free-text part, or a huge number in the int ones."""
    parts = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, AnyConverter):
            parts[name] = min(converter.items) if hasattr(converter, "items") else re.search(
                r"\w[\w-]*", converter.regex).group(0)
        elif isinstance(converter, IntegerConverter):
            parts[name] = HUGE if huge_ints else values.get(f"{rule.endpoint.split('.')[0]}.{name}", values.get(name, 1))
        elif isinstance(converter, PathConverter):
            parts[name] = values["filename"]
        else:
            parts[name] = hostile if hostile is not None else values.get(name, "x")
    if hostile is not None and not any(type(c) not in (AnyConverter, IntegerConverter, PathConverter)
                                       for c in rule._converters.values()):
        return None  # no free-text part to make hostile
    if huge_ints and not any(isinstance(c, IntegerConverter) for c in rule._converters.values()):
        return None
    path = rule.rule
    for name, value in parts.items():
        path = re.sub(r"<(?:[^:<>]+:)?" + name + r">", quote(str(value), safe=""), path)
    return path


def report(failures) -> str:
    """One line per route, role and error, with the first request that gave it."""
    first = {}
    for endpoint, role, error, request in failures:
        first.setdefault((endpoint, role, error.split(":")[0]), (error, request))
    return f"{len(failures)} requests answered 5xx, {len(first)} kinds:\n" + "\n".join(
        f"{endpoint} as {role or 'anonymous'}: {error} <- {request}" for (endpoint, role, _), (error, request)
        in sorted(first.items(), key=lambda item: (item[0][0], str(item[0][1]))))


def _get(client, url, query, htmx=False, failures=None, role=None, endpoint=""):
    SEEN.clear()
    target = url + ("?" + urlencode(query) if query else "")
    headers = {"HX-Request": "true"} if htmx else {}
    try:
        status = client.get(target, headers=headers).status_code
    except Exception as error:  # noqa: BLE001 (the test client re-raises what a view raised: reported, not fatal)
        status = f"{type(error).__name__}: {error}"[:200]
    if not isinstance(status, int) or status >= 500:
        failures.append((endpoint, role, str(status), f"GET {target!r}{' (htmx)' if htmx else ''}"))
    return set(SEEN)


def _post(client, url, form, failures, role, endpoint=""):
    SEEN.clear()
    try:
        status = client.post(url, data=form, headers={"HX-Request": "true"}).status_code
    except Exception as error:  # noqa: BLE001 (as above)
        status = f"{type(error).__name__}: {error}"[:200]
    if not isinstance(status, int) or status >= 500:
        failures.append((endpoint, role, str(status), f"POST {url!r} {form!r}"))
    return set(SEEN)


def test_no_route_answers_5xx_to_hostile_values(app, walk):
    names = source_names()
    assert {"after", "before", "ticket", "department", "q"} <= names, names  # the scan finds what it should
    rules = [r for r in app.url_map.iter_rules() if r.endpoint != "static"]
    failures = []
    for role in ROLES:
        client = app.test_client()
        if role:
            assert Auth(client).login(role).status_code == 302, role
        for rule in sorted(rules, key=lambda r: r.rule):
            if "GET" not in rule.methods:
                continue
            url = path_of(rule, walk)
            values = HOSTILE[:3] if rule.endpoint in SLOW else HOSTILE
            read = _get(client, url, {}, failures=failures, role=role, endpoint=rule.endpoint)  # what the route reads without arguments
            read |= _get(client, url, {}, htmx=True, failures=failures, role=role, endpoint=rule.endpoint)
            for n, value in enumerate(values):
                query = {name: value for name in names | read if (rule.endpoint, name) not in SKIPPED}
                read |= _get(client, url, query, htmx=n % 2 == 1, failures=failures, role=role, endpoint=rule.endpoint)
                if rule.endpoint == "dashboard.index" or "period" in read:
                    read |= _get(client, url, query | {"period": "custom"}, failures=failures, role=role, endpoint=rule.endpoint)
            for name in sorted(read - {n for e, n in SKIPPED if e == rule.endpoint}):
                for value in (INT_HOSTILE[:2] if rule.endpoint in SLOW else INT_HOSTILE):
                    _get(client, url, {name: value}, htmx=value == "-1", failures=failures, role=role, endpoint=rule.endpoint)
            for hostile in (values if rule.endpoint not in SLOW else values[:2]):
                if (bad := path_of(rule, walk, hostile=hostile)) is not None:
                    _get(client, bad, {}, failures=failures, role=role, endpoint=rule.endpoint)
            if (bad := path_of(rule, walk, huge_ints=True)) is not None:
                _get(client, bad, {}, failures=failures, role=role, endpoint=rule.endpoint)
    assert not failures, report(failures)


def test_no_post_answers_5xx_to_empty_or_garbage_forms(app, walk):
    """Each POST route with only the CSRF token, then with every name it read set to garbage (the reassign with
    nothing ticked among them)."""
    rules = [r for r in app.url_map.iter_rules() if "POST" in r.methods and r.endpoint not in SKIPPED_POSTS]
    failures = []
    for role in ROLES[1:]:
        client = app.test_client()
        assert Auth(client).login(role).status_code == 302, role
        token = csrf_token(client, "/")
        for rule in sorted(rules, key=lambda r: r.rule):
            url = path_of(rule, walk)
            read = _post(client, url, {"csrf_token": token}, failures, role, rule.endpoint)
            for value in ("", HUGE, "-1", "abc", "a\r\nb\x00", "مرحبا"):
                form = {name: value for name in read if name != "csrf_token"
                        and (rule.endpoint, name) not in SKIPPED}
                read |= _post(client, url, {"csrf_token": token, **form}, failures, role, rule.endpoint)
    assert not failures, report(failures)


@pytest.mark.parametrize("value, expected", [
    ("7", 7), (" 42 ", 42), (str(params.ID_MAX), params.ID_MAX), (str(params.ID_MAX + 1), None), (HUGE, None),
    ("0", None), ("-1", None), ("", None), (None, None), ("abc", None), ("1.5", None), ("1e9", None), ("٣", None),
    ("²", None), ("1\x002", None), ("+5", None), (7, 7), (True, None), ("9" * 400, None),
])
def test_one_parser_for_ids(value, expected):
    assert params.to_id(value) == expected


def test_one_parser_for_integers_texts_choices_dates_and_lists():
    assert params.to_int("0", 5, minimum=0) == 0 and params.to_int("-3", 5, minimum=-10, maximum=0) == -3
    assert params.to_int("11", 5, maximum=10) == 5 and params.to_int("x", 5) == 5
    assert params.to_text("  a\x00b\r\nc\x1b ") == "ab\r\nc" and params.to_text("x" * 500) == "x" * params.TEXT_MAX
    assert params.to_text(None, "d") == "d" and params.to_text("\x00", "d") == "d"
    assert params.to_choice("week", {"week": 1}, "today") == "week" and params.to_choice("x", ("week",), "t") == "t"
    assert params.to_choice(None, ("week",)) is None
    assert params.to_date("2026-03-31") == dt.date(2026, 3, 31)
    assert params.to_date("2026-02-30") is None and params.to_date("９999-01-01") is None and params.to_date("") is None
    assert params.to_ids(["3", "x", "3", HUGE, "-1", "4"]) == [3, 4] and params.to_ids(map(str, range(1, 10)), 2) == [1, 2]


def test_bad_path_ids_are_404_and_nul_is_a_translated_400(app, client, auth, data):
    with data():
        req = make_request("health_care", actor=make_staff("desk", "reception", "reception"))
    assert auth.login("supervisor1").status_code == 302
    assert client.get(f"/tickets/{params.ID_MAX + 1}").status_code == 404
    assert client.get(f"/reception/citizens/{HUGE}/edit").status_code == 404
    assert client.get(f"/reception/citizens/{req.citizen_id}/edit").status_code == 200
    refused = client.get("/queues/health?q=a%00b")
    assert refused.status_code == 400 and "لا يمكن استعماله" in refused.text  # Arabic, the default
    assert client.get("/requests/a%00b").status_code == 400
    htmx = client.get("/queues/health?q=%00", headers={"HX-Request": "true"})
    assert htmx.status_code == 400 and htmx.headers["HX-Reswap"] == "none" and "<html" not in htmx.text
    assert 'id="flashes" hx-swap-oob="innerHTML"' in htmx.text


def test_reassign_with_nothing_ticked_says_so_and_changes_nothing(app, client, auth, data):
    with data():
        req = make_request("health_care", actor=make_staff("desk", "reception", "reception"))
    assert auth.login("supervisor1").status_code == 302
    token = csrf_token(client, "/queues/health")
    answer = client.post("/queues/health/assign?tab=unassigned", data={"csrf_token": token})
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/queues/health?tab=unassigned")
    page = client.get(answer.headers["Location"])
    assert "حدّد الطلبات المراد إعادة توزيعها." in page.text  # "Select the requests to reassign.", translated
    with data():
        assert Request.get_by_id(req.id).assignee_id is None


def test_head_answers_wherever_get_does(app, walk):
    """HEAD is GET without the body: the same status for every GET route and role (issue 14: monitoring and
    proxies use it), never a 405 or a 5xx."""
    rules = [r for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint not in SLOW]
    differences = []
    for role in ROLES:
        client = app.test_client()
        if role:
            assert Auth(client).login(role).status_code == 302, role
        for rule in sorted(rules, key=lambda r: r.rule):
            if rule.endpoint in ("auth.logout",):
                continue
            url = path_of(rule, walk)
            got, head = client.get(url), client.head(url)
            if head.status_code != got.status_code or head.data:
                differences.append(f"{rule.endpoint} as {role or 'anonymous'}: GET {got.status_code}, "
                                   f"HEAD {head.status_code} with {len(head.data)} bytes")
    assert not differences, "\n".join(differences)
