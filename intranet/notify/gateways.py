"""SMS gateways: how a notification leaves for a telephone. One small class per gateway.

A gateway's `send(notification)` makes one attempt and returns a `SendResult`; it never raises for network or
provider trouble (those are results), and never touches the database: `intranet.notify.delivery` claims the row,
calls the gateway outside any transaction and records the outcome.

- `HttpJsonGateway`: a generic JSON-over-HTTP gateway. POST `{to, from, text, reference, callback_url}` with
  `Authorization: Bearer <token>`. `reference` is our notification id and the gateway drops a second message with
  the same reference (the contract we require of it): that is what makes a resend after a crash harmless. 2xx with
  a message id -> accepted (the id is the `provider_ref` that delivery receipts quote); 4xx other than 408/429 ->
  permanent failure (bad number, bad credentials: trying again will not help); 5xx, 408, 429, timeouts and
  connection errors -> try again later.
- `FileGateway`: appends one JSON line per message to a file (`SMS_FILE`, "-" for the console): the demo.

Adding a gateway: subclass `SmsGateway`, give it a `name` and `from_config`, decorate it with `@register`, and
set `INTRANET_SMS_GATEWAY` to its name.
"""
import abc
import http.client
import json
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from intranet.config import current as current_config
from intranet.outbox import SendResult  # one answer type for every channel

USER_AGENT = "Diwan-SMS/1"


GATEWAYS: dict[str, type["SmsGateway"]] = {}


def register(cls):
    GATEWAYS[cls.name] = cls
    return cls


class SmsGateway(abc.ABC):
    """One attempt at one message; thread-safe (two consumer workers share nothing but may share an instance)."""
    name = "base"

    @classmethod
    def from_config(cls, config) -> "SmsGateway":
        return cls()

    @abc.abstractmethod
    def send(self, notification) -> SendResult:
        """One attempt at one SMS."""

    def close(self):
        """End of a batch: release connections."""


# --- a generic HTTP JSON gateway -------------------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is not an acceptance: urllib would turn the POST into a GET elsewhere and call it 200."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)

MESSAGE_ID_KEYS = ("message_id", "messageId", "id")


def _retry_after(headers) -> float | None:
    value = (headers or {}).get("Retry-After") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: the back-off decides


@register
class HttpJsonGateway(SmsGateway):
    name = "http"

    def __init__(self, url: str, token: str = "", sender_id: str = "", timeout: float = 5.0, callback_url: str = ""):
        if not url:
            raise ValueError("the HTTP SMS gateway needs INTRANET_SMS_GATEWAY_URL")
        self.url, self.token, self.sender_id = url, token, sender_id
        self.timeout, self.callback_url = float(timeout), callback_url

    @classmethod
    def from_config(cls, config):
        return cls(config["SMS_GATEWAY_URL"], config["SMS_GATEWAY_TOKEN"], config["SMS_SENDER_ID"],
                   config["SMS_GATEWAY_TIMEOUT"], config["SMS_RECEIPT_URL"])

    def payload(self, notification) -> dict:
        body = {"to": notification.recipient, "from": self.sender_id, "text": notification.body,
                "reference": str(notification.id)}
        if self.callback_url:
            body["callback_url"] = self.callback_url
        return body

    def send(self, notification) -> SendResult:
        data = json.dumps(self.payload(notification), ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json",
                   "User-Agent": USER_AGENT}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
        try:
            with _opener.open(request, timeout=self.timeout) as response:
                status, text = response.status, response.read(64 * 1024)
        except urllib.error.HTTPError as error:
            with error:
                detail = error.read(2000).decode("utf-8", "replace").strip()
            message = f"HTTP {error.code} {error.reason}" + (f": {detail}" if detail else "")
            if 400 <= error.code < 500 and error.code not in (408, 429):
                return SendResult.fail(message, error.code)
            return SendResult.retry(message, error.code, _retry_after(error.headers))
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
            reason = getattr(error, "reason", None) or error
            if isinstance(reason, TimeoutError) or "timed out" in str(reason):
                return SendResult.retry(f"timed out after {self.timeout:g} s")
            return SendResult.retry(f"{type(reason).__name__}: {reason}")
        if not 200 <= status < 300:  # 1xx/3xx: not an acceptance (redirects are refused above)
            return SendResult.retry(f"HTTP {status}", status)
        try:
            answer = json.loads(text or b"{}")
        except ValueError:
            answer = {}
        ref = next((answer[key] for key in MESSAGE_ID_KEYS if isinstance(answer, dict) and answer.get(key)), None)
        # a 2xx is an acceptance even without an id: receipts can still quote our reference
        return SendResult.ok(str(ref)[:100] if ref is not None else None, status)


# --- the demo's file (or console) ------------------------------------------------------------------------

_file_lock = threading.Lock()


@register
class FileGateway(SmsGateway):
    """Each message as one JSON line appended to a file ("-": standard output). Always accepted."""
    name = "file"

    def __init__(self, path):
        self.path = path

    @classmethod
    def from_config(cls, config):
        return cls(config["SMS_FILE"])

    def send(self, notification) -> SendResult:
        ref = f"file-{notification.id}"
        line = json.dumps({"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "to": notification.recipient,
                           "text": notification.body, "reference": str(notification.id), "message_id": ref},
                          ensure_ascii=False) + "\n"
        try:
            with _file_lock:
                if str(self.path) == "-":
                    sys.stdout.write(line)
                    sys.stdout.flush()
                else:
                    path = Path(self.path)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    with path.open("a", encoding="utf-8") as out:
                        out.write(line)
        except OSError as error:
            return SendResult.retry(f"{type(error).__name__}: {error}")
        return SendResult.ok(ref)


def sms_gateway(config=None) -> SmsGateway:
    """The configured gateway (`SMS_GATEWAY`: a registered name, or "package.module:Class")."""
    config = current_config() if config is None else config
    name = config["SMS_GATEWAY"]
    cls = GATEWAYS.get(name)
    if cls is None and ":" in name:
        import importlib
        module, _, attr = name.partition(":")
        cls = getattr(importlib.import_module(module), attr)
    if cls is None:
        raise ValueError(f"unknown SMS gateway {name!r}: one of {', '.join(sorted(GATEWAYS))} or module:Class")
    return cls.from_config(config)
