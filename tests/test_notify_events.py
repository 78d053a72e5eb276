"""An SMS (and an e-mail when the citizen gave one) at every step the citizen should hear of, written in the
same transaction as the step, in the citizen's language, once per step."""
import pytest

from intranet import workflow
from intranet.models import HistoryEntry, Notification, Request
from tests.factories import make_citizen, make_request, make_staff


def messages(req, channel="sms"):
    return list(Notification.select().where((Notification.request == req.id) & (Notification.channel == channel))
                .order_by(Notification.id))


def act(fn, actor, req, *args, **kwargs):
    fresh = Request.get_by_id(req.id)
    return fn(actor, fresh, fresh.version, *args, **kwargs).request


@pytest.fixture
def people(ctx):
    return {"health": make_staff("h1", "clerk", "health"), "comp": make_staff("c1", "clerk", "compensation")}


def test_every_step_the_citizen_hears_of(ctx, people):
    citizen = make_citizen(email="fatima@example.com")
    req = make_request(citizen=citizen, amount=None)
    assert [n.event for n in messages(req)] == ["request_received"]
    req = act(workflow.claim, people["health"], req)  # internal: nothing
    req = act(workflow.return_, people["health"], req, "أرفق التقرير الطبي", missing=["medical_report"])
    req = act(workflow.resubmit, make_staff("desk1", "reception", "reception"), req, "أحضر التقرير")
    req = act(workflow.claim, people["health"], req)
    req = act(workflow.accept, people["health"], req)  # Health -> Compensation
    assert [n.event for n in messages(req)] == ["request_received", "returned", "moved_on"]
    req = act(workflow.claim, people["comp"], req)
    req = act(workflow.return_, people["comp"], req, "الفاتورة غير مختومة")  # back to Health: internal
    req = act(workflow.resubmit, people["health"], req, "خُتمت الفاتورة")  # internal too
    req = act(workflow.claim, people["comp"], req)
    req = act(workflow.reject, people["comp"], req, "المبلغ خارج نطاق المنحة")
    sms = messages(req)
    assert [n.event for n in sms] == ["request_received", "returned", "moved_on", "rejected"]
    assert all(n.recipient == citizen.phone and n.language == "ar" and n.status == "queued" for n in sms)
    assert all(req.tracking_number in n.body for n in sms)
    returned, rejected = sms[1], sms[3]
    assert "التقرير الطبي" in returned.body  # what is missing, by name, in Arabic
    assert "المبلغ خارج نطاق المنحة" in rejected.body
    # each message sits beside the step that caused it
    assert all(HistoryEntry.get_by_id(n.history_id).request_id == req.id for n in sms)
    mails = messages(req, "email")
    assert [n.event for n in mails] == [n.event for n in sms]
    assert all(n.recipient == "fatima@example.com" and n.subject for n in mails)


def test_english_citizen_and_completion(ctx, people):
    citizen = make_citizen(preferred_language="en")
    req = make_request("inquiry", citizen=citizen)
    clerk = make_staff("ci1", "clerk", "citizens")
    req = act(workflow.claim, clerk, req)
    req = act(workflow.accept, clerk, req, "Your answer is ready.")
    sms = messages(req)
    assert [n.event for n in sms] == ["request_received", "completed"]
    assert all(n.language == "en" and req.tracking_number in n.body for n in sms)
    assert not any("\u0600" <= ch <= "\u06ff" for n in sms for ch in n.body.replace(req.request_type.name_ar, ""))
    assert messages(req, "email") == []  # no address on file


def test_a_step_that_fails_queues_nothing(ctx, people):
    req = make_request()
    stale = Request.get_by_id(req.id)
    act(workflow.claim, people["health"], req)
    with pytest.raises(workflow.StaleRequest):
        workflow.reject(people["health"], stale, stale.version, "late")
    assert [n.event for n in messages(req)] == ["request_received"]


def test_the_same_step_is_never_told_twice(ctx):
    from intranet.notify import events
    req = make_request()
    entry = HistoryEntry.get(HistoryEntry.request == req.id)
    assert events.queue_citizen("request_received", req, entry) == 0  # the workflow already queued it
    assert Notification.select().where(Notification.request == req.id).count() == 1
