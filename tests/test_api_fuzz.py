"""The API against generated and malformed input: schemathesis from the OpenAPI document, and 500 hostile
payloads. Never a 500; every 4xx is a problem that says why; nothing written but the inbox row."""
import base64
import json
import random

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from intranet.db import database
from intranet.intake import clients, openapi
from intranet.models import Attachment, Citizen, HistoryEntry, InboxEntry, Notification, Request
from tests import factories
from tests.test_api import headers, payload


@pytest.fixture
def token(app):
    with app.app_context(), database.connection_context():
        return clients.create_client(None, "Fuzzing portal", ["requests:write", "requests:read", "bookings:write"],
                                     rate_per_minute=100_000).token


# the document the app serves at /api/v1/openapi.json (test_api checks that it is served); each case is sent
# to the test's own app through WSGI, in process
schema = schemathesis.openapi.from_dict(openapi.document())


def _content_type(response) -> str:
    """From a Flask test response or a schemathesis one (lower-case names, lists of values)."""
    value = response.headers.get("Content-Type") or response.headers.get("content-type") or ""
    return value[0] if isinstance(value, list) else value


def problem_says_why(response):
    """Every 4xx: an RFC 9457 problem with a title and a detail (field errors when the body was at fault)."""
    assert response.status_code < 500, response.text[:500]
    if 400 <= response.status_code < 500:
        assert _content_type(response).startswith("application/problem+json"), response.text[:300]
        body = response.json() if callable(response.json) else response.json
        assert body["title"] and body["detail"] and body["status"] == response.status_code
        if response.status_code == 422:
            assert body["errors"] and all(error["message"] for error in body["errors"])


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_requests_never_fail_the_server(case, app, token):
    response = case.call(app=app, headers=headers(token))
    problem_says_why(response)
    # the document's own promises: status codes, content types, response bodies
    case.validate_response(response, checks=[schemathesis.checks.not_a_server_error,
                                             schemathesis.checks.status_code_conformance,
                                             schemathesis.checks.content_type_conformance,
                                             schemathesis.checks.response_schema_conformance])


def hostile_payloads(count=500, seed=5):
    """Wrong types, missing fields, oversized values, bad base64, invalid UTF-8, huge numbers, script tags."""
    rng = random.Random(seed)
    valid = payload("P-VALID")

    def mutate(body):
        kind = rng.randrange(14)
        if kind == 0:
            body.pop(rng.choice(["portal_reference", "request_type", "citizen", "fields"]))
        elif kind == 1:
            body["citizen"].pop(rng.choice(["national_id", "full_name", "phone", "governorate"]))
        elif kind == 2:
            body[rng.choice(["portal_reference", "request_type", "language"])] = rng.choice(
                [12, 1.5, True, None, [], {}, "<script>alert(1)</script>"])
        elif kind == 3:
            body["citizen"][rng.choice(list(body["citizen"]))] = rng.choice([0, 10**40, [], {"$gt": ""}, False])
        elif kind == 4:
            name, limit = rng.choice([("subject", 300), ("details", 5000), ("portal_reference", 50)])
            body[name] = "x" * (limit + rng.choice([1, 100_000]))
        elif kind == 5:
            body["documents"][0]["content_base64"] = rng.choice(["%%%%", "YWJj=", "====", "ab\ncd", "A" * 5])
        elif kind == 6:
            body["documents"][0]["content_base64"] = base64.b64encode(b"MZ" + bytes(rng.randrange(256)
                                                                               for _ in range(50))).decode()
        elif kind == 7:
            body["fields"]["amount"] = rng.choice(["1e400", -5, "NaN", "Infinity", 10**13,
                                                   "12.34567", "", [1], {"a": 1}])
        elif kind == 8:
            body["citizen"]["full_name"] = "<script>alert('x')</script>" * rng.choice([1, 10])
        elif kind == 9:
            body["request_type"] = rng.choice(["", "nope", "health_care'; DROP TABLE request;--", "ــ"])
        elif kind == 10:
            body["citizen"]["national_id"] = rng.choice(["", "1234", "٢٠٠٠٠٠٠٠٠٠٠", "20000000001", "abcdefghijk"])
        elif kind == 11:
            body["extra_" + str(rng.randrange(100))] = "surprise"
        elif kind == 12:
            body["documents"] = [dict(body["documents"][0]) for _ in range(rng.choice([11, 50]))]
        else:
            body["citizen"]["iban"] = rng.choice(["QA58DOHB00001234567890ABCDEF0", "XX00", "12345"])
        return body

    raw_kinds = [
        b"", b"null", b"[]", b"42", b'"text"', b"{", b'{"portal_reference": "A"', b"\xff\xfe\x00{}",
        b'{"portal_reference": "\xc3\x28"}', b'{"a": ' + b"9" * 5000 + b"}", b'{"x": 1e999999}',
        b"<html><script>alert(1)</script></html>", b"\x00" * 100, b'{"portal_reference": "P", "a": {"b": ' * 200,
    ]
    made = []
    for n in range(count):
        if n % 5 == 0:
            made.append(rng.choice(raw_kinds))
            continue
        body = json.loads(json.dumps(valid))
        body["portal_reference"] = f"P-{n}"
        body["citizen"]["national_id"] = factories.national_id(900_000 + n)
        for _ in range(rng.choice([1, 1, 2, 3])):
            try:
                body = mutate(body)
            except (KeyError, IndexError):  # a part an earlier mutation removed: that one stands alone
                pass
        made.append(json.dumps(body).encode())
    return made


def test_500_malformed_payloads_all_4xx_none_written(app, client, token):
    sent = hostile_payloads()
    answers = [client.post("/api/v1/requests", data=raw, content_type="application/json", headers=headers(token))
               for raw in sent]
    statuses = [answer.status_code for answer in answers]
    for answer in answers:
        assert 400 <= answer.status_code < 500, answer.text[:300]
        problem_says_why(answer)
    with app.app_context(), database.connection_context():
        assert Request.select().count() == 0
        assert HistoryEntry.select().count() == 0 and Attachment.select().count() == 0
        assert Notification.select().count() == 0 and Citizen.select().count() == 0
        kept = list(InboxEntry.select().order_by(InboxEntry.id))
        assert len(kept) == len(sent)
        assert all(entry.status == "rejected" and entry.error_list for entry in kept)
        assert [bytes(entry.payload) for entry in kept] == sent  # byte for byte, invalid UTF-8 included
        assert {entry.response_status for entry in kept} == set(statuses)
