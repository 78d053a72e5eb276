"""The HTTP registry client against a real HTTP server on loopback: found, not found, errors, malformed answers,
slow answers, a closed port, oversized bodies, the bearer token, and national IDs refused before any request.
No database, no app."""
import json
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler

import pytest

from intranet.automation.registries import RegistryAnswer, RegistryUnavailable
from intranet.automation.registries_http import MAX_BODY_BYTES, HttpRegistry
from tests.loopback import LoopbackServer
from tests.servers import free_port

TIMEOUT = 0.3  # the client's in the tests of timing out; the slow answers below take far longer unless the test ends
ANSWERED = 10  # the client's where an answer (or a refusal) is expected: a loaded machine never turns it into a timeout
LATE = 2  # what a loaded machine may add to a deadline before the client gives up (far below the slow answer's 10 s)
NATIONAL_ID = "28763400123"


def _json(value) -> bytes:
    return json.dumps(value).encode()


class Registry(LoopbackServer):
    """A registry on loopback. `answer` is (status, body bytes[, headers]) or a function of the handler that
    writes the answer itself; every request is recorded as (path, headers)."""

    def __init__(self, path="/registry/v1/people"):
        self.answer = (200, _json({"found": True, "facts": {"alive": True}}))
        self.requests = []
        self.release = threading.Event()  # set at the end of a test: slow answers stop waiting
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                registry.requests.append((self.path, dict(self.headers)))
                answer = registry.answer
                try:
                    if callable(answer):
                        answer(self)
                        return
                    status, body, *headers = answer
                    self.send_response(status)
                    for name, value in (headers[0] if headers else {"Content-Type": "application/json",
                                                                    "Content-Length": str(len(body))}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up

            def log_message(self, *args):
                pass

        super().__init__(Handler, path)

    def stop(self):
        self.release.set()
        super().stop()


@pytest.fixture(scope="module")
def running():
    registry = Registry().start()
    yield registry
    registry.stop()


@pytest.fixture
def server(running):
    """The module's registry, answering the default again and with no request recorded."""
    running.answer = (200, _json({"found": True, "facts": {"alive": True}}))
    running.requests = []
    running.release = threading.Event()
    yield running
    running.release.set()  # a slow answer still waiting gives up now


def client(server, **options) -> HttpRegistry:
    return HttpRegistry("retirement", server.url, timeout=options.pop("timeout", ANSWERED),
                        token=options.pop("token", ""), **options)


def unavailable(server, match=None, **options) -> float:
    """Look NATIONAL_ID up expecting RegistryUnavailable; the seconds it took."""
    started = time.monotonic()
    with pytest.raises(RegistryUnavailable, match=match):
        client(server, **options).lookup(NATIONAL_ID)
    return time.monotonic() - started


def test_a_known_person_is_found_with_the_facts_and_the_body_kept_as_evidence(server):
    body = json.dumps({"found": True, "facts": {"alive": True, "pension_status": "active", "children": 3,
                                                "monthly_amount": 1250.5, "death_date": None}},
                      ensure_ascii=False).encode()
    server.answer = (200, body)
    before = datetime.utcnow().replace(microsecond=0)
    answer = client(server).lookup(NATIONAL_ID)
    assert isinstance(answer, RegistryAnswer)
    assert (answer.registry, answer.found) == ("retirement", True)
    assert answer.facts == {"alive": True, "pension_status": "active", "children": 3, "monthly_amount": 1250.5,
                            "death_date": None}
    assert answer.raw == body.decode()
    assert answer.fetched_at.tzinfo is None and before <= answer.fetched_at <= datetime.utcnow() + timedelta(seconds=1)
    path, headers = server.requests[-1]
    assert path == f"/registry/v1/people/{NATIONAL_ID}"
    assert headers["Accept"] == "application/json" and "Authorization" not in headers


def test_an_arabic_fact_comes_through_as_text(server):
    server.answer = (200, json.dumps({"found": True, "facts": {"governorate": "الدوحة"}}).encode())
    assert client(server).lookup(NATIONAL_ID).facts == {"governorate": "الدوحة"}


def test_a_404_is_a_person_the_registry_does_not_know(server):
    server.answer = (404, b'{"error": "no such person"}')
    answer = client(server).lookup(NATIONAL_ID)
    assert (answer.found, answer.facts, answer.raw) == (False, {}, '{"error": "no such person"}')


def test_found_false_is_not_found_and_carries_no_facts(server):
    server.answer = (200, _json({"found": False, "facts": {"alive": True}}))
    answer = client(server).lookup(NATIONAL_ID)
    assert (answer.found, answer.facts) == (False, {})


@pytest.mark.parametrize("status", [500, 502, 503, 401, 403, 400, 204])
def test_any_other_status_is_no_answer(server, status):
    server.answer = (status, _json({"found": True, "facts": {"alive": True}}))
    unavailable(server, match=f"HTTP {status}")


def test_a_redirect_is_not_followed(server):
    server.answer = (302, b"", {"Location": f"{server.url}/{NATIONAL_ID}?again=1", "Content-Length": "0"})
    unavailable(server, match="HTTP 302")
    assert len(server.requests) == 1


@pytest.mark.parametrize("body", [
    b"{not json", b"", b"\xff\xfe{}",  # not JSON; not UTF-8
    b'[{"found": true, "facts": {}}]', b'"found"', b"null", b"true",  # JSON, not an object
    b'{"facts": {"alive": true}}', b'{"found": "yes", "facts": {}}', b'{"found": 1, "facts": {}}',  # no boolean found
    b'{"found": true, "facts": {"address": {"city": "Doha"}}}', b'{"found": true, "facts": {"children": [1, 2]}}',
    b'{"found": true, "facts": [["alive", true]]}', b'{"found": true, "facts": "alive"}',  # facts not flat
    b'{"found": true, "facts": {"monthly_amount": NaN}}', b'{"found": true, "facts": {"x": Infinity}}',
])
def test_a_malformed_answer_is_no_answer(server, body):
    server.answer = (200, body)
    unavailable(server)


def test_a_slow_answer_is_given_up_at_the_timeout(server):
    def slow(handler):
        server.release.wait(10)  # far beyond the timeout: the client must not wait for it
        handler.send_response(200)
        handler.end_headers()
        handler.wfile.write(_json({"found": True, "facts": {"alive": True}}))

    server.answer = slow
    took = unavailable(server, match="no answer within 0.3 s", timeout=TIMEOUT)
    assert TIMEOUT * 0.9 <= took < TIMEOUT + LATE


def test_an_answer_that_trickles_in_is_given_up_at_the_timeout_not_per_read(server):
    """Each byte comes well within the timeout: only a deadline for the whole lookup stops this one."""
    body = _json({"found": True, "facts": {"alive": True, "pension_status": "active"}})

    def trickle(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        for byte in body:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            if server.release.wait(TIMEOUT / 4):
                return

    server.answer = trickle
    took = unavailable(server, match="no answer within", timeout=TIMEOUT)
    assert took < TIMEOUT + LATE


def test_a_closed_port_is_no_answer():
    registry = HttpRegistry("civil", f"http://127.0.0.1:{free_port()}/people", timeout=TIMEOUT, token="")
    started = time.monotonic()
    with pytest.raises(RegistryUnavailable, match="ConnectionRefusedError"):
        registry.lookup(NATIONAL_ID)
    assert time.monotonic() - started < TIMEOUT + LATE


def test_a_connection_closed_before_the_answer_is_no_answer(server):
    server.answer = lambda handler: handler.close_connection  # reads the request, answers nothing, closes
    unavailable(server, match="RemoteDisconnected")


def test_a_body_cut_short_is_no_answer(server):
    def cut(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "500")
        handler.end_headers()
        handler.wfile.write(b'{"found": true, "facts": {"alive": true}}')  # JSON, but not all it announced

    server.answer = cut
    unavailable(server, match="cut short")


def test_an_oversized_body_is_no_answer_announced_or_not(server):
    facts = {f"fact_{n}": "x" * 100 for n in range(MAX_BODY_BYTES // 100)}
    body = _json({"found": True, "facts": facts})
    assert len(body) > MAX_BODY_BYTES
    server.answer = (200, body)  # with its Content-Length: refused before reading it
    unavailable(server, match="at most")
    server.answer = (200, body, {"Content-Type": "application/json"})  # no length: read until the cap
    unavailable(server, match="larger than")
    small = _json({"found": True, "facts": {"note": "x" * (MAX_BODY_BYTES - 100)}})
    server.answer = (200, small, {"Content-Type": "application/json"})
    assert len(small) <= MAX_BODY_BYTES and client(server).lookup(NATIONAL_ID).found


def test_the_bearer_token_is_sent_when_configured(server):
    client(server, token="s3cr=t").lookup(NATIONAL_ID)
    assert server.requests[-1][1]["Authorization"] == "Bearer s3cr=t"
    client(server, token="").lookup(NATIONAL_ID)
    assert "Authorization" not in server.requests[-1][1]


def test_the_token_of_each_registry_comes_from_registry_tokens_and_goes_to_it_only(server, monkeypatch):
    monkeypatch.setenv("INTRANET_REGISTRY_TOKENS", "retirement=tok-r==, civil=tok-c")
    retirement = HttpRegistry("retirement", server.url, timeout=ANSWERED)
    assert "tok-r" not in repr(retirement)
    retirement.lookup(NATIONAL_ID)
    assert server.requests[-1][1]["Authorization"] == "Bearer tok-r=="
    HttpRegistry("civil", server.url, timeout=ANSWERED).lookup(NATIONAL_ID)
    assert server.requests[-1][1]["Authorization"] == "Bearer tok-c"
    HttpRegistry("health", server.url, timeout=ANSWERED).lookup(NATIONAL_ID)
    assert "Authorization" not in server.requests[-1][1]


def test_the_national_id_is_one_path_segment_and_the_query_is_kept(server):
    registry = HttpRegistry("civil", server.url + "/?format=v2", timeout=ANSWERED, token="")
    registry.lookup("00012")
    assert server.requests[-1][0] == "/registry/v1/people/00012?format=v2"


@pytest.mark.parametrize("national_id", ["2876340012a", "../admin", "1/2", "12 34", "12%2F34", "", "١٢٣٤٥",
                                         "²³", "123\n", "123?x=1", "1" * 33, None, 28763400123])
def test_a_national_id_that_is_not_ascii_digits_is_refused_without_a_request(server, national_id):
    with pytest.raises(ValueError, match="ASCII digits"):
        client(server).lookup(national_id)
    assert server.requests == []


@pytest.mark.parametrize("url", ["ftp://host/people", "/people", "http:///people", "file:///etc/passwd",
                                 "http://127.0.0.1:port/people", "http://[::1/people"])
def test_a_registry_url_that_is_not_http_is_refused(url):
    with pytest.raises(ValueError, match="not an http"):
        HttpRegistry("civil", url, timeout=TIMEOUT, token="")
