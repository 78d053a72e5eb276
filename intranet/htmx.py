"""Page or fragment: one helper decides from the htmx headers."""
from flask import render_template

from intranet import context


def wants_fragment() -> bool:
    """A fragment for htmx swaps; the full page for direct loads and history restores."""
    asked = context.request()  # (not werkzeug's proxy: intranet/context.py)
    return bool(asked.htmx) and not asked.htmx.history_restore_request


def render(page: str, fragment: str | None = None, status: int = 200, **context):
    """Render `fragment` for an htmx swap, else the whole `page`; always Vary on HX-Request."""
    as_fragment = bool(fragment) and wants_fragment()
    # a fragment carries the flash messages out of band, since the page around it is not re-rendered
    return render_template(fragment if as_fragment else page, oob=as_fragment, **context), status


def init_app(app):
    @app.after_request
    def vary_on_htmx(response):
        if response.headers.getlist("Vary"):
            response.vary.add("HX-Request")
        else:  # (response.vary, or `in`, asks for the header: werkzeug makes and catches an exception for one not set)
            response.headers["Vary"] = "HX-Request"
        return response
