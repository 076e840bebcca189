"""CODEIQBV/laravel-kolmisoft, the Laravel client of the MOR API, replayed.

What the client does (src/Api/BaseApi.php, src/Api/User.php, src/Api/Balance.php,
config/kolmisoft.php):

- every call adds `u` and `p` from its config (`admin` / the configured password), and with
  `use_hash` on a `hash`: SHA1 of the values of the call's hash keys that are set (PHP
  `isset`: a null is left out), concatenated, then the API secret;
- it sends them with Laravel's `Http::post($api_url . $endpoint, $params)`: a JSON body
  (`Content-Type: application/json`, PHP's `json_encode`, the caller's values keeping their
  PHP types: an int id is a JSON number, a float balance a JSON decimal) through Guzzle;
- it takes any HTTP status of 400 and up as a failure, parses the body with simplexml, and
  decides an error by `isset($response->error)`, an `<error>` child of the root;
- `User::getDetails` hashes `user_id`, `username` and returns `$response->details`;
- `Balance::update` passes no hash keys, so its hash is the secret's alone, and reads the
  new balance below the root (here, as the issue asks: `.//user/balance`).
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree
from starlette.testclient import TestClient

from smsaccounts.domain import money
from smsaccounts.domain.models import Account, BillingType
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories

from .conftest import Operator, php_json

SECRET = "asdfasdf"  # the client's default `auth_key`
USERNAME, PASSWORD = "admin", "admin1"  # its default `username` and `password`


class ApiException(Exception):  # the client's own name for it
    """What the client throws; `str()` is the MOR error text it switched on."""


class LaravelKolmisoft:
    """The client's request building and answer reading, written from its source."""

    def __init__(self, http: TestClient, *, password: str = PASSWORD) -> None:
        self.http, self.password = http, password

    def send(self, endpoint: str, params: dict[str, Any], hash_keys: tuple[str, ...]) -> Any:
        params = {**params, "u": USERNAME, "p": self.password}
        text = "".join(_php_string(params[k]) for k in hash_keys if params.get(k) is not None)
        params["hash"] = hashlib.sha1((text + SECRET).encode()).hexdigest()  # noqa: S324
        response = self.http.post(f"/billing{endpoint}", content=php_json(params), headers={
            "Content-Type": "application/json", "User-Agent": "GuzzleHttp/7"})  # fmt: skip
        if response.status_code >= 400:  # $response->failed()
            raise ApiException(f"Failed to connect to the API. Status: {response.status_code}")
        return etree.fromstring(response.content)  # simplexml_load_string

    def get_details(self, params: dict[str, Any]) -> dict[str, Any]:
        root = self.send("/api/user_details_get", params, ("user_id", "username"))
        _raise_on_error(root)
        details = root.find("details")
        return {} if details is None else _as_array(details)

    def update_balance(self, user_id: int, balance: Any, *, hash_keys: tuple[str, ...] = ()
                       ) -> dict[str, Any]:  # fmt: skip
        """`Balance::update`; `hash_keys` () is the client's own call (no hash keys)."""
        root = self.send("/api/user_balance_update", {"user_id": user_id, "balance": balance},
                         hash_keys)  # fmt: skip
        _raise_on_error(root)
        return {"status": root.findtext(".//status") or "",
                "username": root.findtext(".//user/username") or "",
                "id": int(root.findtext(".//user/id") or 0),
                "balance": Decimal(root.findtext(".//user/balance") or "0")}  # fmt: skip


def _php_string(value: Any) -> str:
    """PHP's string conversion, which the client's `.=` applies to each hashed value."""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, float):
        return repr(value).removesuffix(".0")
    return str(value)


def _raise_on_error(root: Any) -> None:
    error = root.find("error")  # isset($response->error)
    if error is not None:
        raise ApiException(error.text or "")


def _as_array(element: Any) -> dict[str, Any]:
    """json_decode(json_encode($simplexml), true): children by name, text for leaves."""
    return {child.tag: _as_array(child) if len(child) else (child.text or "")
            for child in element}  # fmt: skip


@pytest.fixture
def installation(uow: UnitOfWork, operator: Operator) -> Account:
    """The client's configuration made true: the admin's API secret and its password (set
    by the operator CLI, as an installation would), and a pre-paid user with 10.00."""
    operator("secret", "set", "admin", SECRET)
    operator("account", "set", "admin", f"password={PASSWORD}")
    user = factories.user(uow, billing_type=BillingType.PRE_PAID, first_name="Jo")
    operator("balance", "add", str(user.id), "10")
    return user


def _balance(uow: UnitOfWork, account: Account) -> Decimal:
    with uow.read() as tx:
        found = tx.wallets.get(account.id)
    assert found is not None
    return money.from_units(found.balance)


def test_get_details_as_the_admin_with_its_password(wire: TestClient, installation: Account
                                                    ) -> None:  # fmt: skip
    details = LaravelKolmisoft(wire).get_details({"user_id": installation.id})
    assert details["other_details"]["username"] == installation.name
    assert details["other_details"]["first_name"] == "Jo"
    assert details["main_detail"]["balance_number"] == "10.0000"


def test_get_details_with_a_null_username_hashes_and_reads_as_without_it(
    wire: TestClient, installation: Account
) -> None:
    """`'username' => null`: PHP's isset leaves it out of the hash; JSON sends `null`."""
    details = LaravelKolmisoft(wire).get_details({"user_id": installation.id, "username": None})
    assert details["other_details"]["username"] == installation.name


def test_a_missing_user_is_an_error_the_client_sees(wire: TestClient, installation: Account
                                                    ) -> None:  # fmt: skip
    del installation  # the secret and password are set
    with pytest.raises(ApiException, match=r"^User was not found$"):
        LaravelKolmisoft(wire).get_details({"user_id": 999999})


def test_a_wrong_password_is_a_bad_login_the_client_sees(wire: TestClient, installation: Account
                                                         ) -> None:  # fmt: skip
    with pytest.raises(ApiException, match=r"^Bad login$"):
        LaravelKolmisoft(wire, password="wrong").get_details({"user_id": installation.id})


def test_the_clients_own_update_hashes_nothing_and_sees_the_refusal(
    wire: TestClient, uow: UnitOfWork, installation: Account
) -> None:
    """`Balance::update` hashes no parameter: the API refuses it, and the client notices."""
    with pytest.raises(ApiException, match=r"^Incorrect hash$"):
        LaravelKolmisoft(wire).update_balance(installation.id, 2.5)
    assert _balance(uow, installation) == Decimal("10")


@pytest.mark.parametrize(("amount", "after"), [(2.5, "12.5"), (-1.25, "8.75"), (3, "13")])
def test_an_update_hashed_over_user_id_and_balance_answers_the_new_balance(
    wire: TestClient, uow: UnitOfWork, installation: Account, amount: Any, after: str
) -> None:
    """The wiki's hash keys (user_id, balance); the amount a PHP float or int in JSON."""
    answer = LaravelKolmisoft(wire).update_balance(installation.id, amount,
                                                   hash_keys=("user_id", "balance"))  # fmt: skip
    assert answer == {"status": "User balance updated", "username": installation.name,
                      "id": installation.id, "balance": Decimal(after)}  # fmt: skip
    assert _balance(uow, installation) == Decimal(after)


def test_an_update_the_balance_cannot_pay_is_refused_and_the_client_sees_it(
    wire: TestClient, uow: UnitOfWork, installation: Account
) -> None:
    with pytest.raises(ApiException, match=r"^User balance not updated$"):
        LaravelKolmisoft(wire).update_balance(installation.id, -50.5,
                                              hash_keys=("user_id", "balance"))  # fmt: skip
    assert _balance(uow, installation) == Decimal("10")
