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
    assert "&#34;amount&#34;: &#34;1250.500&#34;" in page or "&quot;amount&quot;: &quot;1250.500&quot;" in page


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
    assert "The chain is intact: 1 entries checked." in answer.text
