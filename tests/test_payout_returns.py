"""The bank's return file: applied once, refused whole when malformed, reconciled; failed payouts put back."""
import io
from decimal import Decimal

import pytest

from intranet.models import Notification, utcnow
from intranet.models.payouts import AuditEntry, BankReturn, BatchItem, Payout, PayoutBatch
from intranet.notify import events, wording
from intranet.payouts import audit, returns
from intranet.payouts.service import PayoutRefused
from tests.conftest import csrf_token
from tests.factories import make_citizen, make_staff
from tests.test_payouts import IBAN, complete

REFERENCE = "DIWAN-TEST-0001"
AMOUNTS = ("1250.500", "300.000", "75.250", "40.000")


def released_batch(staff, amounts=AMOUNTS, status="released", reference=REFERENCE, prefix="E2E") -> PayoutBatch:
    """Completed money requests' payouts, exported in a released batch made here directly (items E2E-1, E2E-2…)."""
    payouts = [Payout.get(Payout.request == complete(staff, amount=amount, citizen=make_citizen(iban=IBAN)).id)
               for amount in amounts]
    Payout.update(status="exported" if status == "released" else "batched").where(
        Payout.id.in_([p.id for p in payouts])).execute()
    batch = PayoutBatch.create(reference=reference, bank="test", pain_version="pain.001.001.09", currency="QAR",
                               status=status, item_count=len(payouts), item_total=sum(p.amount for p in payouts),
                               created_by=staff["boss"].id, released_at=utcnow() if status == "released" else None)
    for seq, payout in enumerate(payouts, start=1):
        BatchItem.create(batch=batch.id, payout=payout.id, seq=seq, end_to_end=f"{prefix}-{seq}", amount=payout.amount,
                         iban=payout.iban, beneficiary=payout.beneficiary, tracking_number=payout.request.tracking_number,
                         national_id=payout.citizen.national_id, request_type=payout.request_type_id)
    return batch


def csv_file(*lines, header="end_to_end,status,amount,iban,reason,message_id") -> bytes:
    return ("\n".join((header, *lines)) + "\n").encode()


MIXED = csv_file(
    f"E2E-1,paid,1250.500,{IBAN},,{REFERENCE}",
    "E2E-2,FAILED,300.000,,Account closed,",
    "NOT-OURS-9,paid,10.000,,,",
    "E2E-3,paid,99.000,,,",  # the bank says another amount: a conflict
)  # E2E-4: no answer yet


def status_of(n) -> str:
    return Payout.get_by_id(BatchItem.get(BatchItem.end_to_end == f"E2E-{n}").payout_id).status


def sent(event="payout_sent") -> int:
    return Notification.select().where(Notification.event == event).count()


@pytest.fixture
def staff(ctx):
    return {"health": make_staff("h1", "clerk", "health"), "comp": make_staff("c1", "clerk", "compensation"),
            "boss": make_staff("boss1", "supervisor", None), "admin": make_staff("adm1", "admin", None)}


def test_paid_failed_unknown_and_conflicting_lines(staff):
    batch = released_batch(staff)
    imported = returns.import_file(staff["boss"], batch, "bank.csv", MIXED)
    assert [status_of(n) for n in (1, 2, 3, 4)] == ["paid", "failed", "exported", "exported"]
    assert (imported.lines, imported.paid, imported.failed, imported.already, imported.unknown, imported.conflicts) \
        == (4, 1, 1, 0, 1, 1)
    assert (imported.paid_total, imported.failed_total) == (Decimal("1250.500"), Decimal("300.000"))
    assert [(p["line"], p["reference"], p["problem"]) for p in imported.problems] == [
        (4, "NOT-OURS-9", "unknown"), (5, "E2E-3", "amount")]
    assert imported.problems[1]["file"] == "99.000" and imported.problems[1]["sent"] == "75.250"
    failed_item = BatchItem.get(BatchItem.end_to_end == "E2E-2")
    assert (failed_item.outcome, failed_item.outcome_reason) == ("failed", "Account closed")
    paid = Payout.get_by_id(BatchItem.get(BatchItem.end_to_end == "E2E-1").payout_id)
    sms = Notification.get((Notification.event == "payout_sent") & (Notification.channel == "sms"))
    assert sent() == 1 and sms.request_id == paid.request_id and wording.amount_text(paid.amount, "ar") in sms.body
    actions = [e.action for e in AuditEntry.select().where(AuditEntry.action != "payout_created")]
    assert actions == ["payout_paid", "payout_failed", "bank_return_imported"]
    assert audit.AuditEntry.get(AuditEntry.action == "bank_return_imported").info["sha256"] == imported.sha256
    assert audit.verify().ok


def test_the_same_file_again_changes_nothing(staff):
    batch = released_batch(staff)
    returns.import_file(staff["boss"], batch, "bank.csv", MIXED)
    entries, notifications = AuditEntry.select().count(), Notification.select().count()
    again = returns.import_file(staff["boss"], batch, "bank.csv", MIXED)
    assert (again.paid, again.failed, again.already, again.unknown, again.conflicts) == (0, 0, 2, 1, 1)
    assert Notification.select().count() == notifications and sent() == 1
    assert AuditEntry.select().count() == entries + 1
    assert AuditEntry.select().order_by(AuditEntry.id.desc()).first().action == "bank_return_imported"
    paid = Payout.get_by_id(BatchItem.get(BatchItem.end_to_end == "E2E-1").payout_id)
    # the dedupe key alone would keep a second message out too
    assert events.queue_citizen("payout_sent", paid.request, key=f"payout-{paid.id}") == 0
    assert audit.verify().ok


def test_paid_after_failed_and_failed_after_paid_are_conflicts(staff):
    batch = released_batch(staff)
    returns.import_file(staff["boss"], batch, "first.csv", MIXED)
    flipped = returns.import_file(staff["boss"], batch, "second.csv", csv_file(
        "E2E-1,RJCT,1250.500,,Insufficient details,", "E2E-2,ACSC,300.000,,,"))
    assert (flipped.conflicts, flipped.paid, flipped.failed) == (2, 0, 0)
    assert {p["problem"] for p in flipped.problems} == {"failed_after_paid", "paid_after_failed"}
    assert [status_of(n) for n in (1, 2)] == ["paid", "failed"] and sent() == 1


def test_semicolons_a_bom_and_iso_codes(staff):
    batch = released_batch(staff)
    content = "\ufeffEnd_To_End;Status;Amount;Reason\r\nE2E-1;ACCC;1250.5;\r\nE2E-2;rjct;300;AC04 closed\r\n"
    imported = returns.import_file(staff["boss"], batch, "bank.csv", content.encode())
    assert (imported.paid, imported.failed) == (1, 1)
    assert [status_of(n) for n in (1, 2)] == ["paid", "failed"]


def test_an_iban_other_than_the_one_sent_is_a_conflict(staff):
    batch = released_batch(staff)
    imported = returns.import_file(staff["boss"], batch, "bank.csv", csv_file(
        "E2E-1,paid,1250.500,QA00 OTHE R000 0000 0000 0000 0000 0,,"))
    assert imported.conflicts == 1 and imported.problems[0]["problem"] == "iban" and status_of(1) == "exported"


def test_reconciliation(staff):
    batch = released_batch(staff)
    before = returns.reconcile(batch)
    assert (before.awaiting, before.awaiting_total, before.matches_batch, before.reconciled) == (
        4, Decimal("1665.750"), True, False)
    returns.import_file(staff["boss"], batch, "bank.csv", MIXED)
    partial = returns.reconcile(batch)
    assert (partial.paid, partial.paid_total, partial.failed, partial.failed_total) == (
        1, Decimal("1250.500"), 1, Decimal("300.000"))
    assert (partial.awaiting, partial.awaiting_total, partial.reconciled) == (2, Decimal("115.250"), False)
    assert [(d["reference"], d["file"], d["sent"]) for d in partial.differing] == [("E2E-3", "99.000", "75.250")]
    other = released_batch(staff, ("10.000", "20.000"), reference="DIWAN-TEST-0002", prefix="B")  # answered in full
    returns.import_file(staff["boss"], other, "b.csv", csv_file("B-1,paid,10,,,", "B-2,failed,20,,x,"))
    done = returns.reconcile(other)
    assert done.reconciled and (done.paid, done.failed, done.awaiting) == (1, 1, 0)


MALFORMED = {
    "not utf-8": ("end_to_end,status,amount\nE2E-1,paid,1250.500\nE2E-2,failed,300,Café\n".encode("latin-1")
                  + b"\xe9\xff\n", "ليس نصًا بترميز UTF-8"),
    "no header": (b"\nE2E-1,paid,1250.500\n", "لا يوجد في الملف سطر عناوين"),
    "missing column": (csv_file("E2E-1,paid", header="end_to_end,status"), "أعمدة مطلوبة غير موجودة: amount"),
    "bad status": (csv_file("E2E-1,paid,1250.500,,,", "E2E-2,maybe,300.000,,,"), "حالة غير معروفة &#34;maybe&#34;"),
    "bad amount": (csv_file("E2E-1,paid,1250.500,,,", "E2E-2,paid,-300,,,"), "ليس مبلغًا موجبًا"),
    "text amount": (csv_file("E2E-1,paid,1250.500,,,", "E2E-2,paid,three hundred,,,"), "ليس مبلغًا موجبًا"),
    "too many cells": (csv_file("E2E-1,paid,1250.500,,,", "E2E-2,paid,1,300.000,,,"), "في هذا السطر خلايا أكثر"),
    "empty end_to_end": (csv_file("E2E-1,paid,1250.500,,,", ",paid,300.000,,,"), "المرجع الشامل فارغ"),
    "other batch": (csv_file("E2E-1,paid,1250.500,,,DIWAN-OTHER"), "ليس مرجع هذه الحزمة"),
    "twice": (csv_file("E2E-1,paid,1250.500,,,", "E2E-1,paid,1250.500,,,"), "موجود من قبل في السطر 2"),
    "empty": (b"", "الملف فارغ"),
}


def upload(client, batch_id, content, name="bank.csv"):
    return client.post(f"/payouts/batches/{batch_id}/returns", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, "/payouts/failed"), "file": (io.BytesIO(content), name)})


@pytest.fixture
def batch_id(data):
    with data():
        staff = {"health": make_staff("h1", "clerk", "health"), "comp": make_staff("c1", "clerk", "compensation"),
                 "boss": make_staff("boss1", "supervisor", None)}
        return released_batch(staff).id


def _unchanged(data):
    with data():
        assert BankReturn.select().count() == 0 and sent() == 0
        assert not AuditEntry.select().where(AuditEntry.action != "payout_created").exists()
        assert {p.status for p in Payout.select()} == {"exported"}


@pytest.mark.parametrize("kind", MALFORMED)
def test_a_malformed_file_is_refused_whole(client, auth, batch_id, data, kind):
    content, arabic = MALFORMED[kind]
    auth.login("supervisor1")
    answer = upload(client, batch_id, content)
    assert answer.status_code == 422 and arabic in answer.text and 'role="alert"' in answer.text
    assert 'aria-invalid="true"' in answer.text
    _unchanged(data)


def test_a_batch_not_released_is_refused(client, auth, data):
    with data():
        staff = {"health": make_staff("h1", "clerk", "health"), "comp": make_staff("c1", "clerk", "compensation"),
                 "boss": make_staff("boss1", "supervisor", None)}
        batch = released_batch(staff, status="draft")
        with pytest.raises(returns.FileRefused):
            returns.import_file(staff["boss"], batch, "bank.csv", MIXED)
    auth.login("supervisor1")
    answer = upload(client, batch.id, MIXED)
    assert answer.status_code == 422 and "لم تُسلَّم هذه الحزمة إلى البنك بعد" in answer.text
    with data():
        assert BankReturn.select().count() == 0 and {p.status for p in Payout.select()} == {"batched"}


def test_uploading_shows_the_report(client, auth, batch_id, data):
    auth.login("supervisor1")
    answer = upload(client, batch_id, MIXED)
    assert answer.status_code == 303 and "/payouts/returns/" in answer.headers["Location"]
    page = client.get(answer.headers["Location"]).text
    assert 'id="problem-line-4"' in page and "NOT-OURS-9" in page and 'id="problem-line-5"' in page
    assert "لا توجد في هذه الحزمة دفعة بهذا المرجع الشامل" in page and "لم تكتمل المطابقة بعد" in page
    assert "استُورد ملف رد البنك" in page  # the flash with the counts
    again = upload(client, batch_id, MIXED)
    assert 'id="imported-before"' in client.get(again.headers["Location"]).text
    failed = client.get("/payouts/failed").text
    assert "Account closed" in failed and REFERENCE in failed and failed.count('id="failed-row-') == 1
    assert "/reception/citizens/" in failed and "/requests/" in failed


def test_the_example_file_lists_the_batch_and_is_not_importable_as_it_is(client, auth, batch_id):
    auth.login("admin1")
    example = client.get(f"/payouts/batches/{batch_id}/returns/example.csv")
    assert example.status_code == 200 and example.mimetype == "text/csv"
    text = example.data.decode("utf-8-sig")
    assert text.splitlines()[0] == "end_to_end,status,amount,iban,reason,message_id"
    assert text.splitlines()[1] == f"E2E-1,,1250.500,{IBAN},,{REFERENCE}" and len(text.splitlines()) == 5
    auth.logout()
    auth.login("supervisor1")
    assert upload(client, batch_id, example.data).status_code == 422  # the status is for the bank to fill in


def test_putting_failed_payouts_back(staff):
    batch = released_batch(staff)
    returns.import_file(staff["boss"], batch, "bank.csv", MIXED)
    failed = BatchItem.get(BatchItem.end_to_end == "E2E-2").payout_id
    paid = BatchItem.get(BatchItem.end_to_end == "E2E-1").payout_id
    with pytest.raises(PayoutRefused):
        returns.put_back(staff["health"], [failed], True)
    with pytest.raises(PayoutRefused):
        returns.put_back(staff["admin"], [failed], True)
    with pytest.raises(PayoutRefused):
        returns.put_back(staff["boss"], [failed], False)
    decision = returns.put_back(staff["boss"], [failed, paid, 999999], True)
    assert decision.done == [failed] and set(decision.refused) == {paid, 999999}
    assert "ليست فاشلة" in decision.refused[paid]
    assert Payout.get_by_id(failed).status == "approved"
    assert BatchItem.get(BatchItem.end_to_end == "E2E-2").outcome == "failed"  # kept as history
    assert AuditEntry.select().where((AuditEntry.action == "payout_put_back")
                                     & (AuditEntry.payout == failed)).count() == 1
    second = PayoutBatch.create(reference="DIWAN-TEST-0002", bank="test", pain_version="pain.001.001.09",
                                currency="QAR", created_by=staff["boss"].id)
    BatchItem.create(batch=second.id, payout=failed, seq=1, end_to_end="E2E-2-AGAIN", amount=Decimal("300"),
                     iban=IBAN, beneficiary="x", tracking_number="26-0000001-8", national_id="28463400123",
                     request_type=Payout.get_by_id(failed).request_type_id)  # the failed item no longer holds the payout
    assert returns.put_back(staff["boss"], [failed], True).done == []
    assert audit.verify().ok


def test_put_back_over_http_needs_the_password_again(client, auth, batch_id, data):
    with data():
        returns.import_file(make_staff("boss2", "supervisor", None), PayoutBatch.get_by_id(batch_id), "b.csv", MIXED)
        failed = BatchItem.get(BatchItem.end_to_end == "E2E-2").payout_id
    auth.login("admin1")
    assert client.get("/payouts/failed").status_code == 200
    assert 'name="ids"' not in client.get("/payouts/failed").text
    token = csrf_token(client, "/payouts/failed")
    assert client.post("/payouts/failed/put-back", data={"csrf_token": token, "ids": [str(failed)]}).status_code == 403
    auth.logout()
    auth.login("supervisor1")
    token = csrf_token(client, "/payouts/failed")
    first = client.post("/payouts/failed/put-back", data={"csrf_token": token, "ids": [str(failed)]})
    assert first.status_code == 200 and 'type="password"' in first.text  # the prompt, carrying the payout
    assert f'name="ids" value="{failed}"' in first.text and 'action="/payouts/failed/put-back"' in first.text
    with data():
        assert Payout.get_by_id(failed).status == "failed"
    again = client.post("/payouts/failed/put-back", data={"csrf_token": token, "ids": [str(failed)],
                                                          "password": "demo"})
    assert again.status_code == 303 and again.headers["Location"] == "/payouts/failed"
    with data():
        assert Payout.get_by_id(failed).status == "approved"
    assert 'id="failed-row-' not in client.get("/payouts/failed").text


def test_who_may_use_each_route(client, auth, batch_id, data):
    with data():
        returns.import_file(make_staff("boss2", "supervisor", None), PayoutBatch.get_by_id(batch_id), "b.csv", MIXED)
        return_id = BankReturn.get().id
    reads = [f"/payouts/returns/{return_id}", f"/payouts/batches/{batch_id}/returns/example.csv", "/payouts/failed"]
    writes = [f"/payouts/batches/{batch_id}/returns", "/payouts/failed/put-back"]
    for path in reads:
        assert client.get(path).status_code == 302  # to sign in
    auth.login("health1")
    token = csrf_token(client)
    assert [client.get(path).status_code for path in reads] == [403] * 3
    assert [client.post(path, data={"csrf_token": token}).status_code for path in writes] == [403] * 2
    auth.logout()
    auth.login("admin1")
    token = csrf_token(client)
    assert [client.get(path).status_code for path in reads] == [200] * 3
    assert [client.post(path, data={"csrf_token": token}).status_code for path in writes] == [403] * 2
    auth.logout()
    auth.login("supervisor1")
    assert client.get("/payouts/returns/999999").status_code == 404
    assert client.get("/payouts/batches/999999/returns/example.csv").status_code == 404
    assert upload(client, 999999, MIXED).status_code == 404
    missing = client.post(f"/payouts/batches/{batch_id}/returns", data={"csrf_token": csrf_token(client)})
    assert missing.status_code == 422 and "اختر ملف رد البنك" in missing.text
