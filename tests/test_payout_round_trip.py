"""A payout rejected, then made again (issue 13): the supervisor rejects a payout, the request goes back to its
last stage, the clerk accepts it again and a new payout is made (the rejected one stays, named by the new one's
audit entry); the new payout is approved and exported, and the request is completed. On both databases."""
import peewee
import pytest

from intranet import db, workflow
from intranet.models import HistoryEntry, Request, Staff
from intranet.models.payouts import AuditEntry, BatchItem, Payout, PayoutBatch
from intranet.payouts import audit, batches, service
from tests.conftest import csrf_token
from tests.factories import make_citizen, make_staff
from tests.test_payouts import IBAN, complete


@pytest.fixture
def staff(ctx):
    return {"health": make_staff("h1", "clerk", "health"), "comp": make_staff("c1", "clerk", "compensation"),
            "boss": make_staff("boss1", "supervisor", None), "boss2": make_staff("boss2", "supervisor", None)}


def accept_again(clerk, req):
    """The clerk takes the reopened request from its last stage and accepts it (the final acceptance)."""
    req = Request.get_by_id(req.id)
    if req.stage.role == "head":  # the health-care grant's last stage is the head's approval
        clerk = Staff.get(Staff.username == "head-t")  # made by tests/test_payouts.complete
    workflow.claim(clerk, req, req.version)
    req = Request.get_by_id(req.id)
    return workflow.accept(clerk, req, req.version).request


def test_reject_accept_again_approve_export(staff, app, tmp_path):
    app.config["PAYOUT_ARCHIVE_DIR"] = tmp_path / "payout-files"
    req = complete(staff, amount="1250.50", citizen=make_citizen(iban=IBAN))
    first = Payout.get(Payout.request == req.id)
    assert workflow.reject_payouts(staff["boss"], [first.id], "المبلغ لا يطابق الفاتورة", True).done == [first.id]
    assert Request.get_by_id(req.id).status == "open"

    req = accept_again(staff["health"], req)  # was: UNIQUE constraint failed: payout.request_id, every time
    assert req.status == "completed"
    payouts = list(Payout.select().where(Payout.request == req.id).order_by(Payout.id))
    assert [p.status for p in payouts] == ["rejected", "pending"]
    second = payouts[1]
    assert second.id != first.id and second.duplicates == []  # the rejected one is no duplicate of it
    made = AuditEntry.get((AuditEntry.payout == second.id) & (AuditEntry.action == "payout_created"))
    assert made.info["replaces"] == first.id and made.info["request"] == req.tracking_number

    assert service.approve(staff["boss2"], [second.id], True).done == [second.id]
    assert service.approve(staff["boss2"], [first.id], True).refused  # the rejected one stays rejected
    batch = batches.create(staff["boss"], [second.id], "generic")
    assert batches.start_export(staff["boss"], batch.id, batch.version, True)
    assert batches.export(batch.id) == "released"
    assert PayoutBatch.get_by_id(batch.id).item_count == 1
    assert [i.payout_id for i in BatchItem.select()] == [second.id]
    assert Payout.get_by_id(second.id).status == "exported" and Payout.get_by_id(first.id).status == "rejected"
    assert Request.get_by_id(req.id).status == "completed"
    actions = [e.action for e in AuditEntry.select().where(AuditEntry.payout.in_([first.id, second.id]))
               .order_by(AuditEntry.id)]
    assert actions[:4] == ["payout_created", "payout_rejected", "payout_created", "payout_approved"]
    assert audit.verify().ok


def test_rejected_twice_then_made_a_third_time(staff):
    req = complete(staff, amount="300")
    for _ in range(2):
        live = Payout.get((Payout.request == req.id) & (Payout.status == "pending"))
        assert workflow.reject_payouts(staff["boss"], [live.id], "أعد التدقيق", True).done == [live.id]
        req = accept_again(staff["health"], req)
    made = [e.info.get("replaces") for e in AuditEntry.select().where(AuditEntry.action == "payout_created")
            .order_by(AuditEntry.id)]
    ids = [p.id for p in Payout.select().where(Payout.request == req.id).order_by(Payout.id)]
    assert made == [None, ids[0], ids[1]]  # each new payout names the one rejected just before it
    assert [p.status for p in Payout.select().where(Payout.request == req.id).order_by(Payout.id)] == [
        "rejected", "rejected", "pending"]


def test_the_database_refuses_two_live_payouts_for_one_request(staff):
    req = complete(staff)
    live = Payout.get(Payout.request == req.id)
    copy = {f.name: getattr(live, f.name) for f in Payout._meta.sorted_fields if f.name != "id"}
    with pytest.raises(peewee.IntegrityError), db.database.atomic():
        Payout.create(**copy)  # not a check in our code: the partial unique index says no
    Payout.create(**(copy | {"status": "rejected"}))  # rejected ones may be many
    assert Payout.select().where(Payout.request == req.id).count() == 2


def _act(client, tracking, action, version):
    data = {"action": action, "version": str(version), "comment": "", "attachments": [],
            "csrf_token": csrf_token(client, "/reauth/")}  # any form of the session
    return client.post(f"/requests/{tracking}/act", data=data, content_type="multipart/form-data")


def test_over_http_the_clerk_accepts_again_and_the_supervisor_approves(client, auth, data, app, tmp_path):
    app.config["PAYOUT_ARCHIVE_DIR"] = tmp_path / "payout-files"
    with data():
        staff = {"health": make_staff("h1", "clerk", "health"), "comp": make_staff("c1", "clerk", "compensation")}
        req = complete(staff, amount="1250.50")
        first = Payout.get(Payout.request == req.id).id
    auth.login("supervisor1")
    reauth = client.post("/reauth/", data={"csrf_token": csrf_token(client, "/reauth/"), "password": "demo",
                                           "next": "/payouts/"})
    assert reauth.status_code == 303
    token = csrf_token(client, "/payouts/")
    rejected = client.post("/payouts/decide", data={"csrf_token": token, "ids": [str(first)], "decision": "reject",
                                                    "reason": "الآيبان لا يخص المستفيد"})
    assert rejected.status_code == 303
    auth.logout()

    auth.login("head1")  # the reopened request is back at its last stage: the head's approval
    with data():
        version = Request.get_by_id(req.id).version
    assert _act(client, req.tracking_number, "claim", version).status_code == 303
    accepted = _act(client, req.tracking_number, "accept", version + 1)
    assert accepted.status_code == 303, accepted.text[:500]  # was a 500, every time
    with data():
        assert Request.get_by_id(req.id).status == "completed"
        second = Payout.get((Payout.request == req.id) & (Payout.status == "pending")).id
        last = HistoryEntry.select().where(HistoryEntry.request == req.id).order_by(HistoryEntry.id.desc()).first()
        assert (last.action, last.to_status) == ("accept", "completed")
    auth.logout()

    auth.login("supervisor1")
    client.post("/reauth/", data={"csrf_token": csrf_token(client, "/reauth/"), "password": "demo", "next": "/"})
    token = csrf_token(client, "/payouts/")
    page = client.get("/payouts/").text
    assert f'id="payout-row-{second}"' in page and f'id="payout-row-{first}"' not in page
    approved = client.post("/payouts/decide", data={"csrf_token": token, "ids": [str(second)], "decision": "approve"})
    assert approved.status_code == 303
    made = client.post("/payouts/batches/?status=approved", data={"csrf_token": token, "ids": [str(second)],
                                                                  "bank": "generic", "scope": "ticked"})
    assert made.status_code == 303
    with data():
        batch = PayoutBatch.get()
        assert batches.start_export(staff_named("supervisor1"), batch.id, batch.version, True)
        assert batches.export(batch.id) == "released"
        assert Payout.get_by_id(second).status == "exported" and Payout.get_by_id(first).status == "rejected"
        assert audit.verify().ok


def staff_named(username):
    from intranet.models import Staff
    return Staff.get(Staff.username == username)

