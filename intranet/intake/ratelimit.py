"""Requests per minute per portal client, counted in a store shared by the workers (the `limits` library:
memory:// in one process, redis:// across processes and machines)."""
import time

from flask import current_app
from limits import RateLimitItemPerMinute, storage, strategies

KEY = "diwan-api-client"


def init_app(app):
    store = storage.storage_from_string(app.config["RATELIMIT_STORAGE_URL"])
    app.extensions["diwan_ratelimit"] = strategies.FixedWindowRateLimiter(store)


def wait_seconds(client) -> int | None:
    """None when the client may go on; else the seconds until its window resets (for Retry-After)."""
    limiter = current_app.extensions["diwan_ratelimit"]
    item = RateLimitItemPerMinute(client.rate_per_minute)
    if limiter.hit(item, KEY, str(client.id)):
        return None
    reset_at, _remaining = limiter.get_window_stats(item, KEY, str(client.id))
    return max(1, int(reset_at - time.time()) + 1)
