"""Where a `next` parameter may send the browser: a path on this site, nothing else.

Sign-in, re-authentication and the language switch all redirect to a target the browser supplied; this is the
one rule they share. Browsers are lenient with a Location header (they drop tabs and newlines, read "\\" as "/",
take "//host" and "/\\host" as another site, decode some escapes), so anything a browser might read as another
site, or that cannot be a header at all, is refused whole rather than repaired.
"""
from urllib.parse import unquote, urlsplit

MAX_LENGTH = 2000


def _suspicious(text: str) -> bool:
    """Control characters (tab, CR, LF, NUL, DEL and the C1 range) or a backslash anywhere."""
    return any(ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0 or char == "\\" for char in text)


def _local(text: str) -> bool:
    """A path that starts with exactly one "/" and parses with no scheme and no host."""
    if not text.startswith("/") or text.startswith("//"):
        return False
    parts = urlsplit(text)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None) -> str | None:
    """The target unchanged if it is a local path ("/queues/?x=1"), else None (the caller goes to its default)."""
    if not target or not isinstance(target, str) or len(target) > MAX_LENGTH:
        return None
    if target != target.strip():
        return None
    # the value as given, then each layer of percent-decoding: "/%2F/evil", "/%09/evil", "/%5Cevil", "%0d%0a"
    seen = target
    for _layer in range(4):
        if _suspicious(seen) or not _local(seen):
            return None
        decoded = unquote(seen)
        if decoded == seen:
            return target
        seen = decoded
    return None  # still decoding after several layers: nobody sends that by accident
