"""Error pages a person can act on; no stack trace ever reaches a page."""
from flask import render_template, request
from werkzeug.exceptions import HTTPException
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from intranet.auth.directory import DirectoryUnavailable


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _page(status, title, message, kind=None):
    """An error page for people; for the API, the same message as problem details."""
    if _is_api():
        from intranet.intake.problems import problem
        return problem(status, kind or str(status), title, message)
    return render_template("errors/error.html", status=status, title=title, message=message), status


def init_app(app):
    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        return _page(400, _("The form has expired"),
                     _("This form is no longer valid. Go back, reload the page and send it again."))

    @app.errorhandler(403)
    def forbidden(error):
        return _page(403, _("Not allowed"), _("You do not have permission to see this page."))

    @app.errorhandler(404)
    def not_found(error):
        return _page(404, _("Not found"), _("There is nothing at this address. Check the link or search again."),
                     "not-found")

    @app.errorhandler(413)
    def too_large(error):
        return _page(413, _("Upload too large"), _("The files sent together are too large. Send fewer or smaller files."),
                     "payload-too-large")

    @app.errorhandler(DirectoryUnavailable)
    def directory_down(error):
        app.logger.warning("directory unavailable: %s", error)
        return _page(503, _("Sign-in is unavailable"),
                     _("The staff directory is not answering. Try again in a few minutes; if it persists, call IT support."))

    @app.errorhandler(405)
    def method_not_allowed(error):
        if not _is_api():
            return error
        return _page(405, _("Method not allowed"), _("This address does not take this method."),
                     "method-not-allowed")

    @app.errorhandler(HTTPException)
    def other_http_error(error):
        if not _is_api():
            return error
        return _page(error.code, error.name, error.description, str(error.code))

    @app.errorhandler(500)
    def server_error(error):
        return _page(500, _("Something went wrong"),
                     _("Your last action may not have been saved. Reload the page to check, then try again."),
                     "server-error")
