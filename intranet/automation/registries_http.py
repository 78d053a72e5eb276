"""The HTTP JSON client for an external registry (the national retirement authority, the civil registry): one
`Registry` of intranet.automation.registries, named in REGISTRIES by its URL ("retirement=https://host/path").

The contract we require of a registry:

- **Request.** `GET <url>/<national id>` (the registry's base URL, then the national ID, ASCII digits only, as
  one path segment; a query string in the URL is kept), `Accept: application/json`, and
  `Authorization: Bearer <token>` when a token is configured for the registry's code (REGISTRY_TOKENS,
  "retirement=<token>,civil=<token>"; never sent to another registry).
- **Known person.** `200` with a JSON object `{"found": true, "facts": {"alive": true, "pension_status": "active",
  ...}}`: facts are flat, each value a string, a number, true/false or null (rules compare them; a nested value
  is no fact). `{"found": false}` is also a "not found".
- **Unknown person.** `404` (whatever its body): found False, no facts.
- **Anything else is no answer** and raises RegistryUnavailable, so that the request goes to a person and nothing
  is approved on it: a timeout, a refused or reset connection, any other status (5xx, 401/403, a redirect: we
  do not follow one), a body that is not UTF-8 JSON, not an object, without a boolean "found", with facts that
  are not a flat object, or a body larger than MAX_BODY_BYTES.
- **Time.** `timeout` bounds the whole lookup, not each socket operation: connecting, sending, and reading the
  answer share one deadline (each operation waits only for what is left of it), so a registry that answers
  slowly, or a little at a time, is given up at the deadline (REGISTRY_TIMEOUT_SECONDS).

A national ID that is not ASCII digits is refused (ValueError) before any connection: it is a mistake of the
caller, and nothing of it reaches the network. The answer keeps the body as received (`raw`, the evidence) and
the time it was fetched (naive UTC).
"""
import concurrent.futures
import http.client
import json
import re
import time
from urllib.parse import quote, urlsplit

from intranet.automation.registries import RegistryAnswer, RegistryUnavailable
from intranet.config import setting
from intranet.models.people import utcnow

USER_AGENT = "Diwan-Registry/1"
MAX_BODY_BYTES = 64 * 1024
FACT_TYPES = (str, int, float, bool, type(None))
_NATIONAL_ID = re.compile(r"[0-9]{1,32}")  # ASCII only: str.isdigit() also takes "٣" and "²"
_CHUNK = 8192
PARALLEL_LOOKUPS = 8  # a batch's lookups in flight at once: a registry is not flooded, a slow one costs one deadline


def _token_for(code: str) -> str:
    """The bearer token REGISTRY_TOKENS gives the registry `code` ("" for none)."""
    pairs = (item.split("=", 1) for item in setting("REGISTRY_TOKENS").split(",") if "=" in item)
    return {name.strip(): token.strip() for name, token in pairs}.get(code, "")


def _no_constant(name: str):
    raise ValueError(f"{name} is no fact")  # JSON has no NaN nor Infinity; Python's parser would take them


class HttpRegistry:
    """`lookup(national_id)` against `url`; thread-safe (one connection per lookup, nothing shared)."""
    remote = True

    def __init__(self, code: str, url: str, timeout: float, token: str | None = None):
        try:
            parts = urlsplit(url)
            port = parts.port  # a port that is not a number raises here, not at the first lookup
        except ValueError as error:
            raise ValueError(f"registry {code!r}: {url!r} is not an http(s) URL") from error
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"registry {code!r}: {url!r} is not an http(s) URL")
        if float(timeout) <= 0:
            raise ValueError(f"registry {code!r}: the timeout must be positive")
        self.code, self.url, self.timeout = code, url, float(timeout)
        self.token = _token_for(code) if token is None else token
        self._parts, self._port = parts, port

    def __repr__(self):
        return f"HttpRegistry({self.code!r}, {self.url!r}, timeout={self.timeout:g})"  # never the token

    def path_for(self, national_id: str) -> str:
        """The request target: the URL's path, then the national ID as one more segment, then its query."""
        if not isinstance(national_id, str) or not _NATIONAL_ID.fullmatch(national_id):
            raise ValueError("a national ID for a registry is ASCII digits only")
        path = self._parts.path.rstrip("/") + "/" + quote(national_id, safe="")
        return path + (f"?{self._parts.query}" if self._parts.query else "")

    def lookup(self, national_id: str) -> RegistryAnswer:
        target = self.path_for(national_id)  # ValueError before any connection
        status, body = self._get(target)
        fetched_at = utcnow()
        if status == 404:
            return RegistryAnswer(self.code, False, {}, body.decode("utf-8", "replace"), fetched_at)
        if status != 200:
            raise RegistryUnavailable(f"registry {self.code}: HTTP {status}")
        text, found, facts = self._parse(body)
        return RegistryAnswer(self.code, found, facts, text, fetched_at)

    def lookup_many(self, national_ids) -> dict:
        """The batch looked up PARALLEL_LOOKUPS at a time (each with its own connection and deadline); a lookup that
        fails is its RegistryUnavailable in the result, the others stand."""
        wanted = list(dict.fromkeys(national_ids))

        def one(national_id):
            try:
                return self.lookup(national_id)
            except RegistryUnavailable as error:
                return error
            except ValueError as error:  # a national ID no registry can be asked about: nobody approves on it
                return RegistryUnavailable(f"registry {self.code}: {error}")

        if len(wanted) < 2:
            return {national_id: one(national_id) for national_id in wanted}
        with concurrent.futures.ThreadPoolExecutor(min(PARALLEL_LOOKUPS, len(wanted))) as pool:
            return dict(zip(wanted, pool.map(one, wanted), strict=True))

    # --- the exchange ---------------------------------------------------------------------------------------

    def _get(self, target: str) -> tuple[int, bytes]:
        """(status, body) of one GET within the deadline; RegistryUnavailable for any trouble on the way."""
        deadline = time.monotonic() + self.timeout

        def left() -> float:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            return remaining

        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        kind = http.client.HTTPSConnection if self._parts.scheme == "https" else http.client.HTTPConnection
        connection = kind(self._parts.hostname, self._port, timeout=self.timeout)
        try:
            connection.connect()
            sock = connection.sock  # the response reads from it too; the connection forgets it when it closes
            sock.settimeout(left())
            connection.request("GET", target, headers=headers)
            sock.settimeout(left())
            response = connection.getresponse()
            left()  # headers that came in a little at a time may have spent the rest
            length = response.getheader("Content-Length")
            if length is not None and length.strip().isdigit() and int(length) > MAX_BODY_BYTES:
                raise RegistryUnavailable(f"registry {self.code}: an answer of {int(length)} bytes (at most "
                                          f"{MAX_BODY_BYTES})")
            body = bytearray()
            while True:
                sock.settimeout(left())
                chunk = response.read1(_CHUNK)  # one receive at most: read() would wait for all of it
                if not chunk:
                    break
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise RegistryUnavailable(f"registry {self.code}: an answer larger than {MAX_BODY_BYTES} bytes")
            if response.length:  # read1 ends quietly when the connection closes early
                raise RegistryUnavailable(f"registry {self.code}: the answer was cut short ({len(body)} bytes, "
                                          f"{response.length} missing)")
            return response.status, bytes(body)
        except RegistryUnavailable:
            raise
        except TimeoutError as error:  # socket.timeout too
            raise RegistryUnavailable(f"registry {self.code}: no answer within {self.timeout:g} s") from error
        except (http.client.HTTPException, OSError, ValueError) as error:
            raise RegistryUnavailable(f"registry {self.code}: {type(error).__name__}: {error}"[:500]) from error
        finally:
            connection.close()

    def _parse(self, body: bytes) -> tuple[str, bool, dict]:
        """(the body as text, found, facts) of a 200, or RegistryUnavailable for a malformed one."""
        try:
            text = body.decode("utf-8")
            answer = json.loads(text, parse_constant=_no_constant)
        except ValueError as error:  # UnicodeDecodeError, JSONDecodeError and NaN/Infinity alike
            raise RegistryUnavailable(f"registry {self.code}: the answer is not JSON") from error
        if not isinstance(answer, dict):
            raise RegistryUnavailable(f"registry {self.code}: the answer is not a JSON object")
        found = answer.get("found")
        if not isinstance(found, bool):
            raise RegistryUnavailable(f"registry {self.code}: the answer has no true/false \"found\"")
        if not found:
            return text, False, {}  # nothing is a fact about a person the registry does not know
        facts = answer.get("facts", {})
        if not isinstance(facts, dict) or not all(isinstance(key, str) and isinstance(value, FACT_TYPES)
                                                  for key, value in facts.items()):
            raise RegistryUnavailable(f"registry {self.code}: the facts are not a flat object of plain values")
        return text, found, dict(facts)
