"""Administrators' editor of the citizens' (and staff's) message wording: the overview, the edit page with its
live preview (length, encoding and SMS segments), save and reset."""
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from intranet.i18n import gettext as _
from flask_login import current_user

from intranet.auth import guard, permissions
from intranet.models import Staff
from intranet.notify import wording
from intranet.notify.wording_forms import ResetForm, TemplateForm

bp = Blueprint("wording", __name__, url_prefix="/admin/messages")


guard.only(bp, permissions.can_edit_message_templates)


def _key_or_404(event, channel, language) -> tuple[str, str, str]:
    key = (event, channel, language)
    return key if key in wording.DEFAULTS else abort(404)


def _preview(key, subject: str, body: str, errors) -> dict:
    """What the preview shows: the wording filled in with sample values, and for an SMS its length in parts."""
    event, channel, language = key
    subject_parts, body_parts = wording.parse(subject)[0], wording.parse(body)[0]
    # an unknown placeholder stays visible as typed, where a real message would leave it empty
    context = {part[0]: "{%s}" % part[0] for part in subject_parts + body_parts if isinstance(part, tuple)}
    context.update(wording.sample_context(event, language))
    shown_subject = wording.render(subject_parts, context) if channel == "email" else ""
    shown_body = wording.render(body_parts, context)
    return {"subject": shown_subject, "body": shown_body, "errors": list(errors), "key": key,
            "sms": wording.sms_info(shown_body) if channel == "sms" else None}


def _edit_page(key, form, reset_form=None, status=200):
    saved = wording.saved(*key)
    editor = Staff.get_or_none(Staff.id == saved.updated_by_id) if saved and saved.updated_by_id else None
    errors = [*form.subject.errors, *form.body.errors]
    return render_template(
        "message_templates/edit.html", key=key, form=form, reset_form=reset_form or ResetForm(formdata=None),
        saved=saved, editor=editor, samples=wording.sample_context(key[0], key[2]),
        required=wording.REQUIRED[key[0]], preview=_preview(key, form.subject.data or "", form.body.data or "",
                                                               errors)), status


@bp.get("/")
def index():
    """Every event's wording per channel and language, and whether an administrator changed it."""
    customised = wording.customised()
    editors = {staff.id: staff for staff in Staff.select().where(
        Staff.id.in_([row.updated_by_id for row in customised.values() if row.updated_by_id]))}
    return render_template("message_templates/index.html", keys=list(wording.DEFAULTS), customised=customised,
                           editors=editors)


@bp.get("/<event>/<channel>/<language>")
def edit(event, channel, language):
    """The wording in force, its allowed placeholders and a live preview."""
    key = _key_or_404(event, channel, language)
    subject, body = wording.current(*key)
    return _edit_page(key, TemplateForm(formdata=None, data={"subject": subject, "body": body}))


@bp.post("/<event>/<channel>/<language>")
def save(event, channel, language):
    """Save the wording; with errors, nothing is saved and they are shown beside the fields."""
    key = _key_or_404(event, channel, language)
    form = TemplateForm()
    if not (form.validate_on_submit() and form.check(event, channel)):
        return _edit_page(key, form, status=422)
    wording.save(current_user, *key, form.subject.data, form.body.data)
    flash(_("The wording was saved. New messages use it from now on."), "info")
    return redirect(url_for("wording.edit", event=event, channel=channel, language=language), 303)


@bp.post("/<event>/<channel>/<language>/preview")
def preview(event, channel, language):
    """The preview fragment for the wording being typed (errors included, nothing saved)."""
    key = _key_or_404(event, channel, language)
    form = TemplateForm()  # the CSRF token was checked by CSRFProtect before the view
    form.check(event, channel)
    errors = [*form.subject.errors, *form.body.errors]
    return render_template("message_templates/_preview.html", preview=_preview(
        key, form.subject.data or "", form.body.data or "", errors), oob=True)


@bp.post("/<event>/<channel>/<language>/reset")
def reset(event, channel, language):
    """Back to the default wording, once the administrator has ticked the confirmation."""
    key = _key_or_404(event, channel, language)
    reset_form = ResetForm()
    if not reset_form.validate_on_submit():
        subject, body = wording.current(*key)
        form = TemplateForm(formdata=None, data={"subject": subject, "body": body})
        return _edit_page(key, form, reset_form, status=422)
    wording.reset(current_user, *key)
    flash(_("The default wording is back in use."), "info")
    return redirect(url_for("wording.edit", event=event, channel=channel, language=language), 303)
