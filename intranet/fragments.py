"""HTML that pages repeat, rendered once for what it shows (issue 21: rendering was most of a page's server time).

`keep(key, render)` gives the HTML `render()` makes, keeping it under `key` in the app's store (the last
used pieces, up to FRAGMENTS_KEPT_CHARACTERS of HTML in each process). The key must hold everything the HTML shows: the callers build it from
values, never from "this person" or "now", and the templates they render read nothing else (a queue row reads its
`Row`, intranet/queues/rows.py; the header's links their list, intranet/nav.py). The page's language is added to
every key. The forms' CSRF token, which differs from page to page, is rendered as PLACEHOLDER: `with_token` puts the
page's token in. While templates reload as they change (development), nothing is kept.
"""
import secrets
import threading

from cachetools import LRUCache
from flask import current_app
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from intranet.i18n import locale_code

FRAGMENTS_KEPT_CHARACTERS = 8_000_000  # of HTML kept by an app in each process: a queue row is 1,500, its page 40,000
PLACEHOLDER = f"diwan-csrf-{secrets.token_hex(16)}"  # no text a page shows can hold it
_FILL = f"diwan-fill-{secrets.token_hex(16)}"  # kept(fill=...)'s markers: the same
_EXTENSION = "diwan_fragments"


class _Store:
    def __init__(self):
        # cachetools' caches are not thread-safe: one lock around each look-up and each addition
        self.pieces, self.lock = LRUCache(FRAGMENTS_KEPT_CHARACTERS, getsizeof=len), threading.Lock()


def keep(key: tuple, render) -> Markup:
    """The HTML `render()` makes for `key` (and the page's language), rendered once while it is kept."""
    app = current_app._get_current_object()
    if app.jinja_env.auto_reload:
        return Markup(render())
    store = app.extensions.get(_EXTENSION) or app.extensions.setdefault(_EXTENSION, _Store())
    key = (locale_code(), *key)
    with store.lock:
        held = store.pieces.get(key)
    if held is None:
        held = Markup(render())
        if len(held) <= store.pieces.maxsize:
            with store.lock:
                store.pieces[key] = held
    return held


def kept(name: str, fill=None, **values) -> Markup:
    """The template `name` rendered with `values` alone, once for each set of values (and language), with the page's
    CSRF token in its forms: `{{ kept("queues/_queue_tabs.html", department_code=..., counts=...) }}`. The values
    are the key: texts, numbers, flags, tuples, frozen dataclasses; a dict or list is keyed by its items. The
    template reads nothing else (tests/test_fragments.py checks every kept(...) in the templates). `fill` names
    texts that differ from page to page (the page's own address): rendered as markers, kept once, and each page's
    text put in, escaped, where its marker is; the template must show them as they are (no filter, no test)."""
    markers = {field: f"{_FILL}-{field}" for field in fill or ()}
    key = (name, *((field, _frozen(value)) for field, value in sorted(values.items())), *sorted(markers))
    html = with_token(keep(key, lambda: render_alone(name, **values, **markers)))
    for field, marker in markers.items():
        html = html.replace(marker, fill[field])  # Markup.replace escapes the text it puts in
    return html


def render_alone(name: str, **values) -> str:
    """The template `name` rendered with `values`, the app's template globals and the CSRF placeholder: nothing of
    the page's. (Template.render would copy the globals through a ChainMap for each piece: a third of a cold queue
    page's time went there.)"""
    environment = current_app.jinja_env
    template = environment.get_template(name)
    context = template.new_context({**environment.globals, "csrf_token": placeholder, **values}, shared=True)
    try:
        return environment.concat(template.root_render_func(context))
    except Exception:
        environment.handle_exception()


def _frozen(value):
    if isinstance(value, dict):
        return tuple((key, _frozen(item)) for key, item in value.items())
    if isinstance(value, list):
        return tuple(_frozen(item) for item in value)
    return value


def placeholder() -> str:
    """The CSRF token as a kept piece of HTML holds it (templates rendered for `keep` get this as csrf_token)."""
    return PLACEHOLDER


def with_token(html: str) -> Markup:
    """Kept HTML with the page's CSRF token in its forms."""
    return Markup(html.replace(PLACEHOLDER, generate_csrf()) if PLACEHOLDER in html else html)
