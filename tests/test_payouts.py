"""Payouts: made when a money request completes, approved with four eyes, rejected back to the clerk."""
import threading
from decimal import Decimal

import pytest

from intranet import db, workflow
from intranet.models import HistoryEntry, Request, Staff
from intranet.models.payouts import Payout, PayoutApproval, PayoutParty
from intranet.payouts import audit, service
from tests.factories import make_citizen, make_request, make_staff

IBAN = "QA58DOHB00001234567890ABCDEFG"


@pytest.fixture
def staff(ctx):
    return {"health": make_staff("h1", "clerk", "health"), "comp": make_staff("c1", "clerk", "compensation"),
            "boss": make_staff("boss1", "supervisor", None), "boss2": make_staff("boss2", "supervisor", None)}


def complete(staff, amount="1250.500", citizen=None, entered_by=None, type_code="health_care"):
    """Through every stage to completion; returns the request."""
    req = make_request(type_code, citizen=citizen or make_citizen(iban=IBAN), amount=Decimal(amount),
                       actor=entered_by)
    while req.status != "completed":
        clerk = staff["health"] if req.department.code == "health" else staff["comp"]
        if req.stage.role == "head":  # the head's approval is the head's (tests/test_head_approval.py)
            clerk = Staff.get_or_none(Staff.username == "head-t") or make_staff("head-t", "head", None)
        workflow.claim(clerk, req, req.version)
        req = Request.get_by_id(req.id)
        req = workflow.accept(clerk, req, req.version).request
    return req


def test_a_completed_money_request_makes_a_pending_payout(staff):
    req = complete(staff)
    payout = Payout.get(Payout.request == req.id)
    assert (payout.status, payout.amount, payout.iban, payout.currency) == ("pending", Decimal("1250.500"), IBAN, "QAR")
    roles = {(p.staff_id, p.role) for p in PayoutParty.select().where(PayoutParty.payout == payout.id)}
    head = Staff.get(Staff.username == "head-t")  # the head approved the last stage: the payout's maker
    assert (head.id, "maker") in roles and (req.entered_by_id, "amount") in roles
    assert audit.verify().ok and audit.verify().checked == 1


def test_a_request_without_money_makes_none(staff):
    req = make_request("inquiry")
    clerk = make_staff("ci", "clerk", "citizens")
    workflow.claim(clerk, req, req.version)
    req = Request.get_by_id(req.id)
    workflow.accept(clerk, req, req.version)
    assert Payout.select().count() == 0


def test_the_maker_and_whoever_entered_the_amount_may_not_approve(staff):
    boss = staff["boss"]
    req = complete(staff, entered_by=boss)  # a supervisor entered the request with its amount at the desk
    payout = Payout.get(Payout.request == req.id)
    decision = service.approve(boss, [payout.id], reauthenticated=True)
    assert decision.done == [] and "مشرف آخر" in decision.refused[payout.id]
    with pytest.raises(service.PayoutRefused):
        service.approve(staff["health"], [payout.id], reauthenticated=True)  # a clerk
    with pytest.raises(service.PayoutRefused):
        service.approve(staff["boss2"], [payout.id], reauthenticated=False)  # no fresh password
    assert service.approve(staff["boss2"], [payout.id], reauthenticated=True).done == [payout.id]
    assert Payout.get_by_id(payout.id).status == "approved"
    assert PayoutApproval.get().iban == IBAN


def test_above_the_threshold_two_different_supervisors(staff, app):
    app.config["PAYOUT_SECOND_APPROVAL_ABOVE"] = "1000"
    payout = Payout.get(Payout.request == complete(staff, amount="5000").id)
    assert payout.approvals_needed == 2
    assert service.approve(staff["boss"], [payout.id], True).done == [payout.id]
    assert Payout.get_by_id(payout.id).status == "pending"
    again = service.approve(staff["boss"], [payout.id], True)
    assert again.done == [] and "مشرف ثانٍ مختلف" in again.refused[payout.id]
    assert service.approve(staff["boss2"], [payout.id], True).done == [payout.id]
    assert Payout.get_by_id(payout.id).status == "approved"


def test_a_suspected_duplicate_needs_a_reason(staff):
    citizen = make_citizen(iban=IBAN)
    first = Payout.get(Payout.request == complete(staff, citizen=citizen).id)
    second = Payout.get(Payout.request == complete(staff, citizen=citizen).id)
    assert second.duplicates == [first.id] and first.duplicates == []
    refused = service.approve(staff["boss"], [second.id], True)
    assert "اذكر سبب" in refused.refused[second.id]
    assert service.approve(staff["boss"], [second.id], True, "فاتورتان مختلفتان لعلاجين").done == [second.id]
    assert Payout.get_by_id(second.id).override_reason == "فاتورتان مختلفتان لعلاجين"


def test_rejecting_sends_the_request_back_to_its_last_stage(staff):
    req = complete(staff)
    payout = Payout.get(Payout.request == req.id)
    with pytest.raises(service.PayoutRefused):
        workflow.reject_payouts(staff["boss"], [payout.id], "  ", True)
    assert workflow.reject_payouts(staff["boss"], [payout.id], "رقم الآيبان لا يخص المستفيد", True).done == [payout.id]
    req = Request.get_by_id(req.id)
    assert (req.status, req.closed_at, req.department.code) == ("open", None, "health")
    last = HistoryEntry.select().where(HistoryEntry.request == req.id).order_by(HistoryEntry.id.desc()).first()
    assert (last.action, last.comment) == ("reopen", "رقم الآيبان لا يخص المستفيد")
    assert Payout.get_by_id(payout.id).status == "rejected"
    assert [e.action for e in audit.AuditEntry.select().order_by(audit.AuditEntry.id)] == [
        "payout_created", "payout_rejected"]
    assert audit.verify().ok


def test_twenty_clicks_at_once_approve_once(staff, app, backend):
    payout = Payout.get(Payout.request == complete(staff).id)
    boss = staff["boss2"]
    results = []

    def click():
        with app.test_request_context(), db.database.connection_context():
            results.append(service.approve(boss, [payout.id], True))
    threads = [threading.Thread(target=click) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(len(r.done) for r in results) == 1 and len(results) == 20
    assert PayoutApproval.select().count() == 1 and Payout.get_by_id(payout.id).status == "approved"
    assert audit.verify().ok


NEW_IBAN = "QA54QNBA000000000000693123456"


def test_a_new_iban_waits_for_a_second_person_and_voids_approvals(staff):
    from intranet.models import Citizen
    from intranet.validation import clean_iban
    new_iban = clean_iban(NEW_IBAN)
    req = complete(staff)
    payout = Payout.get(Payout.request == req.id)
    assert service.approve(staff["boss2"], [payout.id], True).done == [payout.id]
    desk = make_staff("desk2", "reception", "reception")
    change = service.request_iban_change(desk, req.citizen, new_iban, "حساب جديد")
    assert change is not None and Citizen.get_by_id(req.citizen_id).iban == IBAN  # not yet
    with pytest.raises(service.PayoutRefused):
        service.confirm_iban_change(desk, change)  # the requester (and not a supervisor)
    assert service.confirm_iban_change(staff["boss"], change) == 1
    payout = Payout.get_by_id(payout.id)
    assert (payout.status, payout.iban) == ("pending", new_iban)
    assert PayoutApproval.get().voided_at is not None
    assert Citizen.get_by_id(req.citizen_id).iban == new_iban
    # whoever changed or confirmed the IBAN may not approve; boss2 may approve again for the new IBAN
    assert "مشرف آخر" in service.approve(staff["boss"], [payout.id], True).refused[payout.id]
    assert service.approve(staff["boss2"], [payout.id], True).done == [payout.id]
    assert audit.verify().ok


def test_without_payouts_under_way_a_new_iban_applies_at_once(staff):
    citizen = make_citizen(iban=IBAN)
    assert service.request_iban_change(make_staff("d3", "reception", "reception"), citizen, NEW_IBAN) is None
