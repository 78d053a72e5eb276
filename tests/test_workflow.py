"""The workflow without HTTP: every transition, its history row, permissions, stale versions, attachments."""
import pytest

from intranet import workflow
from intranet.models import Attachment, HistoryEntry, Request
from tests.factories import PNG, make_request, make_staff, upload


@pytest.fixture
def people(ctx):
    return {
        "desk": make_staff("desk", "reception", "reception"),
        "health": make_staff("h1", "clerk", "health"),
        "health2": make_staff("h2", "clerk", "health"),
        "comp": make_staff("c1", "clerk", "compensation"),
        "citizens": make_staff("z1", "clerk", "citizens"),
        "supervisor": make_staff("s1", "supervisor", None),
        "admin": make_staff("a1", "admin", None),
    }


def reload(req):
    return Request.get_by_id(req.id)


def test_submit_enters_first_stage_with_history_and_tracking_number(people):
    req = make_request("health_care", actor=people["desk"], uploads=[upload()])
    assert req.status == "open" and req.stage.position == 1 and req.department.code == "health"
    assert req.entered_by == people["desk"] and req.channel == "walk_in"
    assert (req.due_at - req.received_at).days == 45
    entry = HistoryEntry.get(HistoryEntry.request == req)
    assert (entry.action, entry.actor, entry.to_status) == ("submit", people["desk"], "open")
    assert Attachment.get(Attachment.request == req).history == entry


def test_tracking_numbers_are_unique_and_check_digit_valid(people):
    from stdnum import luhn
    numbers = [make_request(actor=people["desk"]).tracking_number for _ in range(3)]
    assert len(set(numbers)) == 3
    assert all(luhn.is_valid(n.replace("-", "")) for n in numbers)


def test_clerk_cannot_enter_requests(people):
    with pytest.raises(workflow.NotAllowed):
        make_request(actor=people["health"])
    assert Request.select().count() == 0


def test_multi_stage_path_accept_return_resubmit_reject(people):
    req = make_request("health_care", actor=people["desk"])
    workflow.accept(people["health"], req, 1, "ok", [upload()])
    req = reload(req)
    assert (req.stage.position, req.department.code, req.status, req.version) == (2, "compensation", "open", 2)

    with pytest.raises(workflow.WorkflowError):
        workflow.return_(people["comp"], req, 2, "   ")  # a return needs its reason
    workflow.return_(people["comp"], req, 2, "invoice missing")
    req = reload(req)
    assert (req.stage.position, req.status, req.returned_from.position) == (1, "returned", 2)
    assert "return" not in workflow.allowed_actions(req, people["health"])

    workflow.resubmit(people["health"], req, 3, "invoice attached", [upload("invoice.png", PNG)])
    req = reload(req)
    assert (req.stage.position, req.status, req.returned_from) == (2, "open", None)

    workflow.reject(people["comp"], req, 4, "not eligible")
    req = reload(req)
    assert req.status == "rejected" and req.closed_at is not None
    assert workflow.allowed_actions(req, people["supervisor"]) == []
    actions = [e.action for e in HistoryEntry.select().where(HistoryEntry.request == req).order_by(HistoryEntry.id)]
    assert actions == ["submit", "accept", "return", "resubmit", "reject"]


def test_last_stage_acceptance_completes(people):
    req = make_request("health_care", actor=people["desk"])
    workflow.accept(people["health"], req, 1)
    workflow.accept(people["comp"], reload(req), 2)
    with pytest.raises(workflow.NotAllowed):  # the last stage is the head's approval (tests/test_head_approval.py)
        workflow.accept(people["health"], reload(req), 3)
    workflow.accept(make_staff("head-t", "head", None), reload(req), 3)
    req = reload(req)
    assert req.status == "completed" and req.closed_at is not None


def test_single_stage_inquiry(people):
    req = make_request("inquiry", actor=people["desk"])
    assert req.department.code == "citizens"
    workflow.comment(people["citizens"], req, 1, "calling the citizen")
    workflow.accept(people["citizens"], reload(req), 1, "answered by phone")
    assert reload(req).status == "completed"


def test_first_stage_return_goes_to_citizen_and_reception_resubmits(people):
    req = make_request("inquiry", actor=people["desk"])
    workflow.return_(people["citizens"], req, 1, "bring your ID card")
    req = reload(req)
    assert req.status == "awaiting_citizen" and req.stage.position == 1
    assert workflow.allowed_actions(req, people["desk"]) == ["resubmit", "comment"]
    workflow.resubmit(people["desk"], req, 2, "ID card scanned")
    assert reload(req).status == "open"


@pytest.mark.parametrize("who", ["comp", "desk", "admin", "citizens"])
def test_other_department_and_roles_cannot_accept(people, who):
    req = make_request("health_care", actor=people["desk"])
    with pytest.raises(workflow.NotAllowed):
        workflow.accept(people[who], req, 1)
    req = reload(req)
    assert (req.version, req.status, req.stage.position) == (1, "open", 1)
    assert HistoryEntry.select().where(HistoryEntry.request == req).count() == 1


def test_stale_version_is_refused_and_names_who_changed_it(people):
    req = make_request("health_care", actor=people["desk"])
    workflow.comment(people["health"], req, 1, "looking")
    workflow.accept(people["health"], req, 1)
    with pytest.raises(workflow.StaleRequest) as refused:
        workflow.reject(people["health2"], req, 1, "duplicate")
    assert "H1" in str(refused.value.message)
    req = reload(req)
    assert req.status == "open" and req.stage.position == 2 and req.version == 2


def test_claim_keeps_others_to_comments(people):
    req = make_request("health_care", actor=people["desk"])
    workflow.claim(people["health"], req, 1)
    req = reload(req)
    assert req.assignee == people["health"]
    assert workflow.allowed_actions(req, people["health2"]) == ["comment"]
    assert "accept" in workflow.allowed_actions(req, people["supervisor"])
    workflow.release(people["health"], req, req.version)
    assert reload(req).assignee is None


def test_refused_upload_writes_nothing(people, app):
    req = make_request("health_care", actor=people["desk"])
    fake = upload("photo.pdf", b"MZ\x90\x00 this is an executable")
    with pytest.raises(workflow.WorkflowError):
        workflow.accept(people["health"], req, 1, "ok", [upload(), fake])
    assert reload(req).version == 1
    assert Attachment.select().count() == 0
    assert not any((app.config["ATTACHMENT_DIR"]).glob("*")) if app.config["ATTACHMENT_DIR"].exists() else True


def test_oversized_upload_refused(people, app):
    app.config["ATTACHMENT_MAX_BYTES"] = 1024
    req = make_request("health_care", actor=people["desk"])
    big = upload("big.pdf", b"%PDF-1.4\n" + b"0" * 2048)
    with pytest.raises(workflow.WorkflowError) as refused:
        workflow.comment(people["health"], req, 1, "see file", [big])
    assert "big.pdf" in refused.value.message
    assert Attachment.select().count() == 0
