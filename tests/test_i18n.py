"""Languages: every text in the code is translated to Arabic; Arabic folding for search."""
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from flask_babel import ngettext

from intranet.i18n import normalize_arabic

ROOT = Path(__file__).resolve().parent.parent


def _extracted():
    found = set()
    for folder, method in (("intranet", "python"), ("jobs", "python"), ("templates", "jinja2")):
        for _file, _line, message, _comments, _context in extract_from_dir(
                ROOT / folder, method_map=[("**.py" if method == "python" else "**.html", method)],
                keywords={"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_message_has_an_arabic_translation():
    with open(ROOT / "intranet/translations/ar/LC_MESSAGES/messages.po", "rb") as handle:
        catalogue = read_po(handle, locale="ar")
    translated = {(m.id[0] if isinstance(m.id, tuple) else m.id) for m in catalogue
                  if m.id and (all(m.string) if isinstance(m.string, tuple) else m.string) and not m.fuzzy}
    missing = sorted(_extracted() - translated)
    assert not missing, f"untranslated (run make translations, then translate): {missing}"


@pytest.mark.parametrize("written, searched", [
    ("أحمد", "احمد"), ("مُحَمَّد", "محمد"), ("إبراهيم", "ابراهيم"), ("آمنة", "امنه"), ("مصطفى", "مصطفي"),
    ("عبـــدالله", "عبدالله"), ("  سارة   علي ", "ساره علي"), ("Fatima", "fatima"),
])
def test_arabic_folding(written, searched):
    assert normalize_arabic(written) == normalize_arabic(searched)
    assert normalize_arabic(written) == searched


def test_pages_follow_the_language(auth, client):
    page = client.get("/login").text
    assert '<html lang="ar" dir="rtl">' in page and "تسجيل الدخول" in page



@pytest.mark.parametrize("n, text", [
    (0, "لم يبقَ إلا اليوم"), (1, "بقي يوم واحد"), (2, "بقي يومان"), (3, "بقيت 3 أيام"), (10, "بقيت 10 أيام"),
    (11, "بقي 11 يومًا"), (44, "بقي 44 يومًا"), (100, "بقي 100 يوم"), (102, "بقي 102 يوم"),
])
def test_days_left_in_arabic(app, n, text):
    with app.test_request_context():
        assert ngettext("%(num)d day left", "%(num)d days left", n) == text


def test_the_locale_read_where_flask_babel_keeps_it_is_flask_babels_own(app):
    """i18n.current_locale reads the locale from flask-babel's own place once chosen (issue 21): the same answer as
    get_locale(), inside force_locale (a text in the other language) and after it."""
    from flask_babel import force_locale, get_locale

    from intranet.i18n import current_locale, locale_code

    with app.test_request_context():
        assert current_locale() is get_locale() and locale_code() == "ar"
        with force_locale("en"):
            assert current_locale() is get_locale() and locale_code() == "en"
        assert current_locale() is get_locale() and locale_code() == "ar"
