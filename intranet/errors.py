"""Error answers a person can act on; no stack trace ever reaches a page.

One handler per kind of failure, three shapes of answer:
- the API (/api/...): RFC 9457 problem details in the caller's language;
- an htmx request: the translated message alone, put into the page's flash region out of band, and the request's
  own target left untouched (`HX-Reswap: none`): what the person typed stays, nothing is half-updated. The
  header `Diwan-Message` tells the client-side handler (static/js/htmx-errors.js) that the server said it, so
  it shows the answer even for a status htmx does not swap, and its own fallback only when the server said nothing;
- anything else: the error page.
"""
import logging

from flask import make_response, render_template, request
from intranet.i18n import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from intranet.auth.directory import DirectoryUnavailable

MESSAGE_HEADER = "Diwan-Message"
security_log = logging.getLogger("intranet.security")  # refusals and failed sign-ins; no secrets, no tokens


def _who() -> str:
    from flask_login import current_user

    return current_user.username if getattr(current_user, "is_authenticated", False) else "anonymous"


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _is_htmx() -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def _texts(code: int) -> tuple[str, str]:
    """The title and message a person reads for a status code."""
    if code == 400:
        return _("The request cannot be read"), _("Something in the address or the form is not valid. "
                                                  "Go back, correct it and try again.")
    if code in (401, 403):
        return _("Not allowed"), _("You do not have permission to see this page.")
    if code == 404:
        return _("Not found"), _("There is nothing at this address. Check the link or search again.")
    if code == 405:
        return _("Method not allowed"), _("This address does not take this method.")
    if code == 409:
        return _("Changed meanwhile"), _("Someone changed this in the meantime. Reload the page to see the "
                                         "current state, then try again.")
    if code == 413:
        return _("Upload too large"), _("The files sent together are too large. Send fewer or smaller files.")
    if code == 422:
        return _("Not accepted"), _("What was sent could not be accepted. Check it and try again.")
    if code == 429:
        return _("Too many attempts"), _("Too many attempts in a short time. Wait a minute, then try again.")
    if code == 503:
        return _("Temporarily unavailable"), _("The service is not answering. Try again in a few minutes.")
    if code >= 500:
        return _("Something went wrong"), _("Your last action may not have been saved. Reload the page to check, "
                                            "then try again.")
    return _("The request cannot be completed"), _("Go back and try again.")


_KINDS = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large", 500: "server-error"}


def answer(status: int, title: str | None = None, message: str | None = None, kind: str | None = None):
    """The error answer for this request (problem, htmx message or page); title and message default by status."""
    default_title, default_message = _texts(status)
    title, message = str(title or default_title), str(message or default_message)
    if _is_api():
        from intranet.intake.problems import problem
        return make_response(problem(status, kind or _KINDS.get(status, str(status)), title, message))
    if _is_htmx():
        body = render_template("errors/_message.html", title=title, message=message)
        return make_response(body, status, {"HX-Reswap": "none", "HX-Reselect": "unset", MESSAGE_HEADER: "error"})
    return make_response(render_template("errors/error.html", status=status, title=title, message=message), status)


def _described(error: HTTPException) -> str | None:
    """A message given to abort(code, message) by our code (lazy or plain text), not werkzeug's English default."""
    description = error.description
    default = type(error).description if isinstance(type(error).description, str) else None
    if not description or description == default:
        return None
    return str(description)


def init_app(app):
    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        return answer(400, _("The form has expired"),
                      _("This form is no longer valid. Go back, reload the page and send it again."))

    @app.errorhandler(DirectoryUnavailable)
    def directory_down(error):
        app.logger.warning("directory unavailable: %s", error)
        return answer(503, _("Sign-in is unavailable"),
                      _("The staff directory is not answering. Try again in a few minutes; if it persists, "
                        "call IT support."))

    @app.errorhandler(HTTPException)
    def http_error(error):
        if error.code is None or error.code < 400:  # a routing redirect (e.g. the trailing slash): not an error
            return error
        if error.code == 403:  # a refused access is a security event an operator can read back (ASVS 7.2.2)
            security_log.warning("access refused: %s %s by %s from %s", request.method, request.path,
                                 _who(), request.remote_addr or "-")
        if _is_api() and error.code not in (403, 404, 405, 413, 500):
            response = answer(error.code, error.name, error.description, str(error.code))
        else:
            response = answer(error.code, None, _described(error))
        for name, value in error.get_headers():  # Allow (405), Retry-After (429, 503), WWW-Authenticate (401)
            if name in ("Allow", "Retry-After", "WWW-Authenticate"):
                response.headers[name] = value
        return response

    @app.errorhandler(500)
    def server_error(error):
        return answer(500)
