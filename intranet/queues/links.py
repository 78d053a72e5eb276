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
    def __init__(self, endpoint: str, slot: str, **args):
        self.endpoint, self.slot, self.args = endpoint, slot, args
        self.head, _, self.tail = url_for(endpoint, **{slot: _SLOT}, **args).partition(_SLOT)

    def __call__(self, value) -> str:
        text = str(value)
        if _AS_IS.fullmatch(text):
            return f"{self.head}{text}{self.tail}"
        return url_for(self.endpoint, **{self.slot: value}, **self.args)


class RowUrls(NamedTuple):
    page: str  # the request page
    beside: str  # the same, opened beside the queue
    act: str  # the row's action form
    act_here: str  # the same, posted by htmx from the queue


class QueueRowLinks:
    """The link patterns of a page of queue rows (templates/queues/_queue_row.html): the request page, the same
    opened beside the queue, and the row's action form (plain and htmx). One object for each address a page can
    have (`queue_row_links`), so that kept rows, whose key holds it, are told apart and alike by identity."""
    __slots__ = ("page", "beside", "act", "act_here")

    def __init__(self, department_code: str, filter_args: dict):
        self.page = UrlPattern("queues.request_page", "tracking_number")
        self.beside = UrlPattern("queues.request_page", "tracking_number", queue=department_code, **filter_args)
        self.act = UrlPattern("queues.act", "tracking_number")
        self.act_here = UrlPattern("queues.act", "tracking_number", **filter_args)

    def for_number(self, number: str) -> RowUrls:
        return RowUrls(self.page(number), self.beside(number), self.act(number), self.act_here(number))


@functools.lru_cache(maxsize=1024)
def _links(script_root: str, department_code: str, filter_args: tuple) -> QueueRowLinks:
    """url_for's answers depend on the endpoint, its arguments in their order and the root the application is
    served under, nothing else (the app sets no URL defaults)."""
    return QueueRowLinks(department_code, dict(filter_args))


def queue_row_links(department_code: str, filter_args: dict) -> QueueRowLinks:
    """The links of the queue rows of a page of `department_code`'s queue shown with `filter_args`."""
    return _links(request.script_root, department_code, tuple(filter_args.items()))
