"""The business statuses come back where the contract says, and change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from smsaccounts.dialects.reseller import statuses
from smsaccounts.domain import throttle
from smsaccounts.domain.clock import FakeClock
from smsaccounts.domain.models import Account, Asset, BillingType
from smsaccounts.errors import AlreadyExists, ErrorCode, ServiceUnavailable
from smsaccounts.services import accounts, provisioning
from smsaccounts.storage.unit_of_work import UnitOfWork
from tests import factories, multiserver
from tests.api.reseller.conftest import Api, by_object_id, counts, credits_of
from tests.factories import PASSWORD

MISSING_ID = "5a4e96a030046095c7ef280f"


def _disable(uow: UnitOfWork, account: Account) -> None:
    with uow.write() as tx:
        tx.accounts.update(account.id, {"enabled": False})


def _customer(uow: UnitOfWork, reseller: Account, billing: BillingType = BillingType.PRE_PAID
              ) -> Account:  # fmt: skip
    return factories.customer(uow, parent=reseller, billing_type=billing)


def _user_params(customer_id: str, username: str = "someone") -> dict[str, str]:
    return {"username": username, "password": "pw-1234", "customerId": customer_id,
            "email": "s@example.com", "phoneNumber": "123"}  # fmt: skip


def _status(answer: dict[str, Any]) -> int:
    assert "field" not in answer or answer["status"] in (1, 2)
    assert answer["message"]
    return int(answer["status"])


# -- 3, 4, 400: the reseller, before anything about a customer ---------------------------


@pytest.mark.parametrize("customer_exists", [True, False])
def test_a_wrong_password_is_3_and_says_nothing_about_the_customer(
    api: Api, uow: UnitOfWork, pool_reseller: Account, customer_exists: bool
) -> None:
    customer_id = _customer(uow, pool_reseller).object_id if customer_exists else MISSING_ID
    answer = api.post("admin/balance", reseller=pool_reseller.name, password="wrong",
                      customerId=customer_id)  # fmt: skip
    assert answer == {"status": 3, "message": "authentication failed"}
    create = api.post("user/create", resellerName=pool_reseller.name, resellerPassword="wrong",
                      **_user_params(customer_id))  # fmt: skip
    assert create == answer


def test_a_disabled_reseller_is_4_with_its_right_password_and_3_with_a_wrong_one(
    api: Api, uow: UnitOfWork, pool_reseller: Account
) -> None:
    customer = _customer(uow, pool_reseller)
    _disable(uow, pool_reseller)
    before = counts(uow)
    assert api.as_admin(pool_reseller, "addCredits", customerId=customer.object_id,
                        credits="5") == {"status": 4, "message": "account blocked"}  # fmt: skip
    assert _status(api.post("admin/balance", reseller=pool_reseller.name, password="bad",
                            customerId=customer.object_id)) == 3  # fmt: skip
    assert _status(api.as_reseller(pool_reseller, "customer/create", name="n",
                                   integrationId="i")) == 4  # fmt: skip
    assert counts(uow) == before


def test_an_unknown_reseller_is_400_whatever_the_customer(
    api: Api, uow: UnitOfWork, pool_reseller: Account
) -> None:
    customer = _customer(uow, pool_reseller)
    answers = [api.post("admin/balance", reseller="nobody", password=PASSWORD, customerId=cid)
               for cid in (customer.object_id, MISSING_ID)]  # fmt: skip
    assert answers[0] == answers[1] == {"status": 400, "message": "reseller does not exist"}
    assert _status(api.post("customer/create", resellerName="nobody", resellerPassword="x",
                            name="n", integrationId="i")) == 400  # fmt: skip


@multiserver.moves_clock
def test_wrong_passwords_count_toward_the_lockout_and_the_clock_lifts_it(
    api: Api, uow: UnitOfWork, clock: FakeClock, pool_reseller: Account
) -> None:
    """After 5 failures even the right password is refused (3) until the block expires."""
    customer = _customer(uow, pool_reseller)
    for _ in range(uow.settings.login_max_failures):
        assert _status(api.post("admin/balance", reseller=pool_reseller.name, password="bad",
                                customerId=customer.object_id)) == 3  # fmt: skip
    assert _status(api.as_admin(pool_reseller, "balance", customerId=customer.object_id)) == 3
    assert _status(api.as_reseller(pool_reseller, "customer/create", name="locked-out",
                                   integrationId="i")) == 3  # fmt: skip
    clock.advance(uow.settings.login_block_seconds + 1)
    assert api.as_admin(pool_reseller, "balance", customerId=customer.object_id)["status"] == 0


def test_failures_for_an_unknown_reseller_name_are_throttled_too(api: Api, uow: UnitOfWork) -> None:
    for _ in range(uow.settings.login_max_failures):
        api.post("admin/balance", reseller="ghost", password="x", customerId=MISSING_ID)
    with uow.read() as tx:
        assert tx.throttles.get(throttle.key("login", "reseller", "ghost")).blocked_until


# -- 300 and 420: the customer ----------------------------------------------------------


def test_a_customer_of_another_reseller_is_300_byte_identical_to_a_missing_one(
    api: Api, uow: UnitOfWork, pool_reseller: Account
) -> None:
    foreign = _customer(uow, factories.reseller(uow))
    bodies = [
        api.client.post("/services/rest/admin/balance", data={
            "reseller": pool_reseller.name, "password": PASSWORD, "customerId": cid}).content
        for cid in (foreign.object_id, MISSING_ID)
    ]  # fmt: skip
    assert bodies[0] == bodies[1] == b'{"status":300,"message":"customer does not exist"}'


@pytest.mark.parametrize("call", ["user/create", "admin/addCredits", "admin/balance"])
def test_every_call_on_a_missing_or_foreign_customer_is_300_and_changes_nothing(
    api: Api, uow: UnitOfWork, pool_reseller: Account, call: str
) -> None:
    foreign = _customer(uow, factories.reseller(uow, credits=10))
    user = factories.user(uow, parent=_customer(uow, pool_reseller))
    deleted = _customer(uow, pool_reseller)
    with uow.write() as tx:
        accounts.deactivate(tx, deleted)
    before = counts(uow)
    for cid in (MISSING_ID, foreign.object_id, user.object_id, pool_reseller.object_id,
                deleted.object_id):  # fmt: skip
        if call == "user/create":
            answer = api.as_reseller(pool_reseller, call, **_user_params(cid))
        else:
            answer = api.as_admin(pool_reseller, call.removeprefix("admin/"), customerId=cid,
                                  credits="1")  # fmt: skip
        assert _status(answer) == 300, cid
    assert counts(uow) == before


@pytest.mark.parametrize("call", ["user/create", "admin/addCredits", "admin/balance"])
def test_a_disabled_customer_of_the_reseller_is_420(
    api: Api, uow: UnitOfWork, pool_reseller: Account, call: str
) -> None:
    """420 is the reseller's own customer it may not act on now: disabled by an operator."""
    customer = _customer(uow, pool_reseller)
    _disable(uow, customer)
    before = counts(uow)
    if call == "user/create":
        answer = api.as_reseller(pool_reseller, call, **_user_params(customer.object_id))
    else:
        answer = api.as_admin(pool_reseller, call.removeprefix("admin/"),
                              customerId=customer.object_id, credits="1")  # fmt: skip
    assert answer == {"status": 420, "message": "reseller has no rights to the customer"}
    assert counts(uow) == before


# -- 200 and 220: a user named on balance ------------------------------------------------


def test_balance_of_a_user_not_below_the_customer_is_200(
    api: Api, uow: UnitOfWork, pool_reseller: Account
) -> None:
    customer = _customer(uow, pool_reseller)
    elsewhere = factories.user(uow, parent=_customer(uow, pool_reseller))
    for user_id in (MISSING_ID, elsewhere.object_id, customer.object_id):
        answer = api.as_admin(pool_reseller, "balance", customerId=customer.object_id,
                              userId=user_id)  # fmt: skip
        assert answer == {"status": 200, "message": "user does not exist"}


def test_balance_of_a_disabled_user_is_220(
    api: Api, uow: UnitOfWork, pool_reseller: Account
) -> None:
    customer = _customer(uow, pool_reseller)
    user = factories.user(uow, parent=customer)
    _disable(uow, user)
    answer = api.as_admin(pool_reseller, "balance", customerId=customer.object_id,
                          userId=user.object_id)  # fmt: skip
    assert answer == {"status": 220, "message": "user account needs to be activated"}


# -- 201 and 301: names taken -------------------------------------------------------------


def test_a_taken_username_is_201_on_user_create(
    api: Api, uow: UnitOfWork, pool_reseller: Account
) -> None:
    customer = _customer(uow, pool_reseller)
    taken = factories.user(uow, parent=_customer(uow, factories.reseller(uow)))
    before = counts(uow)
    answer = api.as_reseller(pool_reseller, "user/create",
                             **_user_params(customer.object_id, taken.name))  # fmt: skip
    assert answer == {"status": 201, "message": "username already taken"}
    assert counts(uow) == before


def test_a_taken_customer_name_is_301_on_both_creates(
    api: Api, uow: UnitOfWork, pool_reseller: Account
) -> None:
    taken = _customer(uow, factories.reseller(uow))
    before = counts(uow)
    first = api.as_reseller(pool_reseller, "customer/create", name=taken.name,
                            integrationId="i", billingType="PRE_PAID")  # fmt: skip
    second = api.as_reseller(pool_reseller, "customer-user/create", customer=taken.name,
                             username="fresh-user", password="pw-1234",
                             applyFreeCredits="true")  # fmt: skip
    assert first == second == {"status": 301, "message": "customer name already taken"}
    assert counts(uow) == before


# -- 320, 321, 421: credits and billing types ---------------------------------------------


def test_a_pre_paid_reseller_cannot_give_more_than_its_pool_320(
    api: Api, uow: UnitOfWork, pool_reseller: Account
) -> None:
    customer = _customer(uow, pool_reseller)
    before = counts(uow)
    answer = api.as_admin(pool_reseller, "addCredits", customerId=customer.object_id,
                          credits="1001")  # fmt: skip
    assert answer == {"status": 320, "message": "insufficient credits"}
    assert counts(uow) == before
    assert (credits_of(uow, pool_reseller), credits_of(uow, customer)) == (1000, 0)


def test_taking_back_more_than_the_customer_has_is_320_and_never_below_zero(
    api: Api, uow: UnitOfWork, pool_reseller: Account
) -> None:
    customer = _customer(uow, pool_reseller)
    api.as_admin(pool_reseller, "addCredits", customerId=customer.object_id, credits="10")
    answer = api.as_admin(pool_reseller, "addCredits", customerId=customer.object_id,
                          credits="-11")  # fmt: skip
    assert answer["status"] == 320
    assert (credits_of(uow, pool_reseller), credits_of(uow, customer)) == (990, 10)


def test_a_post_paid_reseller_may_give_beyond_its_pool(api: Api, uow: UnitOfWork) -> None:
    reseller = factories.reseller(uow, billing_type=BillingType.POST_PAID)
    customer = _customer(uow, reseller)
    answer = api.as_admin(reseller, "addCredits", customerId=customer.object_id, credits="40")
    assert answer == {"credits": 40, "status": 0}
    assert credits_of(uow, reseller) == -40


def test_a_post_paid_customer_of_a_pre_paid_reseller_is_321(
    api: Api, uow: UnitOfWork, pool_reseller: Account
) -> None:
    before = counts(uow)
    answer = api.as_reseller(pool_reseller, "customer/create", name="pp", integrationId="i",
                             billingType="POST_PAID")  # fmt: skip
    assert answer == {"status": 321, "message": "incompatible customer billing type"}
    assert counts(uow) == before


@pytest.mark.parametrize("billing", [BillingType.PRE_PAID, BillingType.POST_PAID])
def test_a_customer_created_without_billing_type_follows_its_resellers_billing(
    api: Api, uow: UnitOfWork, billing: BillingType
) -> None:
    """No default_customer_billing_type set: the reseller's own billing type is the default."""
    reseller = factories.reseller(uow, billing_type=billing)
    answer = api.as_reseller(reseller, "customer/create", name="c1", integrationId="i")
    assert answer["status"] == 0
    customer = by_object_id(uow, answer["id"])
    with uow.read() as tx:
        assert tx.wallets.get(customer.id).billing_type is billing  # type: ignore[union-attr]


def test_customer_user_create_under_a_pre_paid_reseller_defaulting_to_post_paid_is_321(
    api: Api, uow: UnitOfWork
) -> None:
    reseller = factories.reseller(uow, default_customer_billing_type="POST_PAID")
    before = counts(uow)
    answer = api.as_reseller(reseller, "customer-user/create", customer="c", username="u",
                             password="pw-1234", applyFreeCredits="false")  # fmt: skip
    assert answer["status"] == 321
    assert counts(uow) == before


def test_credits_to_a_post_paid_customer_are_421(api: Api, uow: UnitOfWork) -> None:
    reseller = factories.reseller(uow, credits=100, billing_type=BillingType.POST_PAID)
    customer = _customer(uow, reseller, BillingType.POST_PAID)
    before = counts(uow)
    answer = api.as_admin(reseller, "addCredits", customerId=customer.object_id, credits="5")
    assert answer == {"status": 421,
                      "message": "cannot transfer credits to a post-paid customer"}  # fmt: skip
    assert counts(uow) == before


# -- 401 and 9999 -------------------------------------------------------------------------


def test_a_taken_reseller_name_maps_to_401() -> None:
    """No endpoint of this API creates resellers; the table still answers 401 for one."""
    error, http = statuses.error_for(
        AlreadyExists("taken", code=ErrorCode.RESELLER_NAME_TAKEN, field="name")
    )
    assert (error.status, error.field, http) == (401, None, 200)


@pytest.mark.parametrize("failure", [RuntimeError("boom /secret/path"),
                                     ServiceUnavailable("database unavailable")])  # fmt: skip
def test_an_unexpected_error_is_9999_without_any_detail(
    api: Api, pool_reseller: Account, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> int:
        raise failure

    monkeypatch.setattr(provisioning, "balance", broken)
    answer = api.as_admin(pool_reseller, "balance", customerId=MISSING_ID)
    assert answer == {"status": 9999, "message": "internal error"}


def test_free_credits_are_only_granted_when_asked(
    api: Api, uow: UnitOfWork, pool_reseller: Account
) -> None:
    answer = api.as_reseller(pool_reseller, "customer-user/create", customer="c9",
                             username="u9", password="pw12", applyFreeCredits="FALSE")  # fmt: skip
    customer = by_object_id(uow, answer["customerId"])
    with uow.read() as tx:
        assert tx.wallets.ledger_sum(customer.id, Asset.CREDITS) == 0
