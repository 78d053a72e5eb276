"""Query parameters, read one way.

Every view takes the values of its URL (and the ids and keys of its forms) through these functions. They never
raise: a value that is malformed or out of range falls back to the default, so no URL ever gives an error page.
Integers are ASCII digits (an optional minus) within bounds; ids within the ids' column type (SERIAL: a larger
number names nothing, and the database would refuse it rather than answer "none"). Path ids go through the `int`
converter installed here with the same bound, so /tickets/99999999999999999999 is a 404. A NUL character in the
path, an argument or a form field is refused with a 400 and a translated message: PostgreSQL stores none.
"""
import datetime as dt
import re

from flask import abort
from htmx_flask.requests import HtmxAwareRequest
from intranet import context
from intranet.i18n import gettext as _
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

ID_MAX = 2**31 - 1  # ids are SERIAL (PostgreSQL integer)
TEXT_MAX = 200  # a query value longer than this is cut: a search term or a code, never a document
LIST_MAX = 1000  # at most this many ids from one list (a page never shows more)

_INTEGER = re.compile(r"-?[0-9]{1,19}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def to_int(value, default=None, *, minimum: int = 1, maximum: int = ID_MAX):
    """`value` as an integer in [minimum, maximum] if it is one written in ASCII digits, else `default`."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        return default
    return number if minimum <= number <= maximum else default


def to_id(value) -> int | None:
    """A row id (1 .. ID_MAX) or None."""
    return to_int(value)


def to_text(value, default: str = "", max_length: int = TEXT_MAX) -> str:
    """Text without control characters, trimmed, at most `max_length` characters; `default` when nothing is left."""
    if not isinstance(value, str):
        return default
    text = _CONTROL.sub("", value).strip()[:max_length]
    return text or default


def to_choice(value, choices, default=None):
    """`value` if it is one of `choices` (a dict's keys or any collection of strings), else `default`."""
    return value if isinstance(value, str) and value in choices else default


def to_date(value, default=None) -> dt.date | None:
    """An ISO date (YYYY-MM-DD) or `default`."""
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value.strip()):
        return default
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        return default


def to_ids(values, limit: int = LIST_MAX) -> list[int]:
    """The valid ids among `values`, each once, in their order, at most `limit`."""
    ids = []
    for value in values:
        if (number := to_id(value)) is not None and number not in ids:
            ids.append(number)
            if len(ids) == limit:
                break
    return ids


# --- the same, read from the request's URL arguments (or any multidict given as `source`) --------------------------

def _source(source):
    return context.request().args if source is None else source


def _given(name: str, source):
    """The first value given for `name`, or None."""
    return _source(source).get(name)


def arg_int(name: str, default=None, *, minimum: int = 1, maximum: int = ID_MAX, source=None):
    return to_int(_given(name, source), default, minimum=minimum, maximum=maximum)


def arg_id(name: str, source=None) -> int | None:
    """An id from the URL (a page key such as `after` or `before`, a filter's row id), or None."""
    return to_id(_given(name, source))


def arg_text(name: str, default: str = "", max_length: int = TEXT_MAX, source=None) -> str:
    return to_text(_given(name, source), default, max_length)


def arg_choice(name: str, choices, default=None, source=None):
    return to_choice(_given(name, source), choices, default)


def arg_date(name: str, default=None, source=None) -> dt.date | None:
    return to_date(_given(name, source), default)


def arg_ids(name: str, source=None, limit: int = LIST_MAX) -> list[int]:
    """Every valid id given for `name` (a repeated argument or form field)."""
    return to_ids(_source(source).getlist(name), limit)


class Arguments(ImmutableMultiDict):
    """A request's URL arguments and form fields, as werkzeug's, but `get` asks first whether the key is there:
    werkzeug's makes and catches an HTTP exception (BadRequestKeyError) for every key not given, a few
    microseconds each, and a page asks for many that are not (a queue page's dozen filters, the pager's key:
    issue 21). Everything else, `[key]`'s 400 for a missing field included, is werkzeug's."""

    def get(self, key, default=None, type=None):
        return super().get(key, default, type) if key in self else default


class Request(HtmxAwareRequest):
    """htmx-flask's request (`request.htmx`), its arguments and form fields `Arguments`."""

    parameter_storage_class = Arguments


class IdConverter(IntegerConverter):
    """<int:...> in a route: ASCII digits up to ID_MAX; anything larger does not match (a 404)."""

    def __init__(self, map, fixed_digits=0, min=None, max=ID_MAX, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _has_nul(values) -> bool:
    return any("\x00" in key or "\x00" in value for key, value in values.items(multi=True))


def init_app(app):
    """Install the bounded id converter (before any blueprint adds its routes), read arguments as `Arguments` and
    refuse NUL characters."""
    app.url_map.converters["int"] = IdConverter
    app.request_class = Request  # (after htmx-flask's init_app, which installs its own)

    @app.before_request
    def refuse_nul():
        asked = context.request()  # (not werkzeug's proxy: intranet/context.py)
        form = asked.mimetype in FORM_TYPES and not asked.path.startswith("/api/")  # the API reads its own body
        if "\x00" in asked.path or _has_nul(asked.args) or (form and _has_nul(asked.form)):
            abort(400, _("The address or the form contains a character that cannot be used. "
                         "Remove it and try again."))
