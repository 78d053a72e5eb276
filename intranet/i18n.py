"""Language: locale selection, text direction, localised names, left-to-right values inside right-to-left text,
and Arabic folding for search."""
import re

from babel.numbers import format_decimal
from flask import current_app, session
from flask_babel import Babel, force_locale, get_locale, get_translations
from flask_babel.speaklater import LazyString
from markupsafe import Markup, escape

from intranet import context

babel = Babel()


# --- texts: flask-babel's gettext, ngettext and lazy_gettext, with the translations found once a request -----------

def translations():
    """flask-babel's translations for the locale in force, found once a request and locale: looking them up cost more
    than looking up a text in them, and a page looks up some fifty (issue 21). A new locale (force_locale) finds its
    own."""
    here = context.g()
    if here is None:  # outside an app context: flask-babel's own answer (no translations)
        return get_translations()
    locale, kept = current_locale(), here.__dict__
    held = kept.get("_diwan_translations")
    if held is None or held[0] is not locale:
        held = kept["_diwan_translations"] = (locale, get_translations())
    return held[1]


def gettext(string: str, **variables) -> str:
    """flask_babel.gettext, the same text: each of flask-babel's own asked the request proxy for its domain and
    translations again (some ten attribute look-ups through werkzeug's proxies, each raising and catching an
    AttributeError inside); a page shows some fifty texts from Python (labels, messages) (issue 21)."""
    text = translations().ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num, **variables) -> str:
    """flask_babel.ngettext, the same text (`num` is also %(num)s), with `translations`."""
    variables.setdefault("num", num)
    return translations().ungettext(singular, plural, num) % variables


def lazy_gettext(string: str, **variables) -> LazyString:
    """flask_babel.lazy_gettext (the same LazyString), translated by `gettext` when shown."""
    return LazyString(gettext, string, **variables)


_, _l = gettext, lazy_gettext

_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي"})
_SPACES = re.compile(r"\s+")


def normalize_arabic(text: str) -> str:
    """Fold a name for search: strip diacritics and tatweel, unify alef/hamza forms, taa marbuta, alef maqsura."""
    return _SPACES.sub(" ", _DIACRITICS.sub("", text or "").translate(_FOLD)).strip().casefold()


_WORD = re.compile(r"\w+", re.UNICODE)
# the first half of compound names, written apart or together: عبد الله / عبدالله, أبو بكر / أبوبكر
_COMPOUND_HEADS = ("عبد", "ابو")
SEARCH_TEXT_LENGTH = 200  # the column's width


def name_words(text: str) -> list[str]:
    """A name as the words search compares, for indexing and for what is typed alike: folded, and a compound's
    head joined to the word after it (عبد الله -> عبدالله), so either spelling finds the other."""
    words, joined = _WORD.findall(normalize_arabic(text)), []
    for word in words:
        if joined and joined[-1] in _COMPOUND_HEADS:
            joined[-1] += word
        else:
            joined.append(word)
    return joined


def search_text(name: str) -> str:
    """What name search indexes: the name's words (name_words), plus each word that starts with the article
    "ال" or a compound's head once more without it, so that typing كواري finds الكواري and رحمن finds
    عبد الرحمن; cut at a word's end to fit the column."""
    words = name_words(name)
    extra = []
    for word in words:
        stripped = word
        for head in _COMPOUND_HEADS:
            if word.startswith(head) and len(word) > len(head) + 1:
                stripped = word[len(head):]
                extra.append(stripped)
                break
        if stripped.startswith("ال") and len(stripped) > 4:
            extra.append(stripped[2:])
    text = ""
    for word in words + [word for word in dict.fromkeys(extra) if word not in words]:
        if len(text) + len(word) + 1 > SEARCH_TEXT_LENGTH:
            break
        text = f"{text} {word}" if text else word
    return text


# --- left-to-right values (tracking numbers, national IDs, phones, IBANs, amounts) in right-to-left text ----
LRI, PDI = "\u2066", "\u2069"  # Unicode's left-to-right isolate and its end (UAX #9)
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur"})


def ltr(value, language: str | None = None) -> str:
    """A left-to-right value for plain text (a flash, an SMS, an e-mail) in `language` (default: the page's):
    isolated with LRI ... PDI in a right-to-left language, so "26-0001720-2" never reads 2-0001720-26 and
    "+974 •••• 3456" never reads 3456 •••• 974+; unchanged in a left-to-right one (no cost for an English SMS,
    which would otherwise leave GSM-7)."""
    text = "" if value is None else str(value)
    if not text or (language or (locale_code() if current_locale() else "")) not in RTL_LANGUAGES:
        return text
    return f"{LRI}{text}{PDI}"


def ltr_html(value) -> Markup:
    """The same for HTML (the `ltr` filter): an inline <bdi dir="ltr"> that stays beside its label."""
    if value is None or value == "":
        return Markup("")
    return Markup('<bdi dir="ltr" class="ltr">%s</bdi>') % value


def arrow() -> str:
    """The "moved on to" arrow, pointing the way the page reads."""
    return "←" if text_direction() == "rtl" else "→"


def comma() -> str:
    """The comma between two parts of a phrase, the Arabic one on Arabic pages."""
    return "، " if text_direction() == "rtl" else ", "


def iban_grouped(value) -> str:
    """An IBAN in groups of four, as printed on bank cards (QA58 DOHB 0000 ...); as given when it is not one."""
    if not value:
        return ""
    from schwifty import IBAN
    from schwifty.exceptions import SchwiftyException

    compact = "".join(str(value).split()).upper()
    try:
        return IBAN(compact).formatted
    except SchwiftyException:
        return " ".join(compact[at:at + 4] for at in range(0, len(compact), 4))


def file_size(size) -> Markup:
    """A file's size in the page's language: Babel's number, a translated unit, the number isolated (never
    "(KB 0.3)" on an Arabic page)."""
    size = max(0, int(size or 0))
    units = ((1024 ** 3, _("%(size)s GB")), (1024 ** 2, _("%(size)s MB")), (1024, _("%(size)s KB")))
    pattern, number = _("%(size)s bytes"), format_decimal(size, locale=get_locale())
    for factor, unit in units:
        if size >= factor:
            pattern, number = unit, format_decimal(size / factor, format="#,##0.#", locale=get_locale())
            break
    return escape(pattern).replace("%(size)s", ltr_html(number))


def select_locale() -> str:
    asked, config = context.request(), context.app().config  # (not werkzeug's proxies: intranet/context.py)
    if asked is not None and asked.path.startswith("/api/"):  # machines say which language they want; English by default
        return asked.accept_languages.best_match(config["LANGUAGES"]) or "en"
    chosen = session.get("lang")
    if chosen in config["LANGUAGES"]:
        return chosen
    return config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["TIMEZONE"]


def current_locale():
    """flask-babel's locale in force (get_locale(); None outside an app context), read where flask-babel keeps it
    once chosen, on the app context's `g` (flask-babel 4; force_locale sets it there too). A page asks some
    hundred times (each text, name and kept piece): get_locale's own way there cost a queue page 0.2 ms (issue 21).
    Before it is chosen, or anywhere else, get_locale() itself."""
    here = context.g()
    state = here.__dict__.get("_flask_babel") if here is not None else None
    return getattr(state, "babel_locale", None) or get_locale()


def locale_code() -> str:
    return str(current_locale().language)


LANGUAGE_LABELS = {"ar": _l("Arabic"), "en": _l("English")}  # the two working languages, by name


def text_direction() -> str:
    return current_locale().text_direction


def localized(obj) -> str:
    """The name of a Department, Governorate, RequestType or Stage in the current language."""
    return obj.name(locale_code()) if obj is not None else ""


def in_other_language(label) -> tuple[str, str]:
    """(language, text) of a lazy label in the language not shown: visitors read the wall screens in either."""
    other = "en" if locale_code() == "ar" else "ar"
    with force_locale(other):
        return other, str(label)


def init_app(app):
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.globals.update(text_direction=text_direction, locale_code=locale_code, localized=localized,
                                 arrow=arrow, comma=comma)
    app.jinja_env.filters.update(ltr=ltr_html, iban=iban_grouped, filesize=file_size, ltr_text=ltr)
    app.jinja_env.add_extension("jinja2.ext.i18n")
