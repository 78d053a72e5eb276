"""Finding people and requests as people type them: compound names written apart or together (عبد الله /
عبدالله), on SQLite FTS5 and PostgreSQL's tsvector alike, existing rows reindexed by migration 0015; a tracking
number with or without its dashes, in Arabic-Indic or Persian digits, or copied with its direction marks, in the
queue search and in the reception's lookup."""
import importlib

import pytest

from intranet.db import database
from intranet.i18n import name_words, search_text
from intranet.models import Citizen, Department
from intranet.queues import services
from intranet.queues.filters import QueueFilters
from tests.factories import make_citizen, make_request, make_staff

ABDULLAH = "خالد عبد الله السليطي"
ABDULRAHMAN = "مريم عبدالرحمن الكبيسي"
OTHER = "سالم علي المري"
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


@pytest.fixture
def people(ctx):
    desk = make_staff("desk", "reception", "reception")
    made = {name: make_request("health_care", actor=desk, citizen=make_citizen(full_name=name))
            for name in (ABDULLAH, ABDULRAHMAN, OTHER)}
    return {"clerk": make_staff("h1", "clerk", "health"), "requests": made}


def found(people, typed):
    rows, _ = services.queue_page(Department.get(Department.code == "health"), QueueFilters.from_args({"q": typed}),
                                  people["clerk"])
    return {row.citizen.full_name for row in rows}


def test_compound_heads_join_the_next_word():
    assert name_words("عبد الله") == name_words("عبدالله") == ["عبدالله"]
    assert name_words("أبو بكر الصديق") == ["ابوبكر", "الصديق"]
    assert "رحمن" in search_text("عبد الرحمن").split() and "صديق" in search_text("أبو بكر الصديق").split()
    assert len(search_text(" ".join(["عبد الرحمن"] * 40))) <= 200  # never wider than the column


@pytest.mark.parametrize("typed, names", [
    ("عبد الله", {ABDULLAH}), ("عبدالله", {ABDULLAH}), ("عبدُ اللهِ", {ABDULLAH}), ("عبد الل", {ABDULLAH}),
    ("عبد الرحمن", {ABDULRAHMAN}), ("عبدالرحمن الكبيسي", {ABDULRAHMAN}), ("الرحمن", {ABDULRAHMAN}),
    ("عبد", {ABDULLAH, ABDULRAHMAN}), ("خالد عبدالله", {ABDULLAH}), ("سليطي", {ABDULLAH}),
])
def test_compound_names_either_way(people, typed, names):
    assert found(people, typed) == names


def test_migration_reindexes_names_written_before(people):
    """Rows indexed by the old rule (each word apart) are found both ways once 0015 has run."""
    old = make_citizen(full_name="نورة عبد العزيز المهندي", name_search="نوره عبد العزيز المهندي عزيز مهندي")
    make_request("health_care", citizen=old)
    assert found(people, "عبدالعزيز") == set()
    importlib.import_module("intranet.migrations.0015_compound_names").up(database.obj)
    assert Citizen.get_by_id(old.id).name_search == search_text(old.full_name)
    assert found(people, "عبدالعزيز") == found(people, "عبد العزيز") == {old.full_name}


def _spellings(number: str) -> list[str]:
    digits = number.replace("-", "")
    return [number, digits, number.translate(ARABIC_INDIC), digits.translate(PERSIAN), number.replace("-", "–"),
            f" {number.replace('-', ' ')} ", f"\u2066{number}\u2069", f"\u200f{digits.translate(ARABIC_INDIC)}"]


def test_tracking_number_in_any_spelling_in_the_queue(people):
    number = people["requests"][ABDULLAH].tracking_number
    for typed in _spellings(number):
        assert found(people, typed) == {ABDULLAH}, typed


def test_tracking_number_in_any_spelling_at_the_reception(people, auth, client):
    req = people["requests"][ABDULRAHMAN]
    auth.login("reception1")
    for typed in _spellings(req.tracking_number):
        page = client.get("/reception/", query_string={"q": typed})
        assert page.status_code == 200, typed
        assert ABDULRAHMAN in page.text and OTHER not in page.text and ABDULLAH not in page.text, typed
        assert f'href="/requests/{req.tracking_number}"' in page.text, typed
