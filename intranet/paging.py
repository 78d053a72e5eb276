"""Key-set pagination, one way for every list: never OFFSET.

A page is read by its key: the rows after the key of the last row shown (`after`), in the key's order, one more
than the page shows so that the page knows whether another follows. `page` returns the rows and the key of the
next page (the last row shown), or None on the last page; a template hands it to the pager macro
(`templates/_macros.html`), which puts it in the "next page" link.

A key is one column (`Payout.id`) or several (`(Request.due_at, Request.id)`): several are compared in order
(`a > x OR (a = x AND b > y)`), the form the indexes of the queues and lists are read by. An `after` that names
nothing readable (None, a value of the wrong kind, an id out of range) is the first page: a URL never gives an
error page.
"""
import datetime as dt
from functools import reduce
from operator import or_

from peewee import AutoField, BigIntegerField, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from intranet.params import to_id, to_int


def page(query, key, after=None, size: int = 25, descending: bool = False, next_key=None):
    """One page of `query` by `key` and the key of the next page (None on the last).

    `key` is a field or a tuple of fields (the list's order, the last one unique); `after` the key of the last row
    shown (a tuple for a tuple of fields), None for the first page; `descending` reads the newest first.
    `next_key(row)` says what the next page's `after` is when it is not the key's values on the row (an id the
    caller looks the row up by, or a text cursor). The query keeps its own conditions; its ORDER BY is the key's."""
    fields = key if isinstance(key, tuple) else (key,)
    values = _readable(fields, after if isinstance(key, tuple) else (after,))
    if values is not None:
        query = query.where(beyond(fields, values, descending))
    order = [field.desc() for field in fields] if descending else list(fields)
    rows = list(query.order_by(*order).limit(size + 1))
    return cut(rows, size, next_key or (lambda row: _key_of(row, fields, isinstance(key, tuple))))


def cut(rows: list, size: int, key_of) -> tuple[list, object]:
    """The first `size` of `rows` (read one over the page) and the key of the last one shown when more follow."""
    if len(rows) > size:
        return rows[:size], key_of(rows[size - 1])
    return rows, None


def beyond(fields, values, descending: bool = False):
    """The rows after `values` in the order of `fields`: (a > x) OR (a = x AND b > y) ..., `<` when descending."""
    conditions = []
    for n, (field, value) in enumerate(zip(fields, values)):
        step = field < value if descending else field > value
        for earlier, same in zip(fields[:n], values[:n]):
            step = (earlier == same) & step
        conditions.append(step)
    return reduce(or_, conditions)


def _readable(fields, values):
    """The `after` values, or None (the first page) when they are missing or one of them is not of its column."""
    if not isinstance(values, (tuple, list)) or len(values) != len(fields):
        return None
    checked = tuple(_value(field, value) for field, value in zip(fields, values))
    return None if any(value is None for value in checked) else checked


def _value(field, value):
    """`value` as a value of `field`'s column, or None: an id within the ids' range, an integer within the
    column's, a date and time, a text; anything else is no key (and never reaches the database)."""
    if isinstance(field, (AutoField, ForeignKeyField)):
        return to_id(value)
    if isinstance(field, BigIntegerField):
        return to_int(value, minimum=-2**63, maximum=2**63 - 1)
    if isinstance(field, IntegerField):
        return to_int(value, minimum=-2**31, maximum=2**31 - 1)
    if isinstance(field, DateTimeField):
        return value if isinstance(value, dt.datetime) else None
    if isinstance(field, (CharField, TextField)):
        return value if isinstance(value, str) and "\x00" not in value else None
    return value


def _key_of(row, fields, compound: bool):
    """The key's values on a row (a model or a dict); a foreign key's id, never the row it names."""
    values = tuple(row[field.name] if isinstance(row, dict)
                   else getattr(row, field.object_id_name if isinstance(field, ForeignKeyField) else field.name)
                   for field in fields)
    return values if compound else values[0]
