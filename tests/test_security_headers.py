"""Every answer carries the security headers (intranet/security_headers.py): a Content-Security-Policy without inline
script, nosniff, a referrer policy, a permissions policy, HSTS only when configured, and no-store on what a signed-in
person sees. Pages, htmx fragments, downloads, static files, error pages, /healthz and the API alike. No template
carries inline script, on*="" handlers or style="" attributes, which the policy would refuse."""
import datetime as dt
import re
from pathlib import Path

from intranet import config
from intranet.security_headers import PERMISSIONS_POLICY

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
          "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def assert_protected(response, cache=None):
    headers = response.headers
    assert headers["Content-Security-Policy"] == POLICY, response.request.path
    assert headers.get_all("X-Content-Type-Options") == ["nosniff"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Permissions-Policy"] == PERMISSIONS_POLICY
    assert "camera=()" in PERMISSIONS_POLICY and "microphone=()" in PERMISSIONS_POLICY
    assert "geolocation=()" in PERMISSIONS_POLICY
    assert "Strict-Transport-Security" not in headers  # not configured: the demo is plain HTTP
    assert headers.get("Cache-Control") == cache, (response.request.path, headers.get("Cache-Control"))


def assert_static(response):
    """Static files keep their ordinary caching: revalidated by their validators, never no-store."""
    assert response.status_code == 200 and response.headers.get("ETag") and response.headers.get("Last-Modified")
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert_protected(response, cache=response.headers.get("Cache-Control"))
    response.close()


def test_signed_out_pages_static_files_health_and_the_api(client):
    login = client.get("/login")
    assert login.status_code == 200
    assert_protected(login)  # nobody signed in: nothing personal to keep out of caches
    assert_protected(client.get("/nowhere"), cache=None)  # an error page
    assert client.get("/nowhere").status_code == 404
    css = client.get("/static/css/app.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert_static(css)
    health = client.get("/healthz")
    assert health.mimetype == "application/json"
    assert_protected(health, cache="no-store")  # its own
    api = client.get("/api/v1/openapi.json")
    assert api.status_code == 200 and api.mimetype == "application/json"
    assert_protected(api, cache="public, max-age=300")  # its own: the document is the same for everyone
    assert client.get("/queues/").status_code == 302  # a redirect to sign in carries them too
    assert_protected(client.get("/queues/"))


def test_what_a_signed_in_person_sees_is_not_stored(client, auth):
    auth.login("health1")
    page = client.get("/queues/", follow_redirects=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert_protected(page, cache="no-store")
    fragment = client.get("/queue-badge", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert_protected(fragment, cache="no-store")
    missing = client.get("/requests/NOPE-0000")
    assert missing.status_code == 404
    assert_protected(missing, cache="no-store")
    # a download keeps what intranet/downloads.py set, once
    download = client.get("/imports/template.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert_protected(download, cache="private, no-store")
    assert download.headers.get_all("Cache-Control") == ["private, no-store"]
    # static files and the API do not become no-store because someone is signed in
    assert_static(client.get("/static/css/app.css"))
    assert_protected(client.get("/api/v1/openapi.json"), cache="public, max-age=300")


def test_pages_set_htmx_up_without_eval(client, auth):
    auth.login("health1")
    page = client.get("/queues/", follow_redirects=True).text
    config_json = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", page).group(1)
    assert '"allowEval": false' in config_json and '"includeIndicatorStyles": false' in config_json
    assert ".htmx-indicator" in Path(TEMPLATES.parent / "static" / "css" / "app.css").read_text()


def test_the_printed_documents_one_inline_style_carries_the_answers_nonce(app, client, auth, data):
    from intranet.stats import figures

    auth.login("supervisor1")
    with data():
        day = (figures.local_today() - dt.timedelta(days=1)).isoformat()
    page = client.get(f"/reports/daily/{day}?lang=ar")
    assert page.status_code == 200
    nonce = re.search(r'<style nonce="([A-Za-z0-9_-]{20,})">', page.text).group(1)
    assert page.headers["Content-Security-Policy"] == POLICY.replace(
        "style-src 'self'", f"style-src 'self' 'nonce-{nonce}'")
    again = client.get(f"/reports/daily/{day}?lang=ar")
    assert nonce not in again.text and nonce not in again.headers["Content-Security-Policy"]  # one per answer
    assert 'data-print' in page.text and "onclick" not in page.text


def test_hsts_only_when_configured(app, client, monkeypatch):
    app.config["HSTS"] = True
    response = client.get("/login")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert client.get("/static/css/app.css").headers["Strict-Transport-Security"].startswith("max-age=31536000")
    monkeypatch.setenv("INTRANET_HSTS", "1")
    assert config.load({"SECRET_KEY": "x"})["HSTS"] is True
    monkeypatch.setenv("INTRANET_HSTS", "0")
    assert config.load({"SECRET_KEY": "x"})["HSTS"] is False
    monkeypatch.delenv("INTRANET_HSTS")
    assert config.load({"SECRET_KEY": "x"})["HSTS"] is False  # off by default


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)
EVAL_HTMX = re.compile(r"hx-on|(hx-vals|hx-headers)=['\"]\s*(js|javascript):", re.IGNORECASE)


def test_no_template_has_what_the_policy_refuses():
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = re.sub(r"\{#.*?#\}", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)  # not the comments
        for pattern in (INLINE_SCRIPT, HANDLER, STYLE_ATTRIBUTE, EVAL_HTMX):
            found += [f"{path.relative_to(TEMPLATES)}: {m.group(0).strip()}" for m in pattern.finditer(text)]
        # the one inline stylesheet, the printed document's running header, goes through by its nonce
        found += [f"{path.relative_to(TEMPLATES)}: <style> without nonce"
                  for m in re.finditer(r"<style(?![^>]*\bnonce=)[^>]*>", text)]
    assert not found, "\n".join(found)
