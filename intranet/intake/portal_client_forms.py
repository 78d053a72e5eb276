"""Portal client pages: the new-client and revoke forms, and the labels the pages show instead of raw codes."""
import secrets
from urllib.parse import urlsplit

from intranet.i18n import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from intranet.models.intake import SCOPES

SCOPE_LABELS = {"bookings:write": _l("Book appointments at reception"),
                "requests:write": _l("Submit requests and inquiries"),
                "requests:read": _l("Read the status and history of requests")}
INBOX_STATUS_LABELS = {
    "received": _l("Received, not yet processed"), "accepted": _l("Accepted"), "replayed": _l("Replayed (sent again)"),
    "rejected": _l("Rejected as invalid"), "duplicate": _l("Duplicate"), "limited": _l("Refused by the rate limit"),
}
DELIVERY_STATUS_LABELS = {"pending": _l("Waiting to be sent"), "sending": _l("Sending"),
                          "delivered": _l("Delivered"), "failed": _l("Failed")}


def http_url(form, field):
    """An absolute http:// or https:// address with a host: where the webhook job will POST."""
    if not field.data:
        return
    try:
        parts = urlsplit(field.data.strip())
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or " " in field.data.strip():
        raise ValidationError(_l("Enter a full web address starting with https:// (or http://)."))
    field.data = field.data.strip()


class ClientForm(FlaskForm):
    # a random value per form shown: the same form sent twice (a reload of the page that shows the token)
    # must not create a second client
    nonce = HiddenField(default=lambda: secrets.token_urlsafe(16))
    name = StringField(_l("Name"), validators=[
        DataRequired(_l("Enter the client's name.")),
        Length(max=200, message=_l("Enter at most 200 characters."))])
    scopes = SelectMultipleField(
        _l("Permissions"), choices=[SelectChoice(scope, SCOPE_LABELS[scope]) for scope in SCOPES], default=list(SCOPES),
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(), validate_choice=True,
        validators=[DataRequired(_l("Choose at least one permission."))])
    webhook_url = StringField(_l("Webhook address (optional)"), validators=[
        Optional(), Length(max=500, message=_l("Enter at most 500 characters.")), http_url])
    rate_per_minute = IntegerField(_l("Requests per minute"), default=600, validators=[
        InputRequired(_l("Enter how many requests per minute the client may send.")),
        NumberRange(min=1, max=100_000, message=_l("Enter a whole number from 1 to 100000."))])
    sign_requests = BooleanField(_l("The client signs its request bodies (HMAC-SHA256)"))


class RevokeForm(FlaskForm):
    confirm = BooleanField(_l("I understand that the client is refused at once and that this cannot be undone."),
                           validators=[DataRequired(_l("Tick the box to confirm the revocation."))])
