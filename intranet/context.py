"""The app, `g` and the request of the moment, read from Flask's own context variables.

werkzeug's proxies (`current_app`, `g`, `request`, `session`) answer an attribute by failing to find it on the
proxy first: every read raises and catches an AttributeError inside, about a microsecond, and a page read them some
two hundred times (issue 21). The code a page runs on every request reads the real objects here instead; `None`
outside a request (or an app context), where a proxy would raise.
"""
from flask.globals import _cv_app, _cv_request


def app():
    """The Flask app of the app context, or None."""
    context = _cv_app.get(None)
    return None if context is None else context.app


def g():
    """The app context's `g`, or None."""
    context = _cv_app.get(None)
    return None if context is None else context.g


def request():
    """The request being answered, or None."""
    context = _cv_request.get(None)
    return None if context is None else context.request
