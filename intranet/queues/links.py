"""Links a page repeats on each of its rows, built with url_for once a page (issue 21: a queue page's 25 rows asked
url_for about a hundred times, a tenth of the page's server time).

`UrlPattern(endpoint, slot, **args)` is url_for(endpoint, slot=..., **args) with the slot left open: calling it with
a value gives exactly what url_for would (the same query arguments in the same order, the same script root). A value
that a URL path carries as it is (letters, digits, "-", "_", ".", "~": every tracking number) is put in the slot;
anything else is left to url_for itself, so its quoting rules stay the only ones.
"""
import functools
import re
from typing import NamedTuple

from flask import request, url_for

_SLOT = "diwan-url-slot"  # a path value url_for leaves as it is
_AS_IS = re.compile(r"[A-Za-z0-9_.~-]+")  # what a path segment holds unquoted (RFC 3986 unreserved)


class UrlPattern:
    """Equal patterns (hashable: a kept row's key holds its page's patterns) give the same URLs."""

    __slots__ = ("endpoint", "slot", "args", "head", "tail", "_key")

    def __init__(self, endpoint: str, slot: str, **args):
        self.endpoint, self.slot, self.args = endpoint, slot, args
        self.head, self.tail = _split(request.script_root, endpoint, slot, tuple(args.items()))
        self._key = (endpoint, slot, tuple(args.items()), self.head, self.tail)

    def __call__(self, value) -> str:
        text = str(value)
        if _AS_IS.fullmatch(text):
            return f"{self.head}{text}{self.tail}"
        return url_for(self.endpoint, **{self.slot: value}, **self.args)

    def __eq__(self, other):
        return isinstance(other, UrlPattern) and self._key == other._key

    def __hash__(self):
        return hash(self._key)


@functools.lru_cache(maxsize=1024)
def _split(script_root: str, endpoint: str, slot: str, args: tuple) -> tuple[str, str]:
    """url_for's answer around the open slot, once for each address it can give: a relative URL depends on the
    endpoint, its arguments in their order and the root the application is served under, nothing else (the app
    sets no URL defaults)."""
    head, _, tail = url_for(endpoint, **{slot: _SLOT}, **dict(args)).partition(_SLOT)
    return head, tail


class RowUrls(NamedTuple):
    page: str  # the request page
    beside: str  # the same, opened beside the queue
    act: str  # the row's action form
    act_here: str  # the same, posted by htmx from the queue


class QueueRowLinks(NamedTuple):
    """The link patterns of a page of queue rows (templates/queues/_queue_row.html)."""
    page: UrlPattern
    beside: UrlPattern
    act: UrlPattern
    act_here: UrlPattern

    def for_number(self, number: str) -> RowUrls:
        return RowUrls(self.page(number), self.beside(number), self.act(number), self.act_here(number))


def queue_row_links(department_code: str, filter_args: dict) -> QueueRowLinks:
    """The links of a queue row, for a page of rows of one queue and filters: the request page, the same opened
    beside the queue, and the row's action form (plain and htmx)."""
    return QueueRowLinks(
        page=UrlPattern("queues.request_page", "tracking_number"),
        beside=UrlPattern("queues.request_page", "tracking_number", queue=department_code, **filter_args),
        act=UrlPattern("queues.act", "tracking_number"),
        act_here=UrlPattern("queues.act", "tracking_number", **filter_args),
    )
