"""The administration history (issue 20), administrators only: every administrative change, newest first, paged by
key, filtered by subject, with who made it, when, and what each field was before and after."""
from flask import Blueprint, render_template, request

from intranet.admin import changes
from intranet.auth import guard, permissions

bp = Blueprint("change", __name__)


guard.only(bp, permissions.can_administer)


@bp.route("/admin/changes")
def index():
    subject = request.args.get("subject") or None
    known = changes.subjects()
    if subject not in known:
        subject = None  # a subject nothing was recorded under lists everything rather than an error
    rows, next_key = changes.history(subject, request.args.get("after"))
    return render_template("admin/changes.html", rows=rows, next_key=next_key, subject=subject, subjects=known,
                           differences=changes.differences)
