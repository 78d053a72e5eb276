"""Attachment storage: outside the web root, under generated names, with size and content-type limits."""
import hashlib
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import filetype
from flask import current_app
from intranet.i18n import gettext as _

from intranet.validation import strip_bidi


class UploadRefused(ValueError):
    """An upload that breaks a limit; the message says which, in the person's language."""


@dataclass
class StoredFile:
    original_name: str
    stored_name: str
    content_type: str
    size: int
    sha256: str


def _directory() -> Path:
    path = Path(current_app.config["ATTACHMENT_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def _display_name(name: str) -> str:
    """Keep only the last path component of what the browser sent; it is shown, never used as a path."""
    name = strip_bidi(name).replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:255] or "file"


def check_upload(upload) -> tuple[bytes, str]:
    """Read an upload and decide its type from its content; refuse what is too big or not allowed."""
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    content = upload.stream.read(limit + 1)
    if len(content) > limit:
        raise UploadRefused(_("%(name)s is larger than %(mb)s MB.", name=_display_name(upload.filename),
                              mb=limit // (1024 * 1024)))
    if not content:
        raise UploadRefused(_("%(name)s is empty.", name=_display_name(upload.filename)))
    kind = filetype.guess(content)
    if kind is None or kind.mime not in current_app.config["ATTACHMENT_TYPES"]:
        raise UploadRefused(_("%(name)s is not a PDF, JPEG or PNG file.", name=_display_name(upload.filename)))
    return content, kind.mime


def store_all(uploads) -> list[StoredFile]:
    """Check every upload first, then write them all: one refused file means none is kept."""
    checked = [(upload, *check_upload(upload)) for upload in uploads if upload and upload.filename]
    stored = []
    for upload, content, mime in checked:
        stored_name = secrets.token_hex(16)
        (_directory() / stored_name).write_bytes(content)
        stored.append(StoredFile(_display_name(upload.filename), stored_name, mime, len(content),
                                 hashlib.sha256(content).hexdigest()))
    return stored


def path_of(stored_name: str) -> Path:
    return _directory() / stored_name


def discard(files: list[StoredFile]):
    """Remove files written for a transaction that did not commit."""
    for item in files:
        path_of(item.stored_name).unlink(missing_ok=True)


def sweep_orphans(older_than_seconds: int) -> int:
    """Remove stored files no Attachment row names, once they are old enough not to be mid-transaction."""
    from intranet.models import Attachment

    cutoff = time.time() - older_than_seconds
    removed = 0
    for path in _directory().iterdir():
        if path.is_file() and path.stat().st_mtime < cutoff:
            if not Attachment.select().where(Attachment.stored_name == path.name).exists():
                path.unlink(missing_ok=True)
                removed += 1
    return removed
