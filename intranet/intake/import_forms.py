"""Import pages: the upload form, the confirm-import form, and the labels shown instead of status codes."""
from intranet.i18n import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired

IMPORT_STATUS_LABELS = {
    "previewed": _l("Checked, waiting for your confirmation"),
    "queued": _l("Waiting to start"),
    "running": _l("Importing"),
    "done": _l("Imported"),
    "failed": _l("Stopped: the file could not be read"),
}


class UploadForm(FlaskForm):
    file = FileField(_l("File of electronic requests (CSV UTF-8 or XLSX)"),
                     validators=[FileRequired(_l("Choose the file to check."))])


class RunForm(FlaskForm):
    """Only the CSRF token: the batch is in the address."""
