"""Files handed to the browser, one way: a single, correct media type per kind (Flask adds "; charset=utf-8" to text
types once), the name in Content-Disposition with its UTF-8 form (Werkzeug's send_file), never sniffed into
something else (nosniff), never kept by a shared cache or the browser's back button (no-store)."""
import io

from flask import send_file

MEDIA_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "xml": "application/xml",
    "bin": "application/octet-stream",
    "toml": "application/toml",  # the request types' definitions (issue 20)
}


def _protected(response):
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def download(body: bytes, kind: str, filename: str, inline: bool = False):
    """`body` as a file named `filename` of media type MEDIA_TYPES[kind]; `inline`: shown by the browser (PDFs)."""
    return _protected(send_file(io.BytesIO(body), mimetype=MEDIA_TYPES[kind], as_attachment=not inline,
                                download_name=filename, etag=False, conditional=False))


def download_path(path, media_type: str, filename: str):
    """A file on disk (an attachment, a bank file) as a download; `media_type` as recorded when it was stored."""
    return _protected(send_file(path, mimetype=media_type, as_attachment=True, download_name=filename,
                                conditional=False))
