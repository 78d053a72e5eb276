"""The review of sampled automatic decisions (issue 17): a supervisor confirms one, or reverses it with a reason (the
request goes back, open, to the stage automation decided it at, through workflow.reverse_automatic, with its history
row in the same transaction). The review is recorded on the decision: who, when, the outcome and the reason."""
from intranet.i18n import lazy_gettext as _l

from intranet import workflow
from intranet.auth import permissions
from intranet.db import transaction
from intranet.models import HistoryEntry, utcnow
from intranet.models.automation import AutoDecision

REASON_MAX_LENGTH = 1000


class ReviewRefused(ValueError):
    """A review that cannot be recorded; the message says why."""


def needs_review(decision: AutoDecision | None) -> bool:
    return decision is not None and decision.outcome == "eligible" and decision.sampled and not decision.review_outcome


def decided_entry(decision: AutoDecision) -> HistoryEntry | None:
    """The history row of the automatic decision (the accept that names it)."""
    for entry in (HistoryEntry.select().where((HistoryEntry.request == decision.request_id)
                                             & (HistoryEntry.action == "accept"))
                  .order_by(HistoryEntry.id.desc())):
        if entry.info.get("automatic") and entry.info.get("decision") == decision.id:
            return entry
    return None


def review(actor, decision_id: int, outcome: str, reason: str = "") -> AutoDecision:
    """Confirm ("confirmed") or reverse ("reversed", a reason required) a decision awaiting review."""
    if not permissions.can_review_automation(actor):
        raise ReviewRefused(_l("Only supervisors review automatic decisions."))
    if outcome not in ("confirmed", "reversed"):
        raise ReviewRefused(_l("Choose to confirm or to reverse the decision."))
    reason = (reason or "").strip()
    if outcome == "reversed" and not reason:
        raise ReviewRefused(_l("Write why the decision is reversed: the clerk who takes the request reads it."))
    if len(reason) > REASON_MAX_LENGTH:
        raise ReviewRefused(_l("At most %(max_length)s characters.", max_length=REASON_MAX_LENGTH))
    with transaction():
        decision = AutoDecision.get_or_none(AutoDecision.id == decision_id)
        if not needs_review(decision):
            raise ReviewRefused(_l("This decision is not awaiting review (someone may have just reviewed it)."))
        updated = (AutoDecision.update(review_outcome=outcome, review_reason=reason, reviewed_by=actor.id,
                                       reviewed_at=utcnow())
                   .where((AutoDecision.id == decision.id) & AutoDecision.review_outcome.is_null()).execute())
        if updated != 1:
            raise ReviewRefused(_l("This decision is not awaiting review (someone may have just reviewed it)."))
        if outcome == "reversed":
            entry = decided_entry(decision)
            if entry is None:
                raise ReviewRefused(_l("The decision's history entry is missing: it cannot be reversed."))
            try:
                workflow.reverse_automatic(actor, decision.request_id, entry, reason)
            except workflow.WorkflowError as refused:
                raise ReviewRefused(refused.message) from None
    return AutoDecision.get_by_id(decision_id)
