"""Error pages a person can act on; no stack trace ever reaches a page."""
from flask import render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from intranet.auth.directory import DirectoryUnavailable


def _page(status, title, message):
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
        return _page(404, _("Not found"), _("There is nothing at this address. Check the link or search again."))

    @app.errorhandler(413)
    def too_large(error):
        return _page(413, _("Upload too large"), _("The files sent together are too large. Send fewer or smaller files."))

    @app.errorhandler(DirectoryUnavailable)
    def directory_down(error):
        app.logger.warning("directory unavailable: %s", error)
        return _page(503, _("Sign-in is unavailable"),
                     _("The staff directory is not answering. Try again in a few minutes; if it persists, call IT support."))

    @app.errorhandler(500)
    def server_error(error):
        return _page(500, _("Something went wrong"),
                     _("Your last action may not have been saved. Reload the page to check, then try again."))
