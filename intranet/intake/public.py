"""What the citizen may see of a request, shaped for the portal: status, stage names, dates, and the reason
of a return or a rejection. The status API and the webhooks both speak this one shape."""
from intranet.models import HistoryEntry, Request, Stage

# history actions the citizen sees; claims, releases, assignments and internal comments stay inside
PUBLIC_ACTIONS = ("submit", "accept", "return", "resubmit", "reject", "answer")


def event_name(entry: HistoryEntry) -> str:
    """received, moved_on, returned, resubmitted, rejected, completed, or interview_scheduled (pushed by webhook)."""
    if entry.action == "submit":
        return "received"
    if entry.to_status == "completed":
        return "completed"
    return {"accept": "moved_on", "return": "returned", "resubmit": "resubmitted", "reject": "rejected",
            "schedule_interview": "interview_scheduled"}.get(entry.action, entry.action)


def _stage(stage: Stage | None) -> dict | None:
    if stage is None:
        return None
    return {"code": stage.code, "name_ar": stage.name_ar, "name_en": stage.name_en}


def iso(moment) -> str | None:
    return moment.replace(microsecond=0).isoformat() + "Z" if moment else None


def public_event(entry: HistoryEntry) -> dict:
    event = event_name(entry)
    reason = entry.comment if event in ("returned", "rejected") else ""
    item = {"event": event, "at": iso(entry.created_at), "status": entry.to_status,
            "stage": _stage(entry.to_stage), "reason": reason}
    missing = entry.info.get("missing")
    if event == "returned" and missing:
        item["missing_documents"] = missing
    return item


def public_history(req: Request) -> list[dict]:
    entries = (HistoryEntry.select().where((HistoryEntry.request == req.id)
                                           & HistoryEntry.action.in_(PUBLIC_ACTIONS)).order_by(HistoryEntry.id))
    return [public_event(entry) for entry in entries]


def receipt(req: Request, portal_reference: str | None) -> dict:
    """The answer to a successful submission (and to every replay of it)."""
    return {"tracking_number": req.tracking_number, "portal_reference": portal_reference,
            "status": req.status, "received_at": iso(req.received_at),
            "expected_answer_by": req.due_at.date().isoformat(),
            "links": {"status": f"/api/v1/requests/{req.tracking_number}"}}


def status(req: Request) -> dict:
    return {"tracking_number": req.tracking_number, "request_type": req.request_type.code,
            "status": req.status, "stage": _stage(req.stage), "received_at": iso(req.received_at),
            "expected_answer_by": req.due_at.date().isoformat(), "closed_at": iso(req.closed_at),
            "history": public_history(req)}
