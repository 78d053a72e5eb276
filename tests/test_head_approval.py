"""The head's approval is the head's (issue 16, item 6): a stage that requires a role is decided by that role only.

The health-care grant's last stage requires the head of the institution (seed 004); head1 of the demo directory gets
the role from the diwan-heads group. The department's clerks see the request, are told who decides it and are
refused if they try; take-next and reassignment never hand it to a clerk; the head finds it on their home page."""
import pytest

from intranet import definitions, workflow
from intranet.models import HistoryEntry, Request, Staff, Stage
from tests.conftest import csrf_token
from tests.factories import make_request, make_staff
from tests.test_requests_http import act


def at_head_stage(**overrides):
    """A health-care grant through its first two stages: at the head's approval, in Health Affairs' queue."""
    req = make_request("health_care", **overrides)
    workflow.accept(Staff.get_or_none(Staff.username == "h-t") or make_staff("h-t", "clerk", "health"), req, 1)
    workflow.accept(make_staff(f"c-t{req.id}", "clerk", "compensation"), Request.get_by_id(req.id), 2)
    req = Request.get_by_id(req.id)
    assert (req.stage.code, req.stage.role, req.department.code, req.status) == ("head_approval", "head", "health",
                                                                                 "open")
    return req


def test_the_definitions_load_the_role_and_refuse_an_unknown_one(ctx, tmp_path, app):
    assert Stage.get((Stage.code == "head_approval") & Stage.last_version.is_null()).role == "head"
    assert Stage.get((Stage.code == "medical_review") & Stage.last_version.is_null()).role is None
    text = open(app.config["REQUEST_TYPES_FILE"], encoding="utf-8").read()
    bad = tmp_path / "types.toml"
    bad.write_text(text.replace('role = "head"', 'role = "chief"'), encoding="utf-8")
    with pytest.raises(definitions.DefinitionError):
        definitions.load(bad)
    assert Stage.get((Stage.code == "head_approval") & Stage.last_version.is_null()).role == "head"  # all or nothing
    bad.write_text(text.replace('role = "head", ', ""), encoding="utf-8")
    definitions.load(bad)  # a role taken out of the file is taken off the stage
    assert Stage.get((Stage.code == "head_approval") & Stage.last_version.is_null()).role is None
    definitions.load(app.config["REQUEST_TYPES_FILE"])
    assert Stage.get((Stage.code == "head_approval") & Stage.last_version.is_null()).role == "head"


def test_head1_signs_in_from_the_directory_as_the_head_and_starts_on_their_list(auth, client, data):
    response = auth.login("head1")
    assert response.status_code == 302
    with data():
        head = Staff.get(Staff.username == "head1")
        assert (head.role, head.department_id) == ("head", None)
    home = client.get("/", follow_redirects=False)
    assert home.headers["Location"].endswith("/approvals/")
    page = client.get("/approvals/")
    assert page.status_code == 200 and "بانتظار موافقتي" in page.text and "لا شيء بانتظار موافقتك" in page.text
    assert client.get("/queues/").status_code == 403  # no department queue is theirs


def test_the_head_decides_and_is_the_person_in_the_history(auth, client, data):
    with data():
        req = at_head_stage()
        other = make_request("inquiry")  # a stage that requires no role: not on the head's list
    auth.login("head1")
    page = client.get("/approvals/")
    assert req.tracking_number in page.text and other.tracking_number not in page.text
    assert "طلب واحد بانتظار قرارك" in page.text
    panel = client.get(f"/requests/{req.tracking_number}")
    assert 'id="action-form"' in panel.text and 'id="decided-by"' not in panel.text
    response = act(client, req.tracking_number, "accept", req.version, "موافق على الصرف")
    assert response.status_code == 303
    with data():
        done = Request.get_by_id(req.id)
        assert done.status == "completed"
        last = HistoryEntry.select().where(HistoryEntry.request == req.id).order_by(HistoryEntry.id.desc()).first()
        assert (last.action, last.actor.username, last.actor.role) == ("accept", "head1", "head")
        # the payout's maker is the head: a real person on the four-eyes list, never a clerk's name
        from intranet.models.payouts import Payout
        if done.amount is not None:
            assert Payout.get(Payout.request == req.id).made_by.username == "head1"
    assert req.tracking_number not in client.get("/approvals/").text


def test_the_head_returns_it_with_a_reason(auth, client, data):
    with data():
        req = at_head_stage()
    auth.login("head1")
    response = act(client, req.tracking_number, "return", req.version, "الفاتورة غير مختومة")
    assert response.status_code == 303
    with data():
        back = Request.get_by_id(req.id)
        assert (back.stage.code, back.status, back.department.code) == ("compensation_check", "returned",
                                                                        "compensation")


@pytest.mark.parametrize("action", ["accept", "reject", "return", "claim"])
def test_a_clerk_of_the_department_sees_it_but_may_not_decide(auth, client, data, action):
    with data():
        req = at_head_stage()
    auth.login("health1")
    panel = client.get(f"/requests/{req.tracking_number}")
    assert panel.status_code == 200
    assert 'id="decided-by"' in panel.text and "بانتظار موافقة رئيس المؤسسة" in panel.text
    assert 'id="action-form"' not in panel.text
    response = act(client, req.tracking_number, action, req.version, "موافق")
    assert response.status_code == 403 and "لا يمكنك" in response.text
    with data():
        assert Request.get_by_id(req.id).version == req.version
        assert HistoryEntry.select().where(HistoryEntry.request == req.id).count() == 3


def test_the_panel_in_english_names_who_decides(auth, client, data):
    with data():
        req = at_head_stage()
    auth.login("health1")
    client.post("/language", data={"lang": "en", "next": "/", "csrf_token": csrf_token(client, "/")})
    panel = client.get(f"/requests/{req.tracking_number}")
    assert "Awaiting the head&#39;s approval" in panel.text or "Awaiting the head's approval" in panel.text


def test_a_supervisor_does_not_decide_the_heads_stage(ctx):
    req = at_head_stage()
    boss = make_staff("boss-t", "supervisor", None)
    assert workflow.allowed_actions(req, boss) == []
    with pytest.raises(workflow.NotAllowed):
        workflow.accept(boss, req, req.version)


def test_take_next_and_reassignment_never_give_it_to_a_clerk(ctx):
    waiting = at_head_stage()
    clerk = Staff.get(Staff.username == "h-t")
    assert workflow.take_next(clerk, clerk.department) is None  # the only open work in Health waits for the head
    fresh = make_request("health_care")
    taken = workflow.take_next(clerk, clerk.department)
    assert taken.request.id == fresh.id
    boss = make_staff("boss-t", "supervisor", None)
    assert workflow.take_next(boss, clerk.department) is None
    assert workflow.assign(boss, [waiting.id], clerk) == []
    assert Request.get_by_id(waiting.id).assignee_id is None


def test_the_heads_list_pages_by_key(auth, client, data, app):
    app.config["QUEUE_PAGE_SIZE"] = 2
    with data():
        numbers = [at_head_stage().tracking_number for _ in range(3)]
    auth.login("head1")
    first = client.get("/approvals/")
    assert sum(n in first.text for n in numbers) == 2 and "3 طلبات بانتظار قرارك" in first.text
    after = first.text.split('href="/approvals/?after=')[1].split('"')[0]
    second = client.get(f"/approvals/?after={after}")
    assert sum(n in second.text for n in numbers) == 1 and 'href="/approvals/?after=' not in second.text
    assert client.get("/approvals/?after=abc").status_code == 200  # a malformed key: the first page


def test_only_the_head_has_the_list(auth, client):
    auth.login("health1")
    assert client.get("/approvals/").status_code == 403
