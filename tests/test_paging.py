"""The one key-set pager (intranet/paging.py) on both databases: ascending and descending, a list that is an exact
multiple of the page, an empty list, compound keys with ties, and an `after` that names nothing readable."""
import datetime as dt

import pytest

from intranet import paging
from intranet.models.sessions import SecurityEvent

pytestmark = pytest.mark.usefixtures("ctx")


def _events(count, kind="seen", created_at=None):
    return [SecurityEvent.create(kind=kind, created_at=created_at or dt.datetime(2025, 1, 1)).id
            for _ in range(count)]


def _walk(query, key, size, descending=False, **options):
    """Every page from the first, following `next_after`: the ids of each page."""
    pages, after = [], None
    while True:
        rows, after = paging.page(query, key, after, size, descending, **options)
        pages.append([row["id"] if isinstance(row, dict) else row.id for row in rows])
        if after is None:
            return pages
        assert len(pages) < 50, "the pager went round in a circle"


def test_ascending_pages_follow_one_another_and_the_last_says_so():
    ids = _events(7)
    assert _walk(SecurityEvent.select(), SecurityEvent.id, 3) == [ids[0:3], ids[3:6], ids[6:7]]
    rows, after = paging.page(SecurityEvent.select(), SecurityEvent.id, None, 3)
    assert [r.id for r in rows] == ids[:3] and after == ids[2]  # the key of the last row shown


def test_descending_pages_read_the_newest_first():
    ids = _events(5)
    assert _walk(SecurityEvent.select(), SecurityEvent.id, 2, descending=True) == [
        ids[4:2:-1], ids[2:0:-1], ids[0:1]]
    rows, after = paging.page(SecurityEvent.select(), SecurityEvent.id, ids[3], 10, descending=True)
    assert [r.id for r in rows] == [ids[2], ids[1], ids[0]] and after is None


def test_an_exact_multiple_of_the_page_ends_without_an_empty_page():
    ids = _events(6)
    assert _walk(SecurityEvent.select(), SecurityEvent.id, 3) == [ids[0:3], ids[3:6]]
    rows, after = paging.page(SecurityEvent.select(), SecurityEvent.id, ids[2], 3)
    assert [r.id for r in rows] == ids[3:6] and after is None


def test_an_empty_list_is_one_empty_page():
    assert paging.page(SecurityEvent.select(), SecurityEvent.id, None, 3) == ([], None)
    assert paging.page(SecurityEvent.select(), SecurityEvent.id, 5, 3, descending=True) == ([], None)
    ids = _events(2)
    assert paging.page(SecurityEvent.select(), SecurityEvent.id, ids[-1], 3) == ([], None)  # past the end


@pytest.mark.parametrize("after", [None, "", "abc", "1 OR 1=1", "2;DROP TABLE x", -1, 0, 2**31, 10**30, True, 1.5,
                                   "٣", "\x00", [1], (1,)])
def test_an_after_that_names_no_id_is_the_first_page(after):
    """Bigger than the ids' column (PostgreSQL would refuse it), negative, not a number, not even a string: the first
    page, never a database error."""
    ids = _events(4)
    rows, next_after = paging.page(SecurityEvent.select(), SecurityEvent.id, after, 3)
    assert [r.id for r in rows] == ids[:3] and next_after == ids[2]


def test_an_after_of_the_wrong_kind_for_a_compound_key_is_the_first_page():
    ids = _events(3)
    key = (SecurityEvent.created_at, SecurityEvent.id)
    for after in ("2025-01-01~1", ("2025-01-01", ids[0]), (dt.datetime(2025, 1, 1),), (dt.datetime(2025, 1, 1), "x"),
                  (None, ids[0]), 7):
        rows, _ = paging.page(SecurityEvent.select(), key, after, 5)
        assert [r.id for r in rows] == ids, after


def test_a_compound_key_breaks_ties_by_the_last_field_both_ways():
    """Rows that share the first field are neither repeated nor skipped across pages."""
    early, late = dt.datetime(2025, 1, 1, 8), dt.datetime(2025, 1, 1, 9)
    a = _events(3, created_at=late)
    b = _events(4, created_at=early)
    key = (SecurityEvent.created_at, SecurityEvent.id)
    assert _walk(SecurityEvent.select(), key, 2) == [b[0:2], b[2:4], a[0:2], a[2:3]]
    assert _walk(SecurityEvent.select(), key, 3, descending=True) == [a[::-1], b[:0:-1], b[0:1]]
    rows, after = paging.page(SecurityEvent.select(), key, None, 2)
    assert after == (early, b[1])  # the key's values of the last row shown


def test_a_compound_key_compares_field_by_field_as_the_indexes_are_read():
    """`a > x OR (a = x AND b > y)`: the form the queue's (due_at, id) index is walked by, on both databases."""
    condition = paging.beyond((SecurityEvent.created_at, SecurityEvent.id), (dt.datetime(2025, 1, 1), 5), True)
    sql, params = SecurityEvent.select(SecurityEvent.id).where(condition).sql()
    where = sql.split("WHERE", 1)[1]
    assert where.count(" OR ") == 1 and where.count(" AND ") == 1 and where.count("<") == 2
    assert len(params) == 3 and params[2] == 5


def test_the_query_keeps_its_conditions_and_the_next_key_can_be_anything():
    seen = _events(3, kind="seen")
    _events(3, kind="other")
    query = SecurityEvent.select().where(SecurityEvent.kind == "seen").order_by(SecurityEvent.kind)  # replaced
    assert _walk(query, SecurityEvent.id, 2) == [seen[0:2], seen[2:3]]
    rows, after = paging.page(query, SecurityEvent.id, None, 2, next_key=lambda row: f"key-{row.id}")
    assert after == f"key-{seen[1]}"
    dicts = SecurityEvent.select(SecurityEvent.id, SecurityEvent.kind).where(SecurityEvent.kind == "seen").dicts()
    assert _walk(dicts, SecurityEvent.id, 2, descending=True) == [seen[:0:-1], seen[0:1]]


def test_a_list_in_memory_is_cut_the_same_way():
    rows = [{"row": n} for n in (2, 5, 9, 11)]
    assert paging.cut(rows, 3, lambda r: r["row"]) == (rows[:3], 9)
    assert paging.cut(rows, 4, lambda r: r["row"]) == (rows, None)
    assert paging.cut([], 4, lambda r: r["row"]) == ([], None)
