"""The message template editor's forms: the wording (checked by wording.problems) and the reset confirmation."""
from intranet.i18n import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import InputRequired

from intranet.notify import wording


class TemplateForm(FlaskForm):
    subject = StringField(_l("Subject"))
    body = TextAreaField(_l("Message"))

    def check(self, event: str, channel: str) -> bool:
        """The placeholder and length rules, each error put next to its field; True when it may be saved."""
        errors = wording.problems(event, channel, self.subject.data if channel == "email" else "",
                                    self.body.data or "")
        for field, message in errors:
            getattr(self, field).errors = [*getattr(self, field).errors, message]
        return not errors


class ResetForm(FlaskForm):
    confirm = BooleanField(_l("Yes, replace the saved wording with the default"),
                           validators=[InputRequired(message=_l("Tick the box to confirm the reset."))])
