"""Citizens to call: those whose SMS or e-mail could not be delivered, for the reception desk to reach by phone
and record what was said."""
from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import format_datetime
from intranet.i18n import gettext as _
from intranet.i18n import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from intranet import params
from intranet.auth import guard, permissions
from intranet.htmx import render, wants_fragment
from intranet.notify import staff as follow_up

bp = Blueprint("unreachable", __name__, url_prefix="/reception/unreachable")
PAGE_SIZE = 20


class ResolveForm(FlaskForm):
    note = TextAreaField(_l("What was said on the call"), validators=[
        DataRequired(_l("Write what was said on the call: the next person to call reads it.")), Length(max=2000)])
    upto = IntegerField(validators=[InputRequired(_l("The form is incomplete: reload the page.")),
                                  NumberRange(1, params.ID_MAX, _l("The form is incomplete: reload the page."))])


# The reception desk, supervisors and administrators follow up unreachable citizens.
guard.only(bp, permissions.can_follow_up_unreachable)


def _page(status=200, entry=None):
    rows, next_after = follow_up.unreachable_page(params.arg_id("after"), PAGE_SIZE)
    if entry is not None:  # the one being corrected keeps its note and errors, on whichever page it was
        others = [row for row in rows if row["citizen"].id != entry["citizen"].id]
        rows = [entry] + others if len(others) == len(rows) else \
            [entry if row["citizen"].id == entry["citizen"].id else row for row in rows]
    return render("notify/unreachable.html", "notify/_unreachable_citizen.html", status=status, rows=rows,
                  entry=entry, next_after=next_after)


@bp.get("/")
def index():
    """The citizens to call, newest failure first, with the messages that did not reach them."""
    return _page()


@bp.post("/<int:citizen_id>/resolve")
def resolve(citizen_id):
    """Record the call: every undelivered message of the citizen that the desk saw is resolved with the note."""
    form = ResolveForm()
    entry = follow_up.unreachable_citizen(citizen_id)
    if not form.validate_on_submit():
        if entry is None:
            abort(404)
        entry["form"] = form
        return _page(422, entry)
    done = follow_up.resolve(citizen_id, current_user, form.note.data, form.upto.data)
    last = follow_up.last_resolution(citizen_id)
    if last is not None:
        message = _("Call recorded by %(who)s at %(when)s.", who=last.resolved_by.full_name,
                    when=format_datetime(last.resolved_at, "short"))
        flash(message, "success" if done else "info")
    if not wants_fragment():
        return redirect(url_for("unreachable.index"), 303)
    return render("notify/unreachable.html", "notify/_unreachable_citizen.html",
                  entry=follow_up.unreachable_citizen(citizen_id), done_for=citizen_id, last=last)
