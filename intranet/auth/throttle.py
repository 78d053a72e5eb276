"""Failed passwords, counted per user name and per client address, at sign-in and at re-authentication.

Once either count reaches its allowance (LOGIN_FAILURES_PER_USERNAME, LOGIN_FAILURES_PER_ADDRESS) within
LOGIN_FAILURE_WINDOW_MINUTES, every attempt is refused before the directory is asked, even with the right
password, and with one message whether or not the account exists. The counts live in the `limits` store of
RATELIMIT_STORAGE_URL (memory:// per process; redis:// shared by every worker and host), on a moving window.
A successful password clears its user name's count (the address's stays). The moment a count runs out is a
security event (intranet/auth/sessions.record), which administrators see on the sessions page.
"""
import hashlib
import time

from flask import current_app
from limits import RateLimitItemPerMinute, storage, strategies

NAMESPACE = "diwan-password-failures"


def init_app(app):
    store = storage.storage_from_string(app.config["RATELIMIT_STORAGE_URL"])
    app.extensions["diwan_password_failures"] = strategies.MovingWindowRateLimiter(store)


def _limiter() -> strategies.MovingWindowRateLimiter:
    return current_app.extensions["diwan_password_failures"]


def _user_key(username: str) -> str:
    """The same key for "Health1", " health1 " and "health1"; hashed, so any text is a safe store key."""
    return hashlib.sha256((username or "").strip().casefold().encode("utf-8", "replace")).hexdigest()[:40]


def _checks(username: str, address: str):
    cfg = current_app.config
    window = cfg["LOGIN_FAILURE_WINDOW_MINUTES"]
    return [(RateLimitItemPerMinute(cfg["LOGIN_FAILURES_PER_USERNAME"], window), ("user", _user_key(username))),
            (RateLimitItemPerMinute(cfg["LOGIN_FAILURES_PER_ADDRESS"], window), ("address", address or "-"))]


def wait_seconds(username: str, address: str) -> int | None:
    """None when a password may be tried; else the seconds until one may (for Retry-After)."""
    limiter = _limiter()
    waits = []
    for item, keys in _checks(username, address):
        if not limiter.test(item, NAMESPACE, *keys):
            reset_at, _remaining = limiter.get_window_stats(item, NAMESPACE, *keys)
            waits.append(max(1, int(reset_at - time.time()) + 1))
    return max(waits) if waits else None


def failed(username: str, address: str, where: str, staff=None) -> None:
    """Count a wrong password; the failure that uses the last allowance records a lockout."""
    from intranet.auth.sessions import record
    from intranet.errors import security_log

    # every failure is logged (ASVS 7.1.3/7.2.1): the user name as typed, never the password
    security_log.warning("%s failed for user name %r from %s", where, (username or "").strip()[:100], address or "-")
    limiter = _limiter()
    exhausted = []
    for item, keys in _checks(username, address):
        limiter.hit(item, NAMESPACE, *keys)
        if not limiter.test(item, NAMESPACE, *keys):
            exhausted.append(keys[0])
    if exhausted:
        record(f"{where}_locked", username=(username or "").strip(), staff=staff,
               detail="per " + " and ".join(exhausted))


def succeeded(username: str) -> None:
    """The right password: the user name's count starts again (the address's does not)."""
    cfg = current_app.config
    item = RateLimitItemPerMinute(cfg["LOGIN_FAILURES_PER_USERNAME"], cfg["LOGIN_FAILURE_WINDOW_MINUTES"])
    _limiter().clear(item, NAMESPACE, "user", _user_key(username))


def refusal(wait: int) -> str:
    """The one answer while attempts are held back: the same for every account, existing or not."""
    from intranet.i18n import ngettext

    minutes = max(1, -(-wait // 60))
    return ngettext("Too many wrong passwords. Wait %(num)d minute and try again; if you have forgotten your "
                    "password, call IT support.",
                    "Too many wrong passwords. Wait %(num)d minutes and try again; if you have forgotten your "
                    "password, call IT support.", minutes)
