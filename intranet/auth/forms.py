"""Sign-in and language forms."""
from intranet.i18n import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(_l("Enter your user name.")), Length(max=100)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])
    next = HiddenField()


class LanguageForm(FlaskForm):
    lang = HiddenField()
    next = HiddenField()


class CodeForm(FlaskForm):
    """The second step of a supervisor's or administrator's sign-in (intranet/auth/mfa.py)."""
    code = StringField(_l("Code"), validators=[DataRequired(_l("Enter the code.")), Length(max=40)])
