"""Delegation (issue 18, item 2): a supervisor, the head or an administrator lets a named colleague act on a stage,
work a queue, decide payouts up to an amount or approve as the head, for a period of the office's days. Allowed
within scope and period, refused outside it; recorded as "A acting for B under delegation n" in the history and the
payouts' audit trail; four eyes stay with the real person; revoked by hand or when the directory changes a party.
The rules as tables are in tests/test_permissions.py; here they run against the database and the pages."""
import datetime as dt
from decimal import Decimal

import pytest

from intranet import history_chain, workflow
from intranet.admin import types
from intranet.auth import delegations, permissions
from intranet.auth.delegations import DelegationRefused, Grant
from intranet.models import Delegation, Department, HistoryEntry, Request, RequestType, Stage, Staff
from intranet.models.payouts import AuditEntry, Payout
from intranet.payouts import audit, audit_views, service
from intranet.queues import services as queue_services
from intranet.stats.figures import local_today
from tests.conftest import csrf_token
from tests.factories import make_citizen, make_request, make_staff
from tests.test_requests_http import act

IBAN = "QA58DOHB00001234567890ABCDEFG"


def stage(type_code, code):
    return Stage.select().join(RequestType).where((Stage.code == code) & (RequestType.code == type_code)).get()


@pytest.fixture
def people(ctx):
    return {"sup": make_staff("sup-c", "supervisor", "compensation"), "sup2": make_staff("sup-all", "supervisor", None),
            "hc": make_staff("clerk-h", "clerk", "health"), "cc": make_staff("clerk-c", "clerk", "compensation"),
            "cc2": make_staff("clerk-c2", "clerk", "compensation"), "head": make_staff("head-d", "head", None),
            "admin": make_staff("admin-d", "admin", None)}


def give(actor, delegate, scope, grantor=None, days=0, **values) -> Delegation:
    today = local_today()
    return delegations.grant(actor, Grant(grantor=grantor or actor, delegate=delegate, scope=scope, starts_on=today,
                                          ends_on=today + dt.timedelta(days=days), reason="إجازة سنوية", **values))


def fresh(req):
    return Request.get_by_id(req.id)


def compensation(amount="100", **overrides):
    return make_request("compensation", citizen=make_citizen(iban=IBAN), amount=Decimal(amount), **overrides)


def completed(clerk, amount):
    """A compensation grant through both stages by `clerk` (the payout's maker): its payout, pending."""
    req = compensation(amount)
    while req.status != "completed":
        req = workflow.accept(clerk, req, req.version).request
    return Payout.get(Payout.request == req.id)


def test_a_stage_delegation_acts_on_that_stage_only_and_is_recorded_with_both_names(people, monkeypatch):
    sup, hc = people["sup"], people["hc"]
    given = give(sup, hc, "stage", stage=stage("compensation", "review"))
    assert (given.department_id, given.request_type_id) == (Department.get(Department.code == "compensation").id,
                                                            stage("compensation", "review").request_type_id)
    req = compensation()
    assert permissions.can_view(hc, req) and "accept" in permissions.allowed_actions(req, hc)
    assert Request.select().where(permissions.visible_requests(hc) & (Request.id == req.id)).exists()  # searches
    entry = workflow.accept(hc, req, req.version, "راجعته").entry
    assert (entry.actor_id, entry.delegation_id) == (hc.id, given.id)
    shown = queue_services.history_of(req)[-1]
    assert (shown.actor.full_name, shown.acting_for.grantor.full_name, shown.acting_for.id) == (
        hc.full_name, sup.full_name, given.id)
    assert history_chain.verify().ok  # the delegation is keyed into the row's hash
    # another stage of the same type and department: not the delegate's
    moved = fresh(req)
    assert moved.stage.code == "approval" and permissions.allowed_actions(moved, hc) == []
    with pytest.raises(workflow.NotAllowed):
        workflow.accept(hc, moved, moved.version)
    # the one who works the stage in their own right is recorded as themselves
    own = workflow.accept(people["cc"], moved, moved.version).entry
    assert own.delegation_id is None
    # the day after its last day, and the day before its first, it does not apply
    later = compensation()
    for day in (local_today() + dt.timedelta(days=1), local_today() - dt.timedelta(days=1)):
        monkeypatch.setattr(permissions, "local_today", lambda day=day: day)
        with pytest.raises(workflow.NotAllowed):
            workflow.accept(hc, later, later.version)
    monkeypatch.undo()
    # revoked: no longer
    delegations.revoke(sup, given, "عاد الموظف")
    with pytest.raises(workflow.NotAllowed):
        workflow.accept(hc, later, later.version)
    assert HistoryEntry.select().where(HistoryEntry.delegation == given.id).count() == 1


def test_the_period_is_read_in_the_offices_dates(people):
    """A delegation ending today stops at midnight in the institution's time zone (Asia/Qatar, UTC+3), not UTC's."""
    today = local_today()
    give(people["sup"], people["hc"], "queue", department=Department.get(Department.code == "compensation"))
    evening = dt.datetime.combine(today, dt.time(20, 59))  # 23:59 in Doha
    assert len(delegations.active_for(people["hc"], evening)) == 1
    assert delegations.active_for(people["hc"], evening + dt.timedelta(minutes=1)) == []  # 00:00 the next day


def test_a_queue_delegation_works_that_queue_and_takes_next(people):
    department = Department.get(Department.code == "compensation")
    given = give(people["sup"], people["hc"], "queue", department=department)
    req = compensation()
    assert permissions.can_see_queue(people["hc"], department)
    taken = workflow.take_next(people["hc"], department)
    assert (taken.request.id, taken.entry.delegation_id) == (req.id, given.id)
    assert workflow.accept(people["hc"], fresh(req), fresh(req).version).entry.delegation_id == given.id
    health = Department.get(Department.code == "health")
    assert not permissions.can_see_queue(people["cc"], health)  # nobody else gained anything


def test_an_administrator_lets_a_supervisor_approve_as_the_head(people):
    sup, head, admin = people["sup2"], people["head"], people["admin"]
    with pytest.raises(DelegationRefused):  # a supervisor does not hold the head's approval to hand on
        give(sup, people["cc"], "head")
    given = give(admin, sup, "head", grantor=head)
    assert (given.grantor_id, given.created_by_id) == (head.id, admin.id)
    req = make_request("health_care", citizen=make_citizen(iban=IBAN), amount=Decimal("500"))
    req = workflow.accept(people["hc"], req, req.version).request
    req = workflow.accept(people["cc"], req, req.version).request
    assert req.stage.role == "head" and permissions.approval_role(sup) == "head"
    assert permissions.waits_for_role(sup, req) is None
    entry = workflow.accept(sup, req, req.version, "موافق نيابة عن الرئيس").entry
    assert entry.delegation_id == given.id and fresh(req).status == "completed"
    assert Payout.get(Payout.request == req.id).made_by_id == sup.id  # the real person is the payout's maker


def test_a_payout_delegation_decides_up_to_its_amount_and_four_eyes_stay_with_the_real_person(people):
    sup, sup2, cc, cc2 = people["sup"], people["sup2"], people["cc"], people["cc2"]
    given = give(sup2, cc, "payouts", amount_limit="60000")
    assert given.amount_limit == Decimal("60000") and given.department_id is None
    within, larger = completed(cc2, "60000"), completed(cc2, "60000.001")
    done = service.approve(cc, [within.id, larger.id], reauthenticated=True)
    assert within.id not in done.refused  # the first of two approvals (above 50,000)
    assert "تفويضك" in done.refused[larger.id]  # beyond the delegation
    entry = AuditEntry.select().where((AuditEntry.action == "payout_approved")
                                      & (AuditEntry.payout == within.id)).get()
    assert (entry.actor_id, entry.info["delegation"], entry.info["acting_for"], entry.info["acting_for_name"]) == (
        cc.id, given.id, sup2.id, sup2.full_name)
    assert audit.verify().ok
    shown = {detail.label: detail.value for detail in audit_views.readable(entry)}
    assert (shown["نيابةً عن"], shown["بموجب التفويض رقم"]) == (sup2.full_name, str(given.id))  # the audit page
    # a payout the delegate prepared (the final acceptance): never theirs to approve, not even second
    prepared = completed(cc, "55000")
    assert service.approve(sup, [prepared.id], reauthenticated=True).done == [prepared.id]
    refused = service.approve(cc, [prepared.id], reauthenticated=True)
    assert refused.done == [] and "مشرف آخر" in refused.refused[prepared.id]
    # nor a second approval on the authority that gave the first
    first_by_grantor = completed(cc2, "55000")
    assert service.approve(sup2, [first_by_grantor.id], reauthenticated=True).done == [first_by_grantor.id]
    assert service.approve(cc, [first_by_grantor.id], reauthenticated=True).done == []
    # rejecting under the delegation sends the request back with both names in its history
    rejected = completed(cc2, "100")
    assert workflow.reject_payouts(cc, [rejected.id], "الآيبان غير صحيح", True).done == [rejected.id]
    reopened = HistoryEntry.select().where((HistoryEntry.request == rejected.request_id)
                                           & (HistoryEntry.action == "reopen")).get()
    assert (reopened.actor_id, reopened.delegation_id) == (cc.id, given.id)
    assert "تفويضك" in workflow.reject_payouts(cc, [larger.id], "خطأ", True).refused[larger.id]


def test_who_may_grant_what(people):
    sup, hc, cc = people["sup"], people["hc"], people["cc"]
    today = local_today()
    review = stage("compensation", "review")
    gone = make_staff("gone", "clerk", "health")
    gone.active = False
    gone.save()
    refusals = [
        (hc, Grant(hc, cc, "stage", today, today, "x", stage=review), "لا يجوز لك منح التفويضات"),  # a clerk
        (sup, Grant(people["sup2"], cc, "queue", today, today, "x",
                    department=Department.get(Department.code == "compensation")), "صلاحيتك أنت فقط"),
        (sup, Grant(sup, sup, "payouts", today, today, "x", amount_limit="10"), "نفسه"),
        (sup, Grant(sup, gone, "stage", today, today, "x", stage=review), "نشطًا"),
        (sup, Grant(sup, cc, "stage", today, today, "x", stage=stage("health_care", "medical_review")),
         "داخل قسمك"),
        (sup, Grant(sup, cc, "stage", today, today, "x", stage=stage("health_care", "head_approval")),
         "لا يملك"),
        (sup, Grant(sup, cc, "payouts", today, today, "x", amount_limit="-5"), "أعلى مبلغ"),
        (sup, Grant(sup, cc, "payouts", today, today, "x", amount_limit="abc"), "أعلى مبلغ"),
        (sup, Grant(sup, cc, "queue", today, today, "x"), "القسم"),
        (sup, Grant(sup, cc, "bogus", today, today, "x"), "ما الذي"),
        (sup, Grant(sup, cc, "head", today, today, "x"), "لا يملك"),
        (sup, Grant(sup, cc, "payouts", today, today - dt.timedelta(days=1), "x", amount_limit="1"), "يسبق"),
        (sup, Grant(sup, cc, "payouts", today - dt.timedelta(days=3), today - dt.timedelta(days=1), "x",
                    amount_limit="1"), "مضى"),
        (sup, Grant(sup, cc, "payouts", today, today, "  ", amount_limit="1"), "سبب"),
        (sup, Grant(sup, cc, "payouts", today, None, "x", amount_limit="1"), "اليوم الأول"),
    ]
    for actor, asked, words in refusals:
        with pytest.raises(DelegationRefused) as refused:
            delegations.grant(actor, asked)
        assert words in str(refused.value.message), (asked, str(refused.value.message))
    assert Delegation.select().count() == 0  # nothing written
    # several to one and one to several
    give(sup, cc, "payouts", amount_limit="10")
    give(people["sup2"], cc, "queue", department=Department.get(Department.code == "health"))
    give(sup, hc, "stage", stage=review)
    assert len(delegations.active_for(cc)) == 2 and len(delegations.active_for(hc)) == 1


def test_revoke_for_staff_ends_every_live_delegation_of_either_party(people):
    sup, hc, cc = people["sup"], people["hc"], people["cc"]
    as_delegate = give(sup, hc, "stage", stage=stage("compensation", "review"), days=5)
    as_grantor = give(people["sup2"], sup, "queue", department=Department.get(Department.code == "health"))
    other = give(sup, cc, "payouts", amount_limit="10")
    today = local_today()
    ended = Delegation.create(grantor=sup.id, delegate=hc.id, scope="head", starts_on=today - dt.timedelta(days=9),
                              ends_on=today - dt.timedelta(days=2), reason="قديم", created_by=sup.id)
    assert delegations.revoke_for_staff(hc, "removed from the directory") == 1
    assert delegations.revoke_for_staff(people["sup2"], "disabled in the directory", people["admin"]) == 1
    rows = {row.id: row for row in Delegation.select()}
    assert rows[as_delegate.id].revoked_at and rows[as_delegate.id].revoke_reason == "removed from the directory"
    assert rows[as_delegate.id].revoked_by_id is None
    assert rows[as_grantor.id].revoked_by_id == people["admin"].id
    assert rows[other.id].revoked_at is None and rows[ended.id].revoked_at is None  # untouched
    req = compensation()
    assert not permissions.works_stage(hc, req) and delegations.active_for(hc) == []
    with pytest.raises(DelegationRefused):
        delegations.revoke(sup, rows[as_delegate.id], "مرة أخرى")  # revoked already
    # an inactive grantor's delegation no longer applies, even before the sync revokes it
    Staff.update(active=False).where(Staff.id == sup.id).execute()
    assert delegations.active_for(cc) == []


# --- the pages: who may do what, on every route -------------------------------------------------------------------

def _grant_form(client, **values):
    data = {"csrf_token": csrf_token(client, "/delegations/"), "scope": "payouts", "amount_limit": "2500",
            "starts_on": local_today().isoformat(), "ends_on": local_today().isoformat(), "reason": "إجازة", **values}
    return client.post("/delegations/new", data=data)


def test_the_pages_ask_who_may_on_every_route(auth, client, data):
    for username in ("health1", "reception1", "head1", "admin1"):
        auth.login(username)
        assert client.get("/delegations/").status_code == 200
        auth.logout()
    with data():
        delegate = Staff.get(Staff.username == "health1")
    auth.login("health1")  # a clerk grants nothing
    assert client.get("/delegations/new").status_code == 403
    assert _grant_form(client, delegate=str(delegate.id)).status_code == 403
    auth.logout()
    auth.login("supervisor1")
    page = client.get("/delegations/new")
    assert page.status_code == 200 and 'id="delegation-form"' in page.text
    bad = _grant_form(client, delegate=str(delegate.id), reason="")
    assert bad.status_code == 422 and "اكتب سبب التفويض" in bad.text
    assert _grant_form(client, delegate="x" * 30).status_code == 422  # nothing readable: a message, never a 500
    with data():
        assert Delegation.select().count() == 0
    made = _grant_form(client, delegate=str(delegate.id))
    assert made.status_code == 303
    with data():
        given = Delegation.get()
        assert (given.grantor.username, given.delegate.username, given.amount_limit) == (
            "supervisor1", "health1", Decimal("2500"))
    listed = client.get("/delegations/?list=given")
    assert f'id="delegation-{given.id}"' in listed.text and "سارٍ" in listed.text
    auth.logout()
    # the delegate is told whom they act for, on every page, and reaches the payouts they may decide
    auth.login("health1")
    home = client.get("/delegations/")
    assert "تعمل نيابةً عن" in home.text and f'id="delegation-{given.id}"' in home.text
    assert client.get("/payouts/").status_code == 200
    auth.logout()
    # a stranger may not revoke it; a missing one is a 404
    auth.login("reception1")
    token = csrf_token(client, "/delegations/")
    assert client.post(f"/delegations/{given.id}/revoke", data={"csrf_token": token, "reason": "x"}).status_code == 403
    assert client.post("/delegations/999999/revoke", data={"csrf_token": token, "reason": "x"}).status_code == 404
    auth.logout()
    auth.login("admin1")
    assert client.get("/delegations/?list=all").status_code == 200
    token = csrf_token(client, "/delegations/")
    empty = client.post(f"/delegations/{given.id}/revoke", data={"csrf_token": token, "reason": " "},
                        follow_redirects=True)
    assert "اكتب سبب انتهاء التفويض" in empty.text
    client.post(f"/delegations/{given.id}/revoke", data={"csrf_token": token, "reason": "انتهت الإجازة"})
    with data():
        assert Delegation.get_by_id(given.id).revoked_by.username == "admin1"
    auth.logout()
    auth.login("health1")
    assert client.get("/payouts/").status_code == 403


def test_the_request_page_says_who_acted_for_whom(auth, client, data):
    auth.login("health1")
    auth.logout()
    with data():
        sup = make_staff("sup-page", "supervisor", "compensation")
        clerk = Staff.get(Staff.username == "health1")
        given = give(sup, clerk, "stage", stage=stage("compensation", "review"))
        req = compensation()
    auth.login("health1")
    response = act(client, req.tracking_number, "accept", req.version, "تمت المراجعة")
    assert response.status_code == 303
    page = client.get(f"/requests/{req.tracking_number}")
    assert f"{clerk.full_name} نيابةً عن {sup.full_name} بموجب التفويض {given.id}" in page.text


# --- a stage delegation and the versions of its type (issue 20): "that stage of that type", whichever version -----

def _permit(admin, *stages) -> RequestType:
    """A type of its own (the file's types stay as they are), saved with these stages: a new version each time."""
    rows = [{"code": code, "name_ar": "مرحلة", "name_en": "Stage", "department": department, "budget_days": days}
            for code, department, days in stages]
    spec = {"code": "permit_d", "name_ar": "تصريح", "name_en": "Permit", "sla_days": sum(r["budget_days"] for r in rows),
            "fields": [], "documents": [], "stages": rows}
    return types.save(admin, spec, creating=not RequestType.select().where(RequestType.code == "permit_d").exists())


def test_a_stage_delegation_follows_its_stage_into_new_versions_while_the_stage_lasts(people):
    """Granted on the stage "check" of a type: requests of every version that has that stage (the same stage: its
    department and required role unchanged, in versions without a break) are the delegate's to act on; a version that
    moves it to another department, drops it, or brings a stage of that code back later, hands on nothing new."""
    sup, hc, admin = people["sup"], people["hc"], people["admin"]
    _permit(admin, ("check", "compensation", 10), ("sign", "compensation", 10))
    given = give(sup, hc, "stage", stage=stage("permit_d", "check"), days=3)
    v1 = make_request("permit_d")
    _permit(admin, ("check", "compensation", 5), ("sign", "compensation", 15))  # version 2: the budget changes
    v2 = make_request("permit_d")
    assert (v1.type_version, v2.type_version) == (1, 2) and v1.stage_id != v2.stage_id  # a new row for "check"
    offered = [row.id for row in delegations.stages_to_choose() if row.request_type.code == "permit_d"]
    assert offered == [v2.stage_id, Stage.get(Stage.code == "sign", Stage.last_version.is_null()).id]  # once each

    def covered(req) -> bool:
        req = fresh(req)
        seen = Request.select().where(permissions.visible_requests(hc) & (Request.id == req.id)).exists()
        assert seen is permissions.can_view(hc, req)  # the searches' rule and the page's agree
        return seen and permissions.works_stage(hc, req) and "accept" in permissions.allowed_actions(req, hc)

    assert covered(v1) and covered(v2)
    assert [d.id for d in delegations.active_for(hc)] == [given.id]
    assert workflow.accept(hc, v2, v2.version).entry.delegation_id == given.id
    assert not covered(v2)  # at "sign" now: not the delegated stage, whatever the version
    v2b = make_request("permit_d")
    _permit(admin, ("check", "retirement", 5), ("sign", "compensation", 15))  # version 3: another department's
    v3 = make_request("permit_d")
    _permit(admin, ("sign", "compensation", 20))  # version 4: "check" dropped
    _permit(admin, ("check", "compensation", 5), ("sign", "compensation", 15))  # version 5: a "check" again
    v5 = make_request("permit_d")
    assert (v3.type_version, v5.type_version) == (3, 5) and v5.stage.code == "check"
    assert not covered(v3) and not covered(v5)  # nothing new
    assert not permissions.can_view(hc, fresh(v3)) and not permissions.can_view(hc, fresh(v5))
    assert covered(v1) and covered(v2b)  # the versions that had the stage as it was delegated: still
    assert Delegation.get_by_id(given.id).covers_request(fresh(v2b))  # a row read on its own: the same rows
    with pytest.raises(workflow.NotAllowed):
        workflow.accept(hc, v5, v5.version)


# --- what a payout delegation opens: the payouts it decides, not the rest of the money's pages ---------------------

def test_a_payout_delegate_sees_the_payouts_they_may_decide_and_no_other_payout_page(auth, client, data):
    """Deciding payouts up to an amount is what the delegation hands on: the approval screen with the payouts it
    covers (their amount, their lines), the password prompt and the ticked sum of those only. Batches and bank files,
    the bank's returns, failed payouts, IBAN changes and the audit trail are the supervisors' (and administrators')
    work on every payout, not the delegate's."""
    auth.login("health1")
    auth.logout()
    with data():
        clerk, maker = Staff.get(Staff.username == "health1"), make_staff("maker-c", "clerk", "compensation")
        sup = make_staff("sup-pay", "supervisor", "compensation")
        give(sup, clerk, "payouts", amount_limit="2500")
        within, beyond, elsewhere = completed(maker, "2000"), completed(maker, "9000"), completed(maker, "100")
        Payout.update(department=Department.get(Department.code == "health").id).where(
            Payout.id == elsewhere.id).execute()  # another department's payout: not the grantor's to hand on
        numbers = {p.id: p.request.tracking_number for p in (within, beyond, elsewhere)}
        own = make_request("health_care", citizen=beyond.citizen)  # the clerk's department's: the citizen is theirs
    auth.login("health1")
    page = client.get("/payouts/")
    assert page.status_code == 200 and numbers[within.id] in page.text
    assert numbers[beyond.id] not in page.text and numbers[elsewhere.id] not in page.text
    assert client.get("/payouts/?status=approved").status_code == 200
    for path in ("/payouts/batches/", "/payouts/batches/1", "/payouts/audit/", "/payouts/failed",
                 "/payouts/returns/1", "/payouts/iban-changes", "/payouts/batches/1/returns/example.csv"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert numbers[beyond.id] not in response.text
    citizen = client.get(f"/citizens/{beyond.citizen_id}")  # their request is there, the payout beyond is not
    assert own.tracking_number in citizen.text and numbers[beyond.id] not in citizen.text
    for link in ("/payouts/batches/", "/payouts/audit/", "/payouts/failed", "/payouts/iban-changes"):
        assert f'href="{link}"' not in page.text  # the pages' menu offers only what opens
    token = csrf_token(client, "/payouts/")
    ticked = client.post("/payouts/selection", data={"csrf_token": token, "ids": [within.id, beyond.id]})
    assert ticked.status_code == 200 and "2,000" in ticked.text and "9,000" not in ticked.text.replace("٬", ",")
    prompt = client.post("/payouts/decide", data={"csrf_token": token, "ids": [within.id, beyond.id],
                                                  "decision": "approve"})
    assert prompt.status_code == 200 and numbers[within.id] in prompt.text and numbers[beyond.id] not in prompt.text
    auth.logout()
    auth.login("supervisor1")  # the supervisors' pages are where they were
    for path in ("/payouts/batches/", "/payouts/audit/", "/payouts/failed", "/payouts/iban-changes"):
        assert client.get(path).status_code == 200, path
    everything = client.get("/payouts/")
    assert all(number in everything.text for number in numbers.values())
    auth.logout()
    auth.login("admin1")
    assert client.get("/payouts/audit/").status_code == 200 and client.get("/payouts/batches/").status_code == 200
