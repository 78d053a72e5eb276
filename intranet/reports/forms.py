"""The archive's form to produce a document on demand, and the labels shown instead of kind codes."""
from intranet.i18n import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, ValidationError

from intranet.i18n import LANGUAGE_LABELS
from intranet.stats import figures as stats

KIND_LABELS = {"daily_summary": _l("Daily summary"), "alert_statement": _l("Alert statement"),
               "execution_statement": _l("Execution statement")}


class ProduceForm(FlaskForm):
    kind = SelectField(_l("Document"), choices=[SelectChoice(k, v) for k, v in KIND_LABELS.items()])
    day = DateField(_l("Day"), validators=[InputRequired(_l("Choose the day, for example 2025-05-13."))])
    language = SelectField(_l("Language"), choices=[SelectChoice(k, v) for k, v in LANGUAGE_LABELS.items()])

    def validate_day(self, field):
        if field.data and field.data > stats.local_today():
            raise ValidationError(_l("Choose today or a day before: a day to come has no figures yet."))
