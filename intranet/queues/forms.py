"""The action form on a request: which action, on which version, why, with which files."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import HiddenField, IntegerField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length

from intranet.workflow import ACTIONS


class ActionForm(FlaskForm):
    action = HiddenField(validators=[AnyOf(list(ACTIONS), message=_l("Unknown action."))])
    version = IntegerField(validators=[InputRequired(_l("The form is incomplete: reload the page."))])
    comment = TextAreaField(_l("Comment"), validators=[Length(max=5000)])
    attachments = MultipleFileField(_l("Attachments (PDF, JPEG or PNG)"))
    view = HiddenField()  # "row": answer with the queue row instead of the request panel
