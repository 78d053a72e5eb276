"""Forms on queue pages and requests: the action form, reassignment."""
from intranet.i18n import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import HiddenField, IntegerField, SelectField, SelectMultipleField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length

from intranet.workflow import ACTIONS


class ActionForm(FlaskForm):
    action = HiddenField(validators=[AnyOf(list(ACTIONS), message=_l("Unknown action."))])
    version = IntegerField(validators=[InputRequired(_l("The form is incomplete: reload the page."))])
    comment = TextAreaField(_l("Comment"), validators=[Length(max=5000)])
    missing = SelectMultipleField(_l("What is missing"), validate_choice=True, choices=[])
    attachments = MultipleFileField(_l("Attachments (PDF, JPEG or PNG)"))
    view = HiddenField()  # "row": answer with the queue row instead of the request panel
    queue = HiddenField()  # the queue page the panel sits in: its row and counts are updated too


class AssignForm(FlaskForm):
    request_ids = SelectMultipleField(coerce=int, validate_choice=False,
                                      validators=[DataRequired(_l("Select the requests to reassign."))])
    clerk = SelectField(_l("Reassign to"), coerce=int, validate_choice=True)
