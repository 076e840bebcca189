"""The CLI side of who pays and of charging: `user create --funding`, `apikey create
--gateway` (a key the charging API takes), and the account settings of grants and alerts."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient


def test_a_gateway_key_charges_a_parent_funded_user_from_its_customers_pool(
    smsaccounts: Any, client: TestClient
) -> None:
    smsaccounts("reseller", "create", "acme", "--password", "reseller-pw", "--credits", "50")
    smsaccounts("customer", "create", "shop", "--reseller", "acme")
    smsaccounts("credits", "move", "reseller:acme", "customer:shop", "20")
    smsaccounts("account", "set", "customer:shop", "free_sms_grant=2")
    user = smsaccounts("user", "create", "till", "--password", "till-pw-1", "--customer",
                       "shop", "--funding", "parent")[0]  # fmt: skip
    assert user["funding"] == "parent"
    key = smsaccounts("apikey", "create", "jasmin", "--gateway")[0]
    assert (key["purpose"], key["owner_id"]) == ("gateway", 1)
    bearer = {"Authorization": f"Bearer {key['apikey']}"}
    answer = client.post("/charging/v1/charge", headers=bearer,
                         json={"reference": "m1", "username": "till",
                               "recipients": ["+4520123456"], "parts": 3})  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.json()["paid"] == {"own_free_sms": 2, "free_sms": 0, "credits": 1,
                                     "money": "0.0000000"}  # fmt: skip
    assert answer.json()["remaining"] == {"free_sms": 0, "credits": 19, "balance": "0.0000000"}


def test_funding_and_alert_settings_are_checked(smsaccounts: Any) -> None:
    smsaccounts("reseller", "create", "acme", "--password", "reseller-pw")
    smsaccounts("customer", "create", "shop", "--reseller", "acme")
    smsaccounts("account", "set", "customer:shop", "funding=sometimes", ok=False)
    smsaccounts("account", "set", "customer:shop", "low_balance_contact=ops@example.com",
                ok=False)  # fmt: skip
    shown = smsaccounts("account", "set", "customer:shop", "low_balance_threshold=10",
                        "low_balance_contact=+436761234567")[0]  # fmt: skip
    assert (shown["low_balance_threshold"], shown["low_balance_contact"]) == (10, "436761234567")
