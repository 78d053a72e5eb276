"""The supervisor's approval screen: filters, totals of the ticked payouts only (in the currency's decimals), and
decisions after a fresh password: the prompt carries the ticked payouts, the decision and the filters, and
completes the decision."""

import re

import pytest

from intranet.models.payouts import Payout
from intranet.payouts import views
from tests.conftest import csrf_token
from tests.test_payouts import complete

PATH = "/payouts/"


@pytest.fixture
def payouts(data):
    from tests.factories import make_staff
    with data():
        staff = {"health": make_staff("h1", "clerk", "health"), "comp": make_staff("c1", "clerk", "compensation")}
        return [Payout.get(Payout.request == complete(staff, amount=amount).id).id
                for amount in ("1250.50", "300", "9999.99")]


SELECTION = re.compile(r'<p id="payout-selection"[^>]*>(.*?)</p>', re.S)


def selection_text(html: str) -> str:
    return SELECTION.search(html).group(1)


def reauthenticate(client, password="demo"):
    return client.post("/reauth/", data={"csrf_token": csrf_token(client, "/reauth/"), "password": password,
                                         "next": PATH})


def test_only_supervisors_and_administrators_see_it(client, auth, payouts):
    assert client.get(PATH).status_code == 302  # to sign in
    auth.login("health1")
    assert client.get(PATH).status_code == 403
    auth.logout()
    auth.login("supervisor1")
    page = client.get(PATH)
    assert page.status_code == 200 and page.text.count('id="payout-row-') == 3


def test_filters_and_totals_in_the_currency_decimals(client, auth, payouts):
    auth.login("supervisor1")
    page = client.get(PATH + "?min=1000&max=5000").text
    assert page.count('id="payout-row-') == 1 and "1,250.50 QAR" in page and "1,250.500" not in page
    everything = client.get(PATH).text
    assert "11,550.49 QAR" in everything  # the filters' count and sum, above the table
    ticked = client.post(PATH + "selection", data={"ids": [str(i) for i in payouts[:2]]},
                         headers={"HX-Request": "true", "X-CSRFToken": csrf_token(client, PATH)})
    assert "1,550.50 QAR" in ticked.text  # 1,250.50 + 300.00, summed in Decimal


def test_nothing_ticked_shows_no_totals(client, auth, payouts):
    """Was: "Ticked: 3 payouts, 11,550.490 QAR" with nothing ticked (the filters' totals, in the ticked line)."""
    auth.login("supervisor1")
    shown = selection_text(client.get(PATH).text)
    assert "11,550.49" not in shown and "3" not in shown and "لم تُحدَّد أي دفعة" in shown
    token = csrf_token(client, PATH)
    for ids in ([], ["²"], ["-1", "abc", "1.5", "99999999999999999999"]):
        answer = client.post(PATH + "selection", data={"ids": ids}, headers={"HX-Request": "true",
                                                                             "X-CSRFToken": token})
        assert answer.status_code == 200 and "لم تُحدَّد أي دفعة" in answer.text


@pytest.mark.parametrize("query", ["min=nan", "max=Infinity", "min=1e99999", "min=-5", "age=99999999999",
                                   "age=٣", "type=²", "after=99999999999999999999", "ticked=²&ticked=9999999999"])
def test_bad_filters_are_ignored_never_a_500(client, auth, payouts, query):
    auth.login("supervisor1")
    answer = client.get(f"{PATH}?{query}")
    assert answer.status_code == 200 and answer.text.count('id="payout-row-') in (0, 3)


def test_the_next_page_keeps_the_filters(client, auth, payouts, monkeypatch):
    """Was a 500 from the second page on: the next page's link repeated `after`."""
    monkeypatch.setattr(views, "PAGE", 1)
    auth.login("supervisor1")
    path = PATH + "?max=5000"
    shown = []
    while path:
        page = client.get(path)
        assert page.status_code == 200
        shown += [int(n) for n in re.findall(r'id="payout-row-(\d+)"', page.text)]
        following = re.search(r'href="(/payouts/\?[^"]*after=[^"]*)">', page.text)
        path = following.group(1).replace("&amp;", "&") if following else None
        assert path is None or "max=5000" in path
    assert shown == payouts[:2]


def test_the_password_prompt_carries_the_selection_and_completes_the_decision(client, auth, payouts, data):
    auth.login("supervisor1")
    token = csrf_token(client, PATH)
    asked = client.post(PATH + "decide?min=100&max=5000&bogus=x",
                        data={"csrf_token": token, "ids": [str(payouts[0]), str(payouts[1]), "²", "x"],
                              "decision": "approve", "override_reason": ""})
    assert asked.status_code == 200 and 'type="password"' in asked.text
    form = asked.text.split('id="password-again"')[1]
    assert 'action="/payouts/decide?status=pending&amp;min=100&amp;max=5000"' in form  # validated filters only
    assert re.findall(r'name="ids" value="([^"]*)"', form) == [str(payouts[0]), str(payouts[1])]
    assert 'name="decision" value="approve"' in form and "1,550.50 QAR" in form
    with data():
        assert {Payout.get_by_id(i).status for i in payouts} == {"pending"}

    wrong = client.post(PATH + "decide?min=100&max=5000", data={
        "csrf_token": token, "ids": [str(payouts[0]), str(payouts[1])], "decision": "approve", "password": "nope"})
    assert wrong.status_code == 422 and 'role="alert"' in wrong.text
    assert f'name="ids" value="{payouts[1]}"' in wrong.text  # still carried
    with data():
        assert {Payout.get_by_id(i).status for i in payouts} == {"pending"}

    forged = client.post(PATH + "decide", data={"ids": [str(payouts[0])], "decision": "approve", "password": "demo"})
    assert forged.status_code == 400  # no CSRF token, nothing done
    with data():
        assert Payout.get_by_id(payouts[0]).status == "pending"

    done = client.post(PATH + "decide?min=100&max=5000", data={
        "csrf_token": token, "ids": [str(payouts[0]), str(payouts[1])], "decision": "approve", "password": "demo"})
    assert done.status_code == 303 and done.headers["Location"] == "/payouts/?status=pending&min=100&max=5000"
    with data():
        assert [Payout.get_by_id(i).status for i in payouts] == ["approved", "approved", "pending"]
    assert "تم البت في 2 دفعة" in client.get(done.headers["Location"]).text


def test_a_rejection_needs_its_reason_before_the_password(client, auth, payouts, data):
    auth.login("supervisor1")
    token = csrf_token(client, PATH)
    ticked = {"csrf_token": token, "ids": [str(payouts[2])], "decision": "reject", "reason": "  "}
    answer = client.post(PATH + "decide?max=99999", data=ticked)
    assert answer.status_code == 303  # back to the same list with the payout still ticked
    assert answer.headers["Location"] == f"/payouts/?status=pending&max=99999&ticked={payouts[2]}"
    page = client.get(answer.headers["Location"]).text
    assert "اكتب السبب" in page and f'id="pick-{payouts[2]}" checked' in page
    assert "9,999.99 QAR" in selection_text(page)  # the ticked line counts the payout ticked again
    asked = client.post(PATH + "decide?max=99999", data=ticked | {"reason": "الفاتورة غير مختومة"})
    assert asked.status_code == 200 and 'name="reason" value="الفاتورة غير مختومة"' in asked.text
    done = client.post(PATH + "decide?max=99999", data=ticked | {"reason": "الفاتورة غير مختومة",
                                                                  "password": "demo"})
    assert done.status_code == 303
    with data():
        payout = Payout.get_by_id(payouts[2])
        assert (payout.status, payout.reject_reason) == ("rejected", "الفاتورة غير مختومة")
        assert payout.request.status == "open"


def test_once_fresh_the_decision_needs_no_prompt(client, auth, payouts, data):
    auth.login("supervisor1")
    assert reauthenticate(client).status_code == 303
    token = csrf_token(client, PATH)
    answer = client.post(PATH + "decide", data={"csrf_token": token, "ids": [str(payouts[0])], "decision": "approve"})
    assert answer.status_code == 303
    with data():
        assert Payout.get_by_id(payouts[0]).status == "approved"
        assert Payout.get_by_id(payouts[1]).status == "pending"


def test_refusals_come_back_ticked(client, auth, payouts, data):
    from intranet.models import Staff
    from intranet.models.payouts import PayoutParty
    auth.login("supervisor1")
    with data():
        boss = Staff.get(Staff.username == "supervisor1")
        PayoutParty.create(payout=payouts[1], staff=boss.id, role="amount")  # they changed its amount
    assert reauthenticate(client).status_code == 303
    answer = client.post(PATH + "decide", data={"csrf_token": csrf_token(client, PATH), "decision": "approve",
                                                "ids": [str(payouts[0]), str(payouts[1])]})
    assert answer.headers["Location"] == f"/payouts/?status=pending&ticked={payouts[1]}"
    page = client.get(answer.headers["Location"]).text
    assert f'id="pick-{payouts[1]}" checked' in page and "مشرف آخر" in page


@pytest.mark.parametrize("form", [{"decision": "approve"}, {"decision": "launch", "ids": ["1"]},
                                  {"ids": ["1"]}])
def test_a_decision_without_payouts_or_with_an_unknown_word_changes_nothing(client, auth, payouts, data, form):
    auth.login("supervisor1")
    answer = client.post(PATH + "decide", data={"csrf_token": csrf_token(client, PATH)} | form)
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/payouts/")
    with data():
        assert {Payout.get_by_id(i).status for i in payouts} == {"pending"}


def test_administrators_may_not_decide(client, auth, payouts, data):
    auth.login("admin1")
    answer = client.post(PATH + "decide", data={"csrf_token": csrf_token(client, PATH), "ids": [str(payouts[0])],
                                                "decision": "approve", "password": "demo"})
    assert answer.status_code == 403
    with data():
        assert Payout.get_by_id(payouts[0]).status == "pending"


def test_wrong_passwords_at_the_prompt_count_like_at_sign_in(client, auth, payouts, data, app):
    app.config["LOGIN_FAILURES_PER_USERNAME"] = 2
    auth.login("supervisor1")
    form = {"csrf_token": csrf_token(client, PATH), "ids": [str(payouts[0])], "decision": "approve"}
    assert [client.post(PATH + "decide", data=form | {"password": "nope"}).status_code for _ in range(2)] == [422] * 2
    held = client.post(PATH + "decide", data=form | {"password": "demo"})
    assert held.status_code == 429 and held.headers["Retry-After"]
    with data():
        assert Payout.get_by_id(payouts[0]).status == "pending"


def test_the_desk_changes_an_iban_and_a_supervisor_confirms_it(client, auth, payouts, data):
    from intranet.models import Citizen
    from intranet.models.payouts import IbanChange
    from tests.test_payouts import NEW_IBAN
    with data():
        citizen = Payout.get_by_id(payouts[0]).citizen
    auth.login("reception1")
    path = f"/reception/citizens/{citizen.id}/edit"
    form = {"csrf_token": csrf_token(client, path), "full_name": citizen.full_name, "phone": citizen.phone,
            "governorate": str(citizen.governorate_id), "iban": NEW_IBAN, "email": "", "preferred_language": "ar"}
    assert client.post(path, data=form).status_code == 303
    with data():
        assert Citizen.get_by_id(citizen.id).iban != NEW_IBAN and IbanChange.get().status == "pending"
    auth.logout()
    auth.login("supervisor1")
    page = client.get(PATH + "iban-changes").text
    assert NEW_IBAN in page
    with data():
        change_id = IbanChange.get().id
    assert client.post(f"{PATH}iban-changes/{change_id}", data={"csrf_token": csrf_token(client, PATH),
                                                                 "decision": "confirm"}).status_code == 303
    with data():
        assert Citizen.get_by_id(citizen.id).iban == NEW_IBAN
        assert Payout.get_by_id(payouts[0]).iban == NEW_IBAN
