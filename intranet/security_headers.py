"""The headers every answer carries (issue 14): what the browser may load and run, how far the page may travel.

- Content-Security-Policy: scripts and stylesheets come from this site's files only, never from inline <script>,
  on*="" attributes, style="" attributes or eval (htmx's eval is turned off in the htmx-config of _head.html, and
  its indicator <style> with it: those rules are in static/css/app.css). The one inline stylesheet is the printed
  document's running header (templates/reports/document.html), whose text is the day's title: it carries a nonce
  made for that answer (`csp_nonce()` in templates), and only an answer that used a nonce names it in its policy.
  Images: this site and data: URIs; the QR code and the charts are inline SVG in the page itself.
  No page may be framed (clickjacking), forms post only here, no <base> and no plugins.
- X-Content-Type-Options: nosniff, Referrer-Policy: same-origin (a request page's address, with its tracking
  number, never leaves the site), Permissions-Policy: no camera, microphone, location and the like.
- Strict-Transport-Security only when HSTS is configured (the demo is plain HTTP on loopback).
- Cache-Control: no-store on the HTML (pages and htmx fragments) of a signed-in person, so a shared computer's
  back button or a cache does not show someone's queue after they signed out. Downloads set their own
  (intranet/downloads.py) and static files keep their ordinary caching; a view that set Cache-Control keeps it.
"""
import secrets

from flask import current_app, g
from flask_login import current_user

from intranet import context

# the features a back-office page never uses; names Chromium knows (an unknown one is a console warning)
DISABLED_FEATURES = ("accelerometer", "autoplay", "camera", "display-capture", "geolocation",
                     "gyroscope", "hid", "magnetometer", "microphone", "midi", "payment", "serial", "usb")
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in DISABLED_FEATURES)


def csp_nonce() -> str:
    """A nonce for this answer's one inline <style>; asking for it puts it in the answer's policy."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def content_security_policy(nonce: str | None = None) -> str:
    style = "'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    return "; ".join((
        "default-src 'self'",
        "script-src 'self'",
        f"style-src {style}",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


def _signed_in() -> bool:
    try:
        return bool(current_user.is_authenticated)
    except Exception:  # the person could not be read (the database went away mid-answer): assume signed in
        current_app.logger.warning("security headers: could not tell whether the person is signed in",
                                   exc_info=True)
        return True


def init_app(app):

    @app.after_request
    def security_headers(response):
        headers = response.headers
        # the names already set, read once: werkzeug's Headers makes and catches an HTTP exception for each name
        # it is asked about and does not hold (setdefault, `in`), five an answer (issue 21)
        present = {name.lower() for name, _value in headers.items()}
        headers["Content-Security-Policy"] = content_security_policy(context.g().get("csp_nonce"))
        for name, value in (("X-Content-Type-Options", "nosniff"),
                            ("X-Frame-Options", "DENY"),  # frame-ancestors, for browsers that predate it
                            ("Referrer-Policy", "same-origin"), ("Permissions-Policy", PERMISSIONS_POLICY)):
            if name.lower() not in present:
                headers[name] = value
        if app.config["HSTS"]:
            headers["Strict-Transport-Security"] = f"max-age={app.config['HSTS_MAX_AGE']}; includeSubDomains"
        if response.mimetype == "text/html" and "cache-control" not in present and _signed_in():
            headers["Cache-Control"] = "no-store"
        return response
