"""The payouts' audit trail for supervisors and administrators: the entries, newest first, and a check of the chain."""
import json

from flask import Blueprint, abort, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from peewee import JOIN

from intranet.auth import permissions
from intranet.htmx import render
from intranet.models import Staff
from intranet.models.payouts import AuditEntry
from intranet.payouts import audit

bp = Blueprint("payout_audit", __name__, url_prefix="/payouts/audit")
PAGE_SIZE = 50
REASONS = {  # audit.verify() explains in English for the command line; the page says it in the reader's language
    "its previous hash is not the hash of the entry before it":
        _l("its previous hash is not the hash of the entry before it (an entry was removed or inserted)"),
    "its content does not match its hash": _l("its content does not match its hash (the entry was changed)"),
}


@bp.before_request
@login_required
def readers_only():
    """Supervisors and administrators read the audit trail."""
    if not permissions.can_see_payouts(current_user):
        abort(403)


def pretty(details: str) -> str:
    """The details as indented JSON; as stored if they are not JSON (a row changed behind the application's back)."""
    try:
        return json.dumps(json.loads(details or "{}"), indent=2, sort_keys=True, ensure_ascii=False)
    except ValueError:
        return details


def entries_page(before: int | None, size: int = PAGE_SIZE) -> tuple[list[AuditEntry], int | None]:
    """One page of entries with their actors, newest first, and the id to continue before (None on the last page)."""
    query = (AuditEntry.select(AuditEntry, Staff).join(Staff, JOIN.LEFT_OUTER, on=(AuditEntry.actor == Staff.id))
             .order_by(AuditEntry.id.desc()).limit(size + 1))
    if before:
        query = query.where(AuditEntry.id < before)
    rows = list(query)
    return rows[:size], (rows[size - 1].id if len(rows) > size else None)


def _page(verdict=None):
    entries, next_before = entries_page(request.args.get("before", type=int), PAGE_SIZE)
    return render("payouts/audit.html", entries=entries, next_before=next_before, verdict=verdict,
                  pretty=pretty, REASONS=REASONS)


@bp.get("/")
def index():
    """The audit trail, newest entry first, a page at a time."""
    return _page()


@bp.post("/verify")
def verify():
    """Walk the whole chain and say whether it is intact, or where it breaks."""
    return _page(audit.verify())
