"""The audit trail's page: who may read it, entries escaped and paged newest first, the chain checked on demand."""
import re

import pytest

from intranet.models import Staff
from intranet.payouts import audit, audit_views
from tests.conftest import csrf_token
from tests.factories import make_staff
from tests.test_payout_audit import _behind_the_back

PAGE = "/payouts/audit/"


@pytest.mark.parametrize("username, status", [
    ("supervisor1", 200), ("admin1", 200), ("health1", 403), ("reception1", 403)])
def test_only_supervisors_and_administrators_read_it(auth, client, username, status):
    auth.login(username)
    assert client.get(PAGE).status_code == status
    answer = client.post(f"{PAGE}verify", data={"csrf_token": csrf_token(client, "/")})
    assert answer.status_code == status


def test_anonymous_is_sent_to_sign_in(client):
    answer = client.get(PAGE)
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_entries_newest_first_and_escaped(auth, client, data):
    with data():
        boss = make_staff("boss", "supervisor", None)
        Staff.update(full_name="<b>Boss</b>").where(Staff.id == boss.id).execute()
        first = audit.append(boss, "approve", note="<script>alert(1)</script>", amount="1250.500")
        second = audit.append(None, "export", batch=7)
    auth.login("admin1")
    page = client.get(PAGE).text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>Boss</b>" not in page and "&lt;b&gt;Boss&lt;/b&gt;" in page
    assert page.index(f'id="audit-entry-{second.id}"') < page.index(f'id="audit-entry-{first.id}"')
    assert first.hash[:12] in page and second.hash[:12] in page
    assert "1,250.50 QAR" in page  # label and value, the amount in the currency's decimals


def test_pages_by_key(auth, client, data, monkeypatch):
    monkeypatch.setattr(audit_views, "PAGE_SIZE", 3)
    with data():
        entries = [audit.append(None, "approve", n=n) for n in range(7)]
    auth.login("supervisor1")
    shown = []
    path = PAGE
    while path:
        page = client.get(path).text
        shown += [int(n) for n in re.findall(r'id="audit-entry-(\d+)"', page)]
        older = re.search(r"href=\"/payouts/audit/\?before=(\d+)\">", page)
        path = f"{PAGE}?before={older.group(1)}" if older else None
    assert shown == [e.id for e in reversed(entries)]


def test_verify_says_intact(auth, client, data):
    with data():
        for n in range(3):
            audit.append(None, "approve", n=n)
    auth.login("supervisor1")
    answer = client.post(f"{PAGE}verify", data={"csrf_token": csrf_token(client, PAGE)})
    assert answer.status_code == 200
    assert 'id="audit-verdict"' in answer.text and "3" in answer.text.split('id="audit-verdict"')[1][:400]


def test_verify_names_the_broken_entry(auth, client, data):
    with data():
        entries = [audit.append(None, "approve", n=n) for n in range(4)]
        _behind_the_back(f'UPDATE "payout_audit" SET "details" = \'not json\' WHERE "id" = {entries[2].id}')
    auth.login("supervisor1")
    client.post("/language", data={"lang": "en", "csrf_token": csrf_token(client, PAGE), "next": PAGE})
    answer = client.post(f"{PAGE}verify", data={"csrf_token": csrf_token(client, PAGE)})
    verdict = answer.text.split('id="audit-verdict"')[1][:600]
    assert f"broken at entry {entries[2].id}" in verdict and "2 entries before it" in verdict
    assert "does not match its hash" in verdict
    assert "not json" in answer.text  # the changed row still shows, as stored


def test_verify_in_english_says_intact_with_the_count(auth, client, data):
    with data():
        audit.append(None, "approve")
    auth.login("admin1")
    client.post("/language", data={"lang": "en", "csrf_token": csrf_token(client, PAGE), "next": PAGE})
    answer = client.post(f"{PAGE}verify", data={"csrf_token": csrf_token(client, PAGE)})
    assert "The chain is intact: 1 entry checked." in answer.text


def test_details_read_as_labels_and_values_in_the_readers_language(auth, client, data):
    """Was: the raw JSON of each entry and its action's code beside its name."""
    with data():
        boss = make_staff("boss", "supervisor", None)
        audit.append(boss, "payout_created", None, request="26-0000001-5", amount="623708.820", currency="QAR",
                     iban="QA58DOHB00001234567890ABCDEFG", duplicates=[], approvals_needed=2, replaces=7)
        audit.append(None, "batch_released", None, batch=3, reference="DIWAN-1", runs=1,
                     files={"csv": {"sha256": "ab" * 32, "count": 2, "sum": "1250.5"}})
        audit.append(boss, "payout_rejected", None, reason="الآيبان لا يخص المستفيد", amount="300")
    auth.login("supervisor1")
    page = client.get(PAGE).text
    table = page.split('<table class="queue audit">')[1]
    assert "{" not in table and "&#34;" not in table and "&quot;" not in table  # no JSON left
    assert "payout_created" not in table and "أُنشئت الدفعة" in table  # the event's name, not its code
    details = re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", table)
    pairs = {label: re.sub(r"<[^>]+>", "", value) for label, value in details}
    assert pairs["المبلغ"] in ("623,708.82 QAR", "300.00 QAR")
    assert "623,708.82 QAR" in table and "623,708.820" not in table
    assert pairs["بدلًا من الدفعة المرفوضة"] == "7" and pairs["الموافقات المطلوبة"] == "2"
    assert pairs["السبب"] == "الآيبان لا يخص المستفيد"
    assert "CSV" in pairs and "1,250.50 QAR" in pairs["CSV"] and ("ab" * 6 + "…") in pairs["CSV"]
    assert "قد تكرر الدفعات" not in pairs  # nothing to say, not said
    client.post("/language", data={"lang": "en", "csrf_token": csrf_token(client, PAGE), "next": PAGE})
    english = client.get(PAGE).text.split('<table class="queue audit">')[1]
    assert "<dt>Replaces the rejected payout</dt>" in english and "<dt>Reason</dt>" in english
    assert ">Payout made<" in english and ">Files released<" in english


def test_an_intact_chain_is_a_success_and_a_broken_one_an_error(auth, client, data):
    with data():
        entries = [audit.append(None, "payout_approved", n=n) for n in range(2)]
    auth.login("supervisor1")
    intact = client.post(f"{PAGE}verify", data={"csrf_token": csrf_token(client, PAGE)}).text
    verdict = intact.split('id="audit-verdict"')[1][:400]
    assert "flash-success" in verdict and 'class="alert' not in verdict  # was a red alert box
    with data():
        _behind_the_back(f'UPDATE "payout_audit" SET "details" = \'not json\' WHERE "id" = {entries[1].id}')
    broken = client.post(f"{PAGE}verify", data={"csrf_token": csrf_token(client, PAGE)}).text
    verdict = broken.split('id="audit-verdict"')[1][:600]
    assert 'class="alert' in verdict and "flash-success" not in verdict
    assert '<code class="audit-raw" dir="ltr">not json</code>' in broken
