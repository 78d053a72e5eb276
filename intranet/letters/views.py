"""Letters to ministries: writing, sending and answering a request's letter (from its panel), the printed letter,
and the list of letters awaiting a reply past their day."""
from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from intranet.i18n import gettext as _
from flask_login import current_user, login_required

from intranet import downloads, params, workflow
from intranet.auth import permissions
from intranet.htmx import render
from intranet.letters import printing, service
from intranet.models.letters import MinistryLetter
from intranet.queues import services as queue_services

bp = Blueprint("letters", __name__)


@bp.before_request
@login_required
def signed_in_only():
    """Every page here needs a signed-in person; each view checks the object itself."""


@bp.route("/letters/")
def index():
    """Letters sent whose reply was due before today, oldest due first, by ministry and department."""
    if not permissions.can_see_letters(current_user):
        abort(403)
    ministry = params.arg_text("ministry")
    department = params.arg_id("department")
    rows, next_after = service.awaiting_reply(current_user, ministry=ministry, department_id=department,
                                              after=params.arg_id("after"),
                                              size=current_app.config["QUEUE_PAGE_SIZE"])
    return render("letters/index.html", rows=rows, next_after=next_after, ministry=ministry, department=department,
                  ministries=service.ministries_awaiting(current_user),
                  departments=service.departments_for_filter(current_user))


def _request_or_abort(tracking_number):
    req = queue_services.find_request(tracking_number) or abort(404)
    if not permissions.can_view(current_user, req) or service.panel(req, current_user) is None:
        abort(404 if permissions.can_view(current_user, req) else 403)
    return req


def _done(req, message):
    """Back to the request: a plain form follows the redirect to the page, htmx swaps the panel from it."""
    flash(message, "success")
    queue = params.to_text(request.form.get("queue"), max_length=40) or None
    return redirect(url_for("queues.request_page", tracking_number=req.tracking_number, queue=queue), 303)


def _act(req, do, message):
    try:
        do()
    except workflow.NotAllowed as refused:
        abort(403, refused.message)
    except workflow.StaleRequest as stale:
        abort(409, stale.message)
    except workflow.WorkflowError as refused:
        abort(400, refused.message)
    return _done(req, message)


@bp.route("/letters/requests/<tracking_number>/draft", methods=["POST"])
def draft(tracking_number):
    """Save the letter's text (a draft until it is sent)."""
    req = _request_or_abort(tracking_number)
    form = request.form
    version = params.to_int(form.get("version"), minimum=1, maximum=2**31 - 1)
    return _act(req, lambda: workflow.draft_letter(current_user, req, version, form.get("ministry"),
                                                   form.get("subject"), form.get("body")),
                _("The letter is saved."))


@bp.route("/letters/requests/<tracking_number>/send", methods=["POST"])
def send(tracking_number):
    """Mark the letter sent today: it gets its outgoing reference."""
    req = _request_or_abort(tracking_number)
    form = request.form
    raw_due = params.to_text(form.get("reply_due"), max_length=20)
    reply_due = params.to_date(raw_due)
    if raw_due and reply_due is None:
        abort(400, _("Give the day the reply is awaited as a date."))
    version = params.to_int(form.get("version"), minimum=1, maximum=2**31 - 1)
    if version is None:
        abort(400, _("The form is incomplete: reload the page and try again."))
    return _act(req, lambda: workflow.send_letter(current_user, req, version, reply_due),
                _("The letter is marked sent."))


@bp.route("/letters/requests/<tracking_number>/replies", methods=["POST"])
def reply(tracking_number):
    """Record the ministry's reply, with its scan if given."""
    req = _request_or_abort(tracking_number)
    form = request.form
    upload = request.files.get("attachment")
    received_on = params.to_date(params.to_text(form.get("received_on"), max_length=20))
    return _act(req, lambda: workflow.record_letter_reply(current_user, req, received_on, form.get("reference"),
                                                          form.get("summary"), upload if upload else None),
                _("The ministry's reply is recorded."))


@bp.route("/letters/<int:letter_id>/letter.pdf")
def letter_pdf(letter_id):
    """The letter, printed: a PDF in Arabic, or in English when asked (?lang=en)."""
    letter = MinistryLetter.get_or_none(MinistryLetter.id == letter_id) or abort(404)
    req = queue_services.find_request(letter.request.tracking_number) or abort(404)
    if not permissions.can_view(current_user, req):
        abort(403)
    language = params.arg_choice("lang", printing.LANGUAGES, "ar")
    return downloads.download(printing.render_pdf(letter, language), "pdf", printing.filename(letter, language),
                              inline=True)
