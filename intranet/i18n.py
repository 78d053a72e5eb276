"""Language: locale selection, text direction, localised names, and Arabic folding for search."""
import re

from flask import current_app, has_request_context, request, session
from flask_babel import Babel, get_locale

babel = Babel()

_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي"})
_SPACES = re.compile(r"\s+")


def normalize_arabic(text: str) -> str:
    """Fold a name for search: strip diacritics and tatweel, unify alef/hamza forms, taa marbuta, alef maqsura."""
    return _SPACES.sub(" ", _DIACRITICS.sub("", text or "").translate(_FOLD)).strip().casefold()


def search_text(name: str) -> str:
    """What name search indexes: the folded name, plus each word that starts with the article "ال" once more
    without it, so that typing كواري (or its beginning) finds الكواري."""
    words = normalize_arabic(name).split()
    bare = [word[2:] for word in words if word.startswith("ال") and len(word) > 4]
    return " ".join(words + bare)


def select_locale() -> str:
    if has_request_context() and request.path.startswith("/api/"):  # machines say which language they want; English by default
        return request.accept_languages.best_match(current_app.config["LANGUAGES"]) or "en"
    chosen = session.get("lang")
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["TIMEZONE"]


def locale_code() -> str:
    return str(get_locale().language)


def text_direction() -> str:
    return get_locale().text_direction


def localized(obj) -> str:
    """The name of a Department, Governorate, RequestType or Stage in the current language."""
    return obj.name(locale_code()) if obj is not None else ""


def init_app(app):
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.globals.update(text_direction=text_direction, locale_code=locale_code, localized=localized)
    app.jinja_env.add_extension("jinja2.ext.i18n")


def safe_next(target: str | None) -> str | None:
    """A redirect target only if it stays on this site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None

