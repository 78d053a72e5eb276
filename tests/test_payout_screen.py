"""The supervisor's approval screen: filters, totals of the ticked payouts, decisions after a fresh password."""

import pytest

from intranet.models.payouts import Payout
from tests.conftest import csrf_token
from tests.test_payouts import complete

PATH = "/payouts/"


@pytest.fixture
def payouts(data):
    from tests.factories import make_staff
    with data():
        staff = {"health": make_staff("h1", "clerk", "health"), "comp": make_staff("c1", "clerk", "compensation")}
        return [Payout.get(Payout.request == complete(staff, amount=amount).id).id
                for amount in ("1250.500", "300.000", "9999.999")]


def test_only_supervisors_and_administrators_see_it(client, auth, payouts):
    assert client.get(PATH).status_code == 302  # to sign in
    auth.login("health1")
    assert client.get(PATH).status_code == 403
    auth.logout()
    auth.login("supervisor1")
    page = client.get(PATH)
    assert page.status_code == 200 and page.text.count('id="payout-row-') == 3


def test_filters_and_totals(client, auth, payouts):
    auth.login("supervisor1")
    page = client.get(PATH + "?min=1000&max=5000").text
    assert page.count('id="payout-row-') == 1 and "1,250.500" in page
    ticked = client.post(PATH + "selection", data={"ids": [str(i) for i in payouts[:2]]},
                         headers={"HX-Request": "true", "X-CSRFToken": csrf_token(client, PATH)})
    assert "1,550.500" in ticked.text  # 1,250.500 + 300.000, summed in Decimal


def test_deciding_asks_for_the_password_then_approves(client, auth, payouts, data):
    auth.login("supervisor1")
    token = csrf_token(client, PATH)
    first = client.post(PATH + "decide", data={"csrf_token": token, "ids": [str(payouts[0])], "decision": "approve"})
    assert first.status_code == 303 and "/reauth/" in first.headers["Location"]
    with data():
        assert Payout.get_by_id(payouts[0]).status == "pending"
    reauth = client.post("/reauth/", data={"csrf_token": csrf_token(client, "/reauth/"), "password": "demo",
                                           "next": PATH})
    assert reauth.status_code == 303
    again = client.post(PATH + "decide", data={"csrf_token": token, "ids": [str(payouts[0])], "decision": "approve"})
    assert again.status_code == 303
    with data():
        assert Payout.get_by_id(payouts[0]).status == "approved"
        assert Payout.get_by_id(payouts[1]).status == "pending"


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
