"""Reception desk forms: find a citizen, register one, enter a request on their behalf."""
from intranet.i18n import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from intranet.validation import clean_email, clean_iban, clean_name, clean_national_id, clean_phone, field_check


class FindCitizenForm(FlaskForm):
    class Meta:
        csrf = False  # a search changes nothing: a GET form

    national_id = StringField(_l("National ID"), validators=[
        DataRequired(_l("Enter the citizen's national ID.")), field_check(clean_national_id)])


class CitizenDetailsForm(FlaskForm):
    """What the desk may correct on a citizen (the national ID is who they are: not editable)."""
    full_name = StringField(_l("Full name"), validators=[
        DataRequired(_l("Enter the citizen's full name.")), Length(min=5, max=200, message=_l("Enter the full name (5 to 200 characters).")),
        field_check(clean_name)])
    phone = StringField(_l("Mobile number"), validators=[
        DataRequired(_l("Enter the citizen's mobile number.")), field_check(clean_phone)])
    governorate = SelectField(_l("Governorate"), coerce=int, validate_choice=True)
    iban = StringField(_l("IBAN (for payments, optional)"), validators=[Optional(), field_check(clean_iban)])
    email = StringField(_l("E-mail (optional: messages go there too)"), validators=[
        Optional(), Length(max=200), field_check(clean_email)])
    preferred_language = SelectField(_l("Language for messages"), choices=[SelectChoice("ar", "العربية", render_kw={"lang": "ar"}),
                                                                           SelectChoice("en", "English", render_kw={"lang": "en"})])


class CitizenForm(CitizenDetailsForm):
    national_id = StringField(_l("National ID"), validators=[
        DataRequired(_l("Enter the citizen's national ID.")), field_check(clean_national_id)])


class DeskInquiryForm(FlaskForm):
    # what the question is about: it decides the department a routed inquiry goes to (choices: the active subjects)
    subject = SelectField(_l("Subject"), choices=[], default="", validate_choice=True)
    question = TextAreaField(_l("Question"), validators=[
        DataRequired(_l("Write the citizen's question.")), Length(max=2000)])
    answer = TextAreaField(_l("Answer given"), validators=[Length(max=5000)])
